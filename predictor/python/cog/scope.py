"""cog.scope - current_scope(): the running prediction's context and metrics."""
import contextvars
from typing import Any, Callable, Dict, Optional


class _Metrics:
    """scope.metrics["name"] = value is record_metric("name", value)."""

    def __init__(self, scope: "Scope"):
        self._scope = scope
        self._values: Dict[str, Any] = {}

    def __setitem__(self, name: str, value: Any) -> None:
        self._scope.record_metric(name, value)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values


class Scope:
    """One prediction's view: its context (plus id) and a way to record metrics."""

    def __init__(self, context: Optional[Dict[str, Any]] = None,
                 emit: Optional[Callable[[Dict[str, Any]], None]] = None,
                 prediction_id: Optional[str] = None):
        self.context: Dict[str, Any] = dict(context or {})
        self._emit = emit
        self.metrics = _Metrics(self)
        # whose outputs, metrics and (several at once) prints these are: cog's runtime
        # reads it here rather than from a context variable of its own, one set fewer
        self._prediction_id = prediction_id

    def record_metric(self, name: str, value: Any, mode: str = "replace") -> None:
        self.metrics._values[name] = value
        if self._emit is not None:
            msg = {"type": "metric", "name": str(name), "value": value}
            if mode != "replace":
                msg["mode"] = mode
            self._emit(msg)


# A context variable: predictions running at once as tasks of one event loop
# (concurrency.max > 1) each see their own scope.
_current: "contextvars.ContextVar[Scope]" = contextvars.ContextVar("cog_scope", default=Scope())


def current_scope() -> Scope:
    """The scope of the prediction running now (an empty one outside predictions)."""
    return _current.get()


def _set_scope(scope: Scope) -> Scope:
    """Makes scope current; returns the previous one. Used by cog's runtime."""
    previous = _current.get()
    _current.set(scope)
    return previous
