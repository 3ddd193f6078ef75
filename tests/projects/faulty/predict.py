# Does what `mode` says: ok, sleep (cancelable), stubborn (swallows CancelationException), segfault, exit, kill.
#
# With COG_TEST_RUNS_DIR set, every prediction that finishes its work appends its id to
# COG_TEST_RUNS_DIR/runs (one line each): the restart test counts them to find double runs.
import ctypes
import os
import signal
import time

from cog import BasePredictor, CancelationException, Input, current_scope


def _record(tag: str) -> None:
    runs = os.environ.get("COG_TEST_RUNS_DIR")
    if not runs:
        return
    pid = current_scope().context.get("id") or tag
    with open(os.path.join(runs, "runs"), "a", encoding="utf-8") as f:
        f.write(f"{pid}\n")


class Predictor(BasePredictor):
    def setup(self) -> None:
        print(f"setup pid {os.getpid()}", flush=True)

    def predict(self,
                mode: str = Input(default="ok"),
                seconds: float = Input(default=0.0, ge=0.0, le=60.0),
                tag: str = Input(default="")) -> str:
        if mode == "segfault":
            ctypes.string_at(0)
        if mode == "exit":
            os._exit(3)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "stubborn":
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    time.sleep(0.05)
                except CancelationException:
                    print("ignoring cancel", flush=True)
            _record(tag)
            return f"stubborn {seconds}"
        if mode == "fail":
            raise ValueError("asked to fail")
        # "ok" and "sleep": a plain sleep that SIGUSR1 interrupts.
        time.sleep(seconds)
        _record(tag)
        return f"{mode} {tag}".strip()
