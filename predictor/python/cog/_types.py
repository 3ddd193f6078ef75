"""cog._types - classifying annotations: shared by the schema and the runtime."""
import collections.abc
import pathlib
import typing
from typing import Any, List, Optional, Tuple, Union

from .base_model import BaseModel
from .types import AsyncConcatenateIterator, ConcatenateIterator, File, Secret

NoneType = type(None)

# Origins that make an output an iterator (streamed item by item).
_ITERATOR_ORIGINS = (
    collections.abc.Iterator, collections.abc.Generator, collections.abc.Iterable,
    collections.abc.AsyncIterator, collections.abc.AsyncGenerator, collections.abc.AsyncIterable,
    ConcatenateIterator, AsyncConcatenateIterator,
)
_CONCAT_ORIGINS = (ConcatenateIterator, AsyncConcatenateIterator)


def split_optional(tp: Any) -> Tuple[Any, bool]:
    """Returns (T, True) for Optional[T] / Union[..., None], else (tp, False).

    Union[A, B, None] gives (Union[A, B], True)."""
    if typing.get_origin(tp) is Union:
        args = typing.get_args(tp)
        if NoneType in args:
            rest = tuple(a for a in args if a is not NoneType)
            if len(rest) == 1:
                return rest[0], True
            return Union[rest], True  # type: ignore[return-value]
    return tp, False


def union_args(tp: Any) -> Optional[Tuple[Any, ...]]:
    """The members of a Union (None excluded by the caller), or None if not a Union."""
    if typing.get_origin(tp) is Union:
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
    return tp is dict or tp is typing.Dict or typing.get_origin(tp) is dict


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel) and tp is not BaseModel


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
    if origin is Union:
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
