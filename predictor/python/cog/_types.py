"""cog._types - classifying annotations: shared by the schema and the runtime."""
import collections.abc
import pathlib
import types
import typing
from typing import Any, Dict, List, Optional, Tuple, Union

from .base_model import FallbackBaseModel
from .types import AsyncConcatenateIterator, ConcatenateIterator, File, Secret

NoneType = type(None)

# Origins that make an output an iterator (streamed item by item).
_ITERATOR_ORIGINS = (
    collections.abc.Iterator, collections.abc.Generator, collections.abc.Iterable,
    collections.abc.AsyncIterator, collections.abc.AsyncGenerator, collections.abc.AsyncIterable,
    ConcatenateIterator, AsyncConcatenateIterator,
)
_CONCAT_ORIGINS = (ConcatenateIterator, AsyncConcatenateIterator)


_UNION_ORIGINS = (Union, types.UnionType)


class OpaqueObject(dict):
    """What Annotated[T, cog.Opaque] stands for (newer Cog): a JSON object passed as it is."""


def without_annotated(tp: Any) -> Any:
    """Annotated[T, ...] as T, and Annotated[T, cog.Opaque] as OpaqueObject (a dict), also
    inside Optional[...], unions and List[...]."""
    if typing.get_origin(tp) is typing.Annotated:
        inner, *meta = typing.get_args(tp)
        if any(type(m).__name__ == "_OpaqueMarker" for m in meta):
            return OpaqueObject
        return without_annotated(inner)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if not args:
        return tp
    new = tuple(without_annotated(a) for a in args)
    if all(a is b for a, b in zip(new, args)):
        return tp  # nothing annotated inside: keep the type as written (X | None stays so)
    if origin in _UNION_ORIGINS:
        return Union[new]  # type: ignore[return-value]
    if origin is list:
        return List[new[0]]  # type: ignore[misc]
    return tp


def is_union(tp: Any) -> bool:
    """Union[...] / Optional[...] and PEP 604's A | B."""
    return typing.get_origin(tp) in _UNION_ORIGINS


def is_pep604(tp: Any) -> bool:
    """A | B written with the operator (pydantic 1 treats `X | None` as required)."""
    return typing.get_origin(tp) is types.UnionType


def split_optional(tp: Any) -> Tuple[Any, bool]:
    """Returns (T, True) for Optional[T] / Union[..., None] / T | None, else (tp, False).

    Union[A, B, None] gives (Union[A, B], True)."""
    if is_union(tp):
        args = typing.get_args(tp)
        if NoneType in args:
            rest = tuple(a for a in args if a is not NoneType)
            if len(rest) == 1:
                return rest[0], True
            return Union[rest], True  # type: ignore[return-value]
    return tp, False


def union_args(tp: Any) -> Optional[Tuple[Any, ...]]:
    """The members of a Union (None excluded by the caller), or None if not a Union."""
    if is_union(tp):
        return typing.get_args(tp)
    return None


def list_item(tp: Any) -> Optional[Any]:
    """T for List[T] / list[T] (Any for a bare list), else None."""
    if tp is list or tp is List:
        return Any
    if typing.get_origin(tp) is list:
        args = typing.get_args(tp)
        return args[0] if args else Any
    return None


def iterator_item(tp: Any) -> Optional[Any]:
    """T for Iterator[T], AsyncIterator[T], Generator[T, ...], ConcatenateIterator[T]."""
    origin = typing.get_origin(tp)
    if origin is None:
        origin = tp if isinstance(tp, type) else None
        if origin is None or origin not in _ITERATOR_ORIGINS:
            return None
        return Any
    if origin in _ITERATOR_ORIGINS:
        args = typing.get_args(tp)
        return args[0] if args else Any
    return None


def is_concatenate(tp: Any) -> bool:
    origin = typing.get_origin(tp) or tp
    return origin in _CONCAT_ORIGINS


