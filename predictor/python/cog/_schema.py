"""cog._schema - a predictor's signature as the OpenAPI Input/Output schemas Cog 0.15.5 emits.

Key order matters (clients and the conformance cases compare it): see COG-API.md 11.1/11.2.
Everything here raises TypeError with Cog's wording for signatures Cog refuses to load.
"""
import inspect
import pathlib
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _types as t
from .types import FieldInfo, Secret

_MISSING = ...

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}
_SUPPORTED = "str, int, float, bool, cog.File, cog.Path, cog.Secret"


class Param:
    """One predict() parameter: its type, default and Input() options."""

    def __init__(self, name: str, annotation: Any, info: FieldInfo):
        self.name = name
        self.annotation = annotation
        self.info = info
        self.base, self.nullable = t.split_optional(annotation)
        self.item = t.list_item(self.base)
        self.kind = _kind(annotation)

    @property
    def required(self) -> bool:
        """No default, and not Optional[...] (pydantic 1 keeps `X | None` required)."""
        if self.info.default is not _MISSING:
            return False
        return not self.nullable or t.is_pep604(self.annotation)

    def default_value(self) -> Any:
        """What predict() gets when the input is absent."""
        return None if self.info.default is _MISSING else self.info.default


class Signature:
    """A predict/train function read once: parameters, output type, **kwargs."""

    def __init__(self, params: List[Param], output: Any, var_kwargs: bool):
        self.params = params
        self.output = output
        self.var_kwargs = var_kwargs


def _kind(annotation: Any) -> Optional[str]:
    """'path', 'file', 'secret' or 'literal' when the input (or its items) need care in the
    front."""
    tp, _ = t.split_optional(annotation)
    members = t.union_args(tp) or (tp,)
    for member in members:
        item = t.list_item(member)
        if item is not None:
            member, _ = t.split_optional(item)
        if t.is_file(member):
            return "file"
        if t.is_path(member):
            return "path"
        if t.is_secret(member):
            return "secret"
        if t.literal_values(member) is not None:
            return "literal"  # validated as pydantic 1 validates a Literal (no coercion)
    return None


def read_signature(fn: Callable) -> Signature:
    """Reads fn (a bound method or function) the way Cog does; TypeError if Cog would refuse it."""
    sig = inspect.signature(fn)
    try:
        hints = {k: t.without_annotated(v)
                 for k, v in typing.get_type_hints(fn, include_extras=True).items()}
    except Exception as exc:  # unresolved forward references and the like
        raise TypeError(f"Could not read the type annotations of {fn.__name__}: {exc}") from exc
    params: List[Param] = []
    var_kwargs = False
    for p in sig.parameters.values():
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            if params:
                raise TypeError(f"Unsupported variadic keyword parameter **{p.name}")
            var_kwargs = True
            continue
        if var_kwargs:
            raise TypeError(f"Unsupported parameter {p.name} after **kwargs")
        if p.kind == inspect.Parameter.VAR_POSITIONAL:
            raise TypeError(f"Unsupported variadic positional parameter *{p.name}")
        if p.name not in hints:
            raise TypeError(f"No input type provided for parameter `{p.name}`")
        annotation = hints[p.name]
        _check_input_type(p.name, annotation)
        if isinstance(p.default, FieldInfo):
            info = p.default
        elif p.default is inspect.Parameter.empty:
            info = FieldInfo()
        else:
            info = FieldInfo(default=p.default)
        params.append(Param(p.name, annotation, info))
    if "return" not in hints:
        raise TypeError(f"No output type provided for {fn.__name__}(): "
                        "add a return type annotation")
    return Signature(params, hints["return"], var_kwargs)


def _check_input_type(name: str, annotation: Any) -> None:
    tp, _ = t.split_optional(annotation)
    members = t.union_args(tp) or (tp,)
    for member in members:
        item = t.list_item(member)
        if item is not None:
            member, _ = t.split_optional(item)
        if member in _SCALARS or t.is_path(member) or t.is_file(member) or t.is_secret(member):
            continue
        if member is t.OpaqueObject:
            continue
        values = t.literal_values(member)
        if values and all(type(v) in (str, int) for v in values):
            continue
        raise TypeError(f"Unsupported input type {t.type_name(annotation)} for parameter "
                        f"`{name}`. Supported input types are: {_SUPPORTED}, "
                        "or a Union or List of those types.")


