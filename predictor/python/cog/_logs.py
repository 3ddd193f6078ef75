"""cog._logs - a log's last line ends with a newline, as Cog's log capture ends it.

Cog reads a prediction's output line by line, so `print("x", end="")` as the last thing a
prediction writes still shows up as the line "x\n". The worker's stdout and stderr are a
pipe the front copies as written; here sys.stdout and sys.stderr are wrapped to remember
whether the last character written was a newline, and end_lines() writes the missing one
at the end of setup() and of each prediction.
"""
import io
import sys
from typing import Any, List


class _LineTracker:
    """A text stream that forwards everything to the stream it wraps and remembers whether
    its output ends in the middle of a line."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._open_line = False
        # The worker's own streams write through to the fd (unbuffered stdio): flushing
        # them does nothing, and the worker skips it before every frame (py_interp.c).
        self.cf_unbuffered = bool(getattr(stream, "write_through", False)) and isinstance(
            getattr(stream, "buffer", None), io.FileIO)

    def flush(self) -> None:
        self._stream.flush()

    def write(self, text: str) -> int:
        n = self._stream.write(text)
        if text:
            self._open_line = not text.endswith("\n")
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def end_line(self) -> None:
        if self._open_line:
            self._open_line = False
            try:
                self._stream.write("\n")
                self._stream.flush()
            except Exception:  # a closed or broken stream: nothing to end
                pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_trackers: List[_LineTracker] = []


def install() -> None:
    """Wraps sys.stdout and sys.stderr once (idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or isinstance(stream, _LineTracker):
            continue
        tracker = _LineTracker(stream)
        setattr(sys, name, tracker)
        _trackers.append(tracker)


def end_lines() -> None:
    """Ends a last line left open on stdout or stderr with a newline."""
    for tracker in _trackers:
        tracker.end_line()