def is_dict(tp: Any) -> bool:
    return tp is dict or tp is typing.Dict or tp is OpaqueObject or typing.get_origin(tp) is dict


def dict_value(tp: Any) -> Optional[Any]:
    """V for Dict[K, V] / dict[K, V]; None for a bare dict (or not a dict)."""
    if typing.get_origin(tp) is dict:
        args = typing.get_args(tp)
        if len(args) == 2:
            return args[1]
    return None


def literal_values(tp: Any) -> Optional[Tuple[Any, ...]]:
    """The values of Literal[...], else None."""
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    return None


def pydantic_v1() -> Any:
    """The pydantic module when it is pydantic 1 (whose schema Cog 0.15.5 renders), else None."""
    try:
        import pydantic
    except ImportError:
        return None
    return pydantic if str(getattr(pydantic, "VERSION", "")).startswith("1.") else None


def is_pydantic_model(tp: Any) -> bool:
    """A pydantic (1 or 2) BaseModel subclass, without importing pydantic for it."""
    if not isinstance(tp, type):
        return False
    for klass in tp.__mro__:
        if klass.__name__ == "BaseModel" and klass.__module__.split(".")[0] == "pydantic":
            return tp is not klass
    return False


def is_model(tp: Any) -> bool:
    """An output object class: cog.BaseModel or any pydantic BaseModel subclass."""
    if is_pydantic_model(tp):
        return True
    return isinstance(tp, type) and issubclass(tp, FallbackBaseModel) and tp is not FallbackBaseModel


def model_fields(cls: type) -> Dict[str, Any]:
    """Field name -> annotation of an output class, declaration order (bases first)."""
    if hasattr(cls, "_cog_fields"):
        return cls._cog_fields()
    fields = getattr(cls, "__fields__", None)
    if isinstance(fields, dict):  # pydantic 1; pydantic 2 keeps model_fields
        hints = typing.get_type_hints(cls)
        return {name: hints.get(name, Any) for name in fields}
    fields = getattr(cls, "model_fields", {})
    hints = typing.get_type_hints(cls)
    return {name: hints.get(name, Any) for name in fields}


def is_number_type(tp: Any) -> Optional[str]:
    """'number' / 'integer' / 'boolean' for numpy (and other) scalar types, else None.

    np.float64 subclasses float (pydantic 1 renders number); numpy's integer and bool
    types are classified by their numpy base class, without importing numpy."""
    if not isinstance(tp, type) or tp in (int, float, bool):
        return None
    if issubclass(tp, float):
        return "number"
    if issubclass(tp, int) and not issubclass(tp, bool):
        return "integer"
    names = {k.__module__ + "." + k.__name__ for k in tp.__mro__}
    if "numpy.floating" in names:
        return "number"
    if "numpy.integer" in names:
        return "integer"
    if "numpy.bool_" in names:
        return "boolean"
    return None


def is_path(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pathlib.PurePath)


def is_file(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, File)


def is_secret(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Secret)


def type_name(tp: Any) -> str:
    """A short readable name: int, Path, List[int], Optional[str], Iterator[str]."""
    if tp is Any:
        return "Any"
    if tp is NoneType or tp is None:
        return "None"
    origin = typing.get_origin(tp)
    if origin is None:
        return getattr(tp, "__name__", repr(tp).replace("typing.", ""))
    args = typing.get_args(tp)
    if origin in _UNION_ORIGINS:
        inner, optional = split_optional(tp)
        if optional:
            return f"Optional[{type_name(inner)}]"
        return "Union[" + ", ".join(type_name(a) for a in args) + "]"
    names = {list: "List", dict: "Dict", tuple: "Tuple", set: "Set"}
    name = names.get(origin) or getattr(origin, "__name__", repr(origin))
    if not args:
        return name
    return f"{name}[" + ", ".join(type_name(a) for a in args) + "]"


def title(name: str) -> str:
    """pydantic's title: underscores to spaces, then str.title()."""
    return name.replace("_", " ").title()