def _input_type_parts(tp: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(type part, format part) of an input type: the format part goes after description."""
    members = t.union_args(tp)
    if members is not None:
        return {"anyOf": [_input_item(m) for m in members]}, {}
    item = t.list_item(tp)
    if item is not None:
        return {"type": "array", "items": _input_item(item)}, {}
    if t.is_secret(tp):
        return {"type": "string"}, {"format": "password", "x-cog-secret": True}
    if t.is_path(tp) or t.is_file(tp):
        return {"type": "string"}, {"format": "uri"}
    values = t.literal_values(tp)
    if values is not None:
        kind = "integer" if all(type(v) is int for v in values) else "string"
        return {"enum": list(values), "type": kind}, {}
    if tp is t.OpaqueObject:
        return {"type": "object"}, {}
    return {"type": _SCALARS[tp]}, {}


def _input_item(tp: Any) -> Dict[str, Any]:
    tp, _ = t.split_optional(tp)
    head, fmt = _input_type_parts(tp)
    return {**head, **fmt}


def _constraints(info: FieldInfo) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if info.le is not None:
        out["maximum"] = float(info.le)
    if info.ge is not None:
        out["minimum"] = float(info.ge)
    if info.max_length is not None:
        out["maxLength"] = info.max_length
    if info.min_length is not None:
        out["minLength"] = info.min_length
    if info.regex is not None:
        out["pattern"] = info.regex
    return out


def jsonable_default(value: Any) -> Any:
    """A default as it appears in the schema (paths as strings, secrets masked)."""
    if isinstance(value, Secret):
        return str(value)
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable_default(v) for v in value]
    return value


def _choices_component(param: Param) -> Dict[str, Any]:
    choices = param.info.choices or []
    base = param.item if param.item is not None else param.base
    if base is int or (base not in _SCALARS and all(isinstance(c, int) for c in choices)):
        kind = "integer"
    else:
        kind = "string"
    return {"title": param.name, "enum": list(choices), "type": kind,
            "description": "An enumeration."}


def input_property(param: Param, order: int, components: Dict[str, Any]) -> Dict[str, Any]:
    """One Input property, keys in Cog's order."""
    info = param.info
    prop: Dict[str, Any] = {}
    fmt: Dict[str, Any] = {}
    if info.choices is not None:
        components[param.name] = _choices_component(param)
        prop["allOf"] = [{"$ref": f"#/components/schemas/{param.name}"}]
    else:
        prop["title"] = t.title(param.name)
        constraints = _constraints(info)
        prop.update(constraints)
        head, fmt = _input_type_parts(param.base)
        if "items" in head and ("maximum" in constraints or "minimum" in constraints):
            bounds = {k: v for k, v in constraints.items() if k in ("maximum", "minimum")}
            head = {**head, "items": {**bounds, **head["items"]}}
        prop.update(head)
    if info.description is not None:
        prop["description"] = info.description
    prop.update(fmt)
    if info.default is not _MISSING and info.default is not None:
        prop["default"] = jsonable_default(info.default)
    if info.deprecated:
        prop["deprecated"] = True
    prop["x-order"] = order
    if param.nullable:
        prop["nullable"] = True
    return cog_order(prop)


def input_schema(sig: Signature, title: str = "Input") -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(the Input object, the choices components it refers to)."""
    components: Dict[str, Any] = {}
    props = {p.name: input_property(p, i, components) for i, p in enumerate(sig.params)}
    schema: Dict[str, Any] = {"title": title}
    required = [p.name for p in sig.params if p.required]
    if required:
        schema["required"] = required
    schema["type"] = "object"
    schema["properties"] = props
    return schema, components


def kinds(sig: Signature) -> Dict[str, str]:
    return {p.name: p.kind for p in sig.params if p.kind is not None}


# The order of keys in Cog's document: FastAPI's OpenAPI Schema model declares these fields in
# this order and serialises a schema through it, so declared keys come out in this order and
# others (x-order, x-cog-*) after them as written; "nullable" is added afterwards by Cog's
# update_nullable_optional, so it comes last.
_SCHEMA_KEYS = [
    "$ref", "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties",
    "minProperties", "required", "enum", "type", "allOf", "oneOf", "anyOf", "not", "items",
    "properties", "additionalProperties", "description", "format", "default", "discriminator",
    "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated",
]
_KEY_RANK = {k: i for i, k in enumerate(_SCHEMA_KEYS)}


def cog_order(node: Any) -> Any:
    """A schema with its keys (and those of every schema inside it) in Cog's order.

    Extras keep the order they were added in. (Cog's own order of x-order and a type's
    x-cog-secret depends on the process's hash seed; we always give the order it gives for
    most seeds and that the recorded cases have: x-cog-secret first.)"""
    if not isinstance(node, dict):
        return node
    out: Dict[str, Any] = {}
    for key in sorted((k for k in node if k in _KEY_RANK), key=_KEY_RANK.__getitem__):
        value = node[key]
        if key in ("items", "additionalProperties", "not"):
            value = cog_order(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            value = [cog_order(v) for v in value]
        elif key == "properties" and isinstance(value, dict):
            value = {k: cog_order(v) for k, v in value.items()}
        out[key] = value
    extras = [k for k in node if k not in _KEY_RANK and k != "nullable"]
    for key in extras:
        out[key] = node[key]
    if "nullable" in node:
        out["nullable"] = node["nullable"]
    return out


# ---- outputs -------------------------------------------------------------

def _value_schema(tp: Any, components: Dict[str, Any], field: bool = False) -> Dict[str, Any]:
    """The schema of a type below the top level (items, model fields)."""
    tp, _ = t.split_optional(tp)
    if tp is Any or tp is object or tp is t.NoneType:
        return {}
    members = t.union_args(tp)
    if members is not None:
        return {"anyOf": [_value_schema(m, components) for m in members]}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    number = t.is_number_type(tp)
    if number is not None:
        return {"type": number}
    if t.is_path(tp) or t.is_file(tp):
        return {"type": "string", "format": "uri"}
    if t.is_secret(tp):
        return {"type": "string", "format": "password", "x-cog-secret": True}
    if t.is_dict(tp):
        value = t.dict_value(tp)
        inner = _value_schema(value, components) if value is not None else {}
        return {"type": "object", "additionalProperties": inner} if inner else {"type": "object"}
    values = t.literal_values(tp)
    if values is not None:
        kind = "integer" if all(type(v) is int for v in values) else "string"
        return {"enum": list(values), "type": kind}
    if _is_ndarray(tp):
        return {"type": "array", "items": {}}
    item = t.list_item(tp)
    if item is None:
        item = t.iterator_item(tp)
    if item is not None:
        return {"type": "array", "items": _value_schema(item, components)}
    if t.is_model(tp) and _pydantic_renders(tp):
        _pydantic_components(tp, components)
        ref = {"$ref": f"#/components/schemas/{tp.__name__}"}
        return {"allOf": [ref]} if field else ref
    if t.is_model(tp):
        if tp.__name__ not in components:
            components[tp.__name__] = {}  # placeholder first: models may refer to themselves
            components[tp.__name__] = model_schema(tp, tp.__name__, components)
        ref = {"$ref": f"#/components/schemas/{tp.__name__}"}
        return {"allOf": [ref]} if field else ref
    raise TypeError(f"Unsupported output type {t.type_name(tp)}")


def _is_ndarray(tp: Any) -> bool:
    return isinstance(tp, type) and tp.__name__ == "ndarray" and tp.__module__ == "numpy"


def _pydantic_renders(cls: type) -> bool:
    """True when cls is a pydantic 1 model: pydantic itself renders it, as in Cog."""
    pyd = t.pydantic_v1()
    return pyd is not None and isinstance(cls, type) and issubclass(cls, pyd.BaseModel)


def _pydantic_components(cls: type, components: Dict[str, Any]) -> None:
    """Adds cls and every model it refers to, as pydantic 1 renders them for FastAPI."""
    from pydantic.schema import schema as pydantic_schema
    doc = pydantic_schema([cls], ref_prefix="#/components/schemas/")
    for name, node in doc.get("definitions", {}).items():
        if name not in components:
            components[name] = cog_order(node)


def model_schema(cls: type, title: str, components: Dict[str, Any]) -> Dict[str, Any]:
    """The object schema of a BaseModel subclass, fields in declaration order."""
    props: Dict[str, Any] = {}
    required: List[str] = []
    defaults = _class_defaults(cls)
    for name, ftype in t.model_fields(cls).items():
        inner, optional = t.split_optional(ftype)
        prop: Dict[str, Any] = {"title": t.title(name)}
        prop.update(_value_schema(inner, components, field=True))
        if defaults.get(name) is not None:
            prop["default"] = jsonable_default(defaults[name])
        elif "allOf" in prop and len(prop) == 2:
            prop = prop["allOf"][0]  # pydantic 1: a plain reference when nothing overrides it
        if not optional and inner is not Any and name not in defaults:
            required.append(name)
        props[name] = prop
    schema: Dict[str, Any] = {"title": title}
    if required:
        schema["required"] = required
    schema["type"] = "object"
    schema["properties"] = props
    return cog_order(schema)


def _class_defaults(cls: type) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name in klass.__dict__.get("__annotations__", {}):
            if name in klass.__dict__:
                out[name] = klass.__dict__[name]
    return out


def output_schema(tp: Any, title: str = "Output") -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """(the Output object, the model components it refers to)."""
    components: Dict[str, Any] = {}
    inner, nullable = t.split_optional(tp)
    schema: Dict[str, Any]
    other = "TrainingOutput" if title == "Output" else "Output"
    if t.is_model(inner) and inner.__name__ in (title, other) and _pydantic_renders(inner):
        # Cog uses a model named like the schema as it is, and one named like the other
        # mode's output through a subclass named like the schema (no docstring of its own).
        cls = inner if inner.__name__ == title else \
            type(title, (inner,), {"__module__": inner.__module__})
        _pydantic_components(cls, components)
        schema = components.pop(title)
    elif t.is_model(inner) and inner.__name__ == title:
        schema = model_schema(inner, title, components)
    else:
        item = t.iterator_item(inner)
        if item is not None:
            schema = {"title": title, "type": "array", "items": _value_schema(item, components),
                      "x-cog-array-type": "iterator"}
            if t.is_concatenate(inner):
                schema["x-cog-array-display"] = "concatenate"
        else:
            value = _value_schema(inner, components)
            if "$ref" in value:
                schema = {"$ref": value["$ref"], "title": title}
            else:
                schema = {"title": title, **value}
    if nullable:
        schema["nullable"] = True
    _nullable_union_fields(inner, schema, components)
    return cog_order(schema), components


def _nullable_union_fields(tp: Any, schema: Dict[str, Any], components: Dict[str, Any]) -> None:
    """Cog marks the Optional fields of models named in a Union output as nullable."""
    members = t.union_args(tp)
    if not members or "anyOf" not in schema:
        return
    for member in members:
        if not t.is_model(member) or member.__name__ not in components:
            continue
        props = components[member.__name__].get("properties", {})
        for name, ftype in t.model_fields(member).items():
            if name in props and t.split_optional(ftype)[1]:
                props[name]["nullable"] = True


def schema_for(sig: Signature, mode: str = "predict") -> Dict[str, Any]:
    """The SCHEMA object of ipc.h for one entry point."""
    in_title, out_title = ("TrainingInput", "TrainingOutput") if mode == "train" \
        else ("Input", "Output")
    inp, components = input_schema(sig, in_title)
    out, out_components = output_schema(sig.output, out_title)
    components.update(out_components)
    result: Dict[str, Any] = {"input": inp, "output": out, "components": components,
                              "kinds": kinds(sig)}
    if sig.var_kwargs:
        result["kwargs"] = True
    return result


