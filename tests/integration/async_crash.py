"""async_crash.py - worker crashes and failed setup through nginx (driver of async-crash.sh).

What a user checks: a worker that segfaults, calls os._exit or is SIGKILLed fails only its own
prediction, with Cog's "unknown reason ... (exitcode N)" error (and a completed webhook for
async ones); the worker comes back (setup runs again) and the next prediction succeeds; a
prediction queued behind the crash still runs; /health-check answers quickly all along
(BUSY/STARTING while the worker comes back, DEFUNCT after 5 crashes in a row, READY again once
a worker is back); a setup() that raises gives SETUP_FAILED with its logs and 503s, and the
server stays up.
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from async_lib import CRASH_ERROR, Suite  # noqa: E402

S = Suite("async-crash")


class HealthPoller:
    """Polls /health-check every 50 ms in a thread; keeps (status, HTTP code, latency)."""

    def __init__(self):
        self.seen = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            r = S.http("GET", "/health-check", timeout=2)
            self.seen.append((r.get("status"), r.status, r.elapsed))
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.thread.join(5)
        return self.seen


def check_health_log(label, seen, allowed):
    codes = sorted({c for _, c, _ in seen})
    S.check(f"{label}: /health-check always answered 200 ({len(seen)} polls)", seen and codes == [200],
            f"codes seen {codes}")
    statuses = []
    for s, _, _ in seen:
        if not statuses or statuses[-1] != s:
            statuses.append(s)
    S.check(f"{label}: health statuses only {'/'.join(allowed)}", all(s in allowed for s in statuses),
            f"sequence {statuses}")
    slowest = max((t for _, _, t in seen), default=0)
    S.check(f"{label}: health answers in under 0.5 s (slowest {slowest:.3f} s)", slowest < 0.5, "")
    return statuses


def main():
    rc = S.start_receiver()
    front = S.setup("faulty")
    poller = HealthPoller()

    # Segfault, sync.
    w0 = front.worker_pid()
    r = S.predict({"mode": "segfault"}, timeout=30)
    S.expect("segfault: sync answers 200", r.status, 200, str(r))
    S.expect("segfault: status failed", r.get("status"), "failed", str(r))
    S.expect("segfault: Cog's unknown-reason error with the exit code", r.get("error"), CRASH_ERROR.format(-11))
    r = S.predict({"mode": "ok", "tag": "a"}, timeout=30)
    S.expect("segfault: the next prediction succeeds", (r.get("status"), r.get("output")), ("succeeded", "ok a"), str(r))
    w1 = front.worker_pid()
    S.check("segfault: a new worker runs", w0 and w1 and w0 != w1, f"worker before {w0}, after {w1}")
    h = S.http("GET", "/health-check")
    logs = ((h.json or {}).get("setup") or {}).get("logs") or ""
    S.check("segfault: setup ran again in the new worker (health's setup logs)", f"setup pid {w1}" in logs,
            f"setup logs {logs!r}")
    S.expect("segfault: health READY again", h.get("status"), "READY")

    # os._exit(3), async with a webhook.
    r = S.predict({"mode": "exit"}, pid="crash-exit", webhook=rc.url("/exit"), asynch=True)
    S.expect("os._exit: async accepted", r.status, 202, str(r))
    g = S.poll("crash-exit", timeout=10)
    S.expect("os._exit: status failed", g.get("status"), "failed", str(g))
    S.expect("os._exit: error with exit code 3", g.get("error"), CRASH_ERROR.format(3))
    hooks = rc.wait_terminal("/exit", timeout=5)
    term = [h for h in hooks if h.terminal]
    S.check("os._exit: one completed webhook, failed, with the error",
            len(term) == 1 and term[0].status == "failed" and term[0].body.get("error") == CRASH_ERROR.format(3),
            f"terminal deliveries {[h.body for h in term]}")
    r = S.predict({"mode": "ok", "tag": "b"}, timeout=30)
    S.expect("os._exit: the next prediction succeeds", r.get("status"), "succeeded", str(r))

    # SIGKILL of the worker mid-prediction, with one queued behind it.
    r = S.predict({"mode": "sleep", "seconds": 10}, pid="crash-kill", webhook=rc.url("/kill"), asynch=True)
    r2 = S.predict({"mode": "ok", "tag": "queued"}, pid="crash-queued", asynch=True)
    S.check("SIGKILL: two async predictions accepted", r.status == 202 and r2.status == 202, f"{r} / {r2}")
    time.sleep(0.5)
    wk = front.worker_pid()
    S.check("SIGKILL: the worker is a child of the front", wk is not None, f"children {front.children()}")
    if wk:
        os.kill(wk, signal.SIGKILL)
    g = S.poll("crash-kill", timeout=10)
    S.expect("SIGKILL: status failed", g.get("status"), "failed", str(g))
    S.expect("SIGKILL: error with exit code -9", g.get("error"), CRASH_ERROR.format(-9))
    hooks = rc.wait_terminal("/kill", timeout=5)
    S.check("SIGKILL: completed webhook says failed", [h.status for h in hooks if h.terminal] == ["failed"],
            f"deliveries {[h.body for h in hooks]}")
    g = S.poll("crash-queued", timeout=15)
    S.expect("SIGKILL: the queued prediction runs on the new worker",
             (g.get("status"), g.get("output")), ("succeeded", "ok queued"), str(g))
    S.check("SIGKILL: the front survives", front.alive(), front.log_tail())

    seen = poller.stop()
    check_health_log("crashes", seen, ("READY", "BUSY", "STARTING"))
    S.expect("health READY after the crashes", S.wait_health(("READY",), 10), "READY")

    # Five crashes in a row: DEFUNCT (with back-off), then READY once a worker is back.
    poller = HealthPoller()
    t0 = time.monotonic()
    codes = []
    for _ in range(5):
        r = S.predict({"mode": "segfault"}, timeout=30)
        codes.append((r.status, r.get("status")))
    S.check("5 crashes in a row: each prediction failed alone", codes == [(200, "failed")] * 5, f"got {codes}")
    S.check("5 crashes in a row took back-off (>= 3 s)", time.monotonic() - t0 >= 3.0,
            f"took {time.monotonic() - t0:.1f} s")
    s = S.wait_health(("DEFUNCT",), 3)
    S.expect("after 5 crashes in a row health says DEFUNCT", s, "DEFUNCT")
    r = S.predict({"mode": "ok", "tag": "while-defunct"}, pid="while-defunct", asynch=True)
    S.expect("an async prediction is accepted while DEFUNCT", r.status, 202, str(r))
    s = S.wait_health(("READY",), 25)
    S.expect("DEFUNCT turns READY again once a worker is back", s, "READY")
    g = S.poll("while-defunct", timeout=5)
    S.expect("the prediction accepted while DEFUNCT succeeds", g.get("status"), "succeeded", str(g))
    seen = poller.stop()
    statuses = check_health_log("crash loop", seen, ("READY", "BUSY", "STARTING", "DEFUNCT"))
    S.check("crash loop: DEFUNCT seen, then a worker back (READY/BUSY)",
            "DEFUNCT" in statuses and statuses[-1] in ("READY", "BUSY"), f"sequence {statuses}")
    S.check("the front survived every crash", front.alive(), front.log_tail())

    # setup() raises.
    S.stop(front.proc)
    S.forget(front.proc)
    front = S.setup("setup-fails", ready=False)
    s = S.wait_health(("SETUP_FAILED",), 20)
    S.expect("failed setup: health says SETUP_FAILED", s, "SETUP_FAILED")
    h = S.http("GET", "/health-check")
    setup = (h.json or {}).get("setup") or {}
    S.expect("failed setup: setup.status failed", setup.get("status"), "failed", str(h))
    S.check("failed setup: setup.logs has the model's output and the error",
            "loading weights from nowhere" in (setup.get("logs") or "") and "weights not found" in (setup.get("logs") or ""),
            f"logs {setup.get('logs')!r}")
    r = S.predict({})
    S.expect("failed setup: a prediction answers 503", r.status, 503, str(r))
    detail = r.get("detail") or ""
    S.check("failed setup: detail is 'setup failed: ...' naming the error",
            isinstance(detail, str) and detail.startswith("setup failed: ") and "weights not found" in detail,
            f"detail {detail!r}")
    r = S.predict({}, asynch=True)
    S.expect("failed setup: an async prediction answers 503 too", r.status, 503, str(r))
    time.sleep(0.5)
    S.check("failed setup: the front stays up", front.alive(), front.log_tail())
    S.expect("failed setup: health still answers", S.health(), "SETUP_FAILED")
    S.finish()


if __name__ == "__main__":
    main()
