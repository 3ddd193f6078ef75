"""cog.types - the annotation types a predictor's signature may use."""
import io
import pathlib
from typing import Any, AsyncIterator, Dict, Iterator, Optional, TypeVar

Item = TypeVar("Item")

# Marks "no default": the parameter is required.
_MISSING = ...


class FieldInfo:
    """What Input(...) returns: the default plus the schema options of one input."""

    def __init__(self, default: Any = _MISSING, description: Optional[str] = None,
                 ge: Optional[float] = None, le: Optional[float] = None,
                 min_length: Optional[int] = None, max_length: Optional[int] = None,
                 regex: Optional[str] = None, choices: Optional[list] = None,
                 deprecated: Optional[bool] = None):
        self.default = default
        self.description = description
        self.ge = ge
        self.le = le
        self.min_length = min_length
        self.max_length = max_length
        self.regex = regex
        self.choices = list(choices) if choices is not None else None
        self.deprecated = deprecated

    def __repr__(self) -> str:
        return f"FieldInfo(default={self.default!r}, description={self.description!r})"


def Input(default: Any = _MISSING, description: Optional[str] = None,
          ge: Optional[float] = None, le: Optional[float] = None,
          min_length: Optional[int] = None, max_length: Optional[int] = None,
          regex: Optional[str] = None, choices: Optional[list] = None,
          deprecated: Optional[bool] = None, **_ignored: Any) -> Any:
    """Declares a predictor input: Cog's Input(), options as in COG-API.md 11.1."""
    return FieldInfo(default=default, description=description, ge=ge, le=le,
                     min_length=min_length, max_length=max_length, regex=regex,
                     choices=choices, deprecated=deprecated)


class Path(pathlib.PosixPath):
    """A local file: inputs arrive as one, outputs returned as one become files."""

    # pydantic 1 hooks, so that model fields may be Paths (as Cog's Path allows)
    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> pathlib.Path:
        if isinstance(value, pathlib.PurePath):
            return value if isinstance(value, pathlib.Path) else Path(value)
        if isinstance(value, str):
            return Path(value)
        raise TypeError(f"expected a path, got {type(value).__name__}")

    @classmethod
    def __modify_schema__(cls, field_schema: Dict[str, Any]) -> None:
        field_schema.update(type="string", format="uri")


class URLPath(Path):
    """Kept for imports that name it; behaves as a Path."""


class File(io.IOBase):
    """Annotation for a file input (an open binary file) or output (a file object)."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> Any:
        if isinstance(value, (io.IOBase, str, pathlib.PurePath)) or hasattr(value, "read"):
            return value
        raise TypeError(f"expected a file, got {type(value).__name__}")

    @classmethod
    def __modify_schema__(cls, field_schema: Dict[str, Any]) -> None:
        field_schema.update(type="string", format="uri")


class Secret:
    """A string that does not show itself in reprs or logs."""

    def __init__(self, secret_value: Optional[str] = None):
        self._secret_value = secret_value

    def get_secret_value(self) -> Optional[str]:
        return self._secret_value

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"

    def __str__(self) -> str:
        return "**********" if self._secret_value else ""

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Secret) and other._secret_value == self._secret_value

    def __hash__(self) -> int:
        return hash(self._secret_value)

    @classmethod
    def __get_validators__(cls) -> Iterator[Any]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> "Secret":
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return cls(value)
        raise TypeError(f"expected a string, got {type(value).__name__}")

    @classmethod
    def __modify_schema__(cls, field_schema: Dict[str, Any]) -> None:
        field_schema.update(type="string", format="password", **{"x-cog-secret": True})


class URLFile(File):
    """Newer Cog's lazily opened http(s) file; here an annotation that behaves as File."""


class ExperimentalFeatureWarning(Warning):
    """Cog 0.15.5's warning category for experimental features; models filter it."""


class _OpaqueMarker:
    """typing.Annotated[T, Opaque] (newer Cog): T is passed through as an opaque JSON object."""

    def __repr__(self) -> str:
        return "cog.Opaque"


Opaque = _OpaqueMarker()


class ConcatenateIterator(Iterator[Item]):
    """An iterator output whose items clients show concatenated (token streams)."""

    def __next__(self) -> Item:  # pragma: no cover - only an annotation
        raise StopIteration


class AsyncConcatenateIterator(AsyncIterator[Item]):
    """The async form of ConcatenateIterator."""

    async def __anext__(self) -> Item:  # pragma: no cover - only an annotation
        raise StopAsyncIteration

