"""cog.predictor - the base classes and decorators a predict.py uses."""
from typing import Any, Callable, Optional


class BasePredictor:
    """Subclass it; setup() runs once, predict() per request."""

    def setup(self, weights: Any = None) -> None:  # noqa: D401 - Cog's signature
        return None

    def predict(self, **kwargs: Any) -> Any:
        raise NotImplementedError("predict has not been implemented by parent class.")


class BaseRunner(BasePredictor):
    """Newer Cog's name: run() instead of predict()."""

    def run(self, **kwargs: Any) -> Any:
        raise NotImplementedError("run has not been implemented by parent class.")


def concurrent(fn: Optional[Callable] = None, *, max: int = 1) -> Any:  # noqa: A002
    """@concurrent(max=N) on an async predict/run sets how many may run at once."""
    def mark(f: Callable) -> Callable:
        f._cog_concurrency = int(max)
        return f
    if fn is not None:
        return mark(fn)
    return mark


def streaming(fn: Optional[Callable] = None) -> Any:
    """@streaming marks an iterator method clients may stream; cog-fcgi streams all."""
    def mark(f: Callable) -> Callable:
        f._cog_streaming = True
        return f
    if fn is not None:
        return mark(fn)
    return mark
