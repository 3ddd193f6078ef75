"""cog.base_model - cog.BaseModel: pydantic 1's BaseModel where it is installed, as in Cog 0.15.5.

Cog's `cog.BaseModel` is `pydantic.BaseModel` itself, so models rely on pydantic behaviour
(validation, .dict(), Field()). Where pydantic 1 is not importable, a small class with the same
construction rules stands in (fields are the annotations, missing Optional fields are None).
"""
import typing
from typing import Any, Dict, Union

_UNSET = object()


def _is_optional(tp: Any) -> bool:
    return typing.get_origin(tp) is Union and type(None) in typing.get_args(tp)


class FallbackBaseModel:
    """Fields are the class annotations, in declaration order (base classes first).

    Construction is by keyword; a missing Optional field defaults to None, a
    missing field with a class-level default takes it, any other missing field
    is an error, as with pydantic.
    """

    __cog_fields__: Dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__cog_fields__ = None  # resolved lazily: annotations may be forward refs

    @classmethod
    def _cog_fields(cls) -> Dict[str, Any]:
        """Field name -> type, declaration order. Resolved once per class."""
        fields = cls.__dict__.get("__cog_fields__")
        if fields is None:
            hints = typing.get_type_hints(cls)
            fields = {}
            for klass in reversed(cls.__mro__):
                for name in klass.__dict__.get("__annotations__", {}):
                    if not name.startswith("_") and name in hints:
                        fields[name] = hints[name]
            cls.__cog_fields__ = fields
        return fields

    @classmethod
    def _cog_default(cls, name: str) -> Any:
        """The class-level default of a field, or _UNSET."""
        for klass in cls.__mro__:
            if name in klass.__dict__:
                return klass.__dict__[name]
        return _UNSET

    def __init__(self, **data: Any) -> None:
        missing = []
        for name, tp in self._cog_fields().items():
            if name in data:
                value = data.pop(name)
            else:
                value = self._cog_default(name)
                if value is _UNSET:
                    if _is_optional(tp) or tp is Any:
                        value = None
                    else:
                        missing.append(name)
                        continue
            object.__setattr__(self, name, value)
        if missing:
            lines = [f"{len(missing)} validation error{'s' if len(missing) > 1 else ''} "
                     f"for {type(self).__name__}"]
            for name in missing:
                lines.append(f"{name}\n  field required (type=value_error.missing)")
            raise ValueError("\n".join(lines))
        for name, value in data.items():  # extra keys are kept, as pydantic's Extra.allow would
            object.__setattr__(self, name, value)

    def dict(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self._cog_fields()}

    model_dump = dict

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.dict() == self.dict()

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.dict().items())
        return f"{type(self).__name__}({inner})"

    def __iter__(self):
        return iter(self.dict().items())


def _pick() -> type:
    try:
        import pydantic
    except ImportError:
        return FallbackBaseModel
    if str(getattr(pydantic, "VERSION", "")).startswith("1."):
        return pydantic.BaseModel
    return FallbackBaseModel


BaseModel = _pick()
