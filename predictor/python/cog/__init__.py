"""cog - the package a Cog predict.py imports, as served by cog-fcgi.

Every public name of Cog 0.15.5's `cog` package, and the names that models written for newer
Cog (0.16-0.22) import (tests/python/test_names.py compares both lists).
"""
from typing import Any

from .base_model import BaseModel
from .predictor import BasePredictor, BaseRunner, concurrent, streaming
from .scope import current_scope
from .server.exceptions import CancelationException
from .types import (AsyncConcatenateIterator, ConcatenateIterator, ExperimentalFeatureWarning,
                    FieldInfo, File, Input, Opaque, Path, Secret, URLFile, URLPath)

__version__ = "0.15.5"


def emit_metric(name: str, value: Any) -> None:
    """Newer Cog's deprecated shim: current_scope().record_metric(name, value)."""
    current_scope().record_metric(name, value)


__all__ = [
    "__version__", "current_scope", "emit_metric",
    "AsyncConcatenateIterator", "BaseModel", "BasePredictor", "BaseRunner",
    "CancelationException", "ConcatenateIterator", "ExperimentalFeatureWarning", "FieldInfo",
    "File", "Input", "Opaque", "Path", "Secret", "URLFile", "URLPath",
    "concurrent", "streaming",
]
