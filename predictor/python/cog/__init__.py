"""cog - the package a Cog predict.py imports, as served by cog-fcgi."""
from .base_model import BaseModel
from .predictor import BasePredictor, BaseRunner, concurrent, streaming
from .scope import current_scope
from .server.exceptions import CancelationException
from .types import (AsyncConcatenateIterator, ConcatenateIterator, File, Input, Path,
                    Secret, URLPath)

__version__ = "0.15.5"

__all__ = [
    "AsyncConcatenateIterator", "BaseModel", "BasePredictor", "BaseRunner",
    "CancelationException", "ConcatenateIterator", "File", "Input", "Path", "Secret",
    "URLPath", "concurrent", "current_scope", "streaming",
]
