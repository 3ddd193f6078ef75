"""async_cancel.py - cancellation and deadlines through nginx (driver of async-cancel.sh).

What a user checks: POST /predictions/{id}/cancel stops a running prediction (async, and sync
with an id) and it ends `canceled` with a completed webhook; a model that swallows the
CancelationException is killed after --cancel-grace and the next prediction works; a queued
prediction can be canceled before it runs; Cancel-After and --predict-timeout end a
prediction `canceled` with an error saying so; a sync client that hangs up cancels its
prediction.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from async_lib import Suite, bg  # noqa: E402

S = Suite("async-cancel")


def wait_processing(pid, timeout=5.0):
    """Waits until GET shows the prediction processing, then a little for predict() to be in."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if S.get_prediction(pid).get("status") == "processing":
            time.sleep(0.3)
            return True
        time.sleep(0.05)
    return False


def main():
    rc = S.start_receiver()
    front = S.setup("faulty", "--cancel-grace", "1")

    # Cooperative, async.
    r = S.predict({"mode": "sleep", "seconds": 10}, pid="c-async", webhook=rc.url("/c-async"), asynch=True)
    S.expect("async sleep accepted", r.status, 202, str(r))
    wait_processing("c-async")
    t0 = time.monotonic()
    c = S.cancel("c-async")
    S.expect("cancel of a running async prediction answers 200", c.status, 200, str(c))
    S.expect("cancel answers {}", c.json, {})
    g = S.poll("c-async", timeout=5)
    dt = time.monotonic() - t0
    S.expect("canceled async prediction polls as canceled", g.get("status"), "canceled", str(g))
    S.check("the cooperative model stops within 1 s", dt < 1.0, f"took {dt:.2f} s")
    S.check("canceled: completed_at set, metrics not set",
            g.get("completed_at") and not g.get("metrics"), str(g))
    hooks = rc.wait_terminal("/c-async", timeout=5)
    term = [h for h in hooks if h.terminal]
    S.check("canceled: one completed webhook with status canceled",
            len(term) == 1 and term[0].status == "canceled", f"terminal deliveries {[h.body for h in term]}")
    c = S.cancel("c-async")
    S.expect("a second cancel answers 404", c.status, 404, str(c))
    S.expect("a second cancel answers {}", c.json, {})
    c = S.cancel("never-seen")
    S.expect("cancel of an unknown id answers 404 {}", (c.status, c.json), (404, {}))

    # Cooperative, sync with an id: the blocked request returns 200 canceled.
    job = bg(S.predict, {"mode": "sleep", "seconds": 10}, pid="c-sync", timeout=20)
    wait_processing("c-sync")
    t0 = time.monotonic()
    c = S.cancel("c-sync")
    S.expect("cancel of a running sync prediction answers 200", c.status, 200, str(c))
    r = job.result(15)
    dt = time.monotonic() - t0
    S.check("the sync request answers 200 canceled", r is not None and r.status == 200 and r.get("status") == "canceled",
            str(r))
    S.check("the sync request returns within 1 s of the cancel", dt < 1.0, f"took {dt:.2f} s")

    # Stubborn: swallows the exception; killed after --cancel-grace 1; worker restarted.
    r = S.predict({"mode": "stubborn", "seconds": 20}, pid="c-stub", asynch=True)
    S.expect("stubborn prediction accepted", r.status, 202, str(r))
    wait_processing("c-stub")
    old_worker = front.worker_pid()
    t0 = time.monotonic()
    c = S.cancel("c-stub")
    S.expect("cancel of a stubborn prediction answers 200", c.status, 200, str(c))
    g = S.poll("c-stub", timeout=8)
    dt = time.monotonic() - t0
    S.expect("stubborn prediction ends canceled", g.get("status"), "canceled", str(g))
    S.check("stubborn prediction canceled within grace (1 s) + 1 s", dt < 2.0, f"took {dt:.2f} s")
    S.check("its logs show the model ignored the cancel", "ignoring cancel" in (g.get("logs") or ""),
            f"logs {g.get('logs')!r}")
    r = S.predict({"mode": "ok", "tag": "after-stubborn"}, timeout=30)
    S.check("the next prediction succeeds", r.status == 200 and r.get("status") == "succeeded", str(r))
    new_worker = front.worker_pid()
    S.check("the stubborn worker was replaced", old_worker and new_worker and old_worker != new_worker,
            f"worker pid before {old_worker}, after {new_worker}")
    S.expect("health READY after the stubborn cancel", S.health(), "READY")

    # A queued prediction canceled before it runs.
    r1 = S.predict({"mode": "sleep", "seconds": 1.5}, pid="q-run", asynch=True)
    r2 = S.predict({"mode": "ok", "tag": "never"}, pid="q-wait", webhook=rc.url("/q-wait"), asynch=True)
    S.check("two async predictions accepted", r1.status == 202 and r2.status == 202, f"{r1} / {r2}")
    time.sleep(0.2)
    c = S.cancel("q-wait")
    S.expect("cancel of a queued prediction answers 200", c.status, 200, str(c))
    g = S.poll("q-wait", timeout=2)
    S.expect("the queued prediction is canceled at once", g.get("status"), "canceled", str(g))
    S.check("the queued prediction never produced output", g.get("output") is None, str(g))
    hooks = rc.wait_terminal("/q-wait", timeout=5)
    S.check("the queued prediction's completed webhook says canceled",
            [h.status for h in hooks if h.terminal] == ["canceled"], f"deliveries {[h.body for h in hooks]}")
    g = S.poll("q-run", timeout=5)
    S.expect("the running one is not affected", g.get("status"), "succeeded", str(g))
    g = S.get_prediction("q-wait")
    S.expect("the canceled queued prediction stays canceled", g.get("status"), "canceled", str(g))

    # Cancel-After.
    r = S.predict({"mode": "sleep", "seconds": 5}, pid="ca-short", headers={"Cancel-After": "500ms"}, timeout=15)
    S.check("Cancel-After: 500ms on a 5 s prediction answers 200 canceled",
            r.status == 200 and r.get("status") == "canceled", str(r))
    S.check("Cancel-After: 500ms ends it within 1.5 s", r.elapsed < 1.5, f"took {r.elapsed:.2f} s")
    S.check("Cancel-After: the error says the deadline passed",
            any(w in (r.get("error") or "").lower() for w in ("deadline", "timed out", "time limit", "cancel-after")),
            f"error {r.get('error')!r}")
    r = S.predict({"mode": "sleep", "seconds": 0.3}, headers={"Cancel-After": "30s"}, timeout=15)
    S.expect("Cancel-After: 30s on a short prediction succeeds", r.get("status"), "succeeded", str(r))
    r = S.predict({"mode": "sleep", "seconds": 5}, pid="ca-async", headers={"Cancel-After": "1s"}, asynch=True)
    S.expect("Cancel-After on an async prediction: 202", r.status, 202, str(r))
    g = S.poll("ca-async", timeout=5)
    S.expect("Cancel-After: 1s on an async prediction ends canceled", g.get("status"), "canceled", str(g))

    # Client hang-up: a sync prediction whose client goes away is canceled.
    S.hang_up("POST", "/predictions", {"id": "c-hup", "input": {"mode": "sleep", "seconds": 5}}, after=1.0)
    g = S.poll("c-hup", timeout=4)
    S.expect("a sync prediction whose client hung up ends canceled", g.get("status"), "canceled", str(g))
    r = S.predict({"mode": "ok", "tag": "after-hangup"})
    S.expect("the next prediction succeeds after a hang-up", r.get("status"), "succeeded", str(r))

    # --predict-timeout: the server-wide deadline, which a Cancel-After header overrides.
    S.stop(front.proc)
    S.forget(front.proc)
    S.setup("faulty", "--predict-timeout", "1", "--cancel-grace", "1")
    r = S.predict({"mode": "sleep", "seconds": 5}, pid="pt-1", timeout=15)
    S.check("--predict-timeout 1: a 5 s prediction answers 200 canceled",
            r.status == 200 and r.get("status") == "canceled", str(r))
    S.check("--predict-timeout 1: ended within 2 s", r.elapsed < 2.0, f"took {r.elapsed:.2f} s")
    S.check("--predict-timeout: the error says the deadline passed",
            any(w in (r.get("error") or "").lower() for w in ("deadline", "timed out", "time limit", "timeout")),
            f"error {r.get('error')!r}")
    r = S.predict({"mode": "stubborn", "seconds": 10}, pid="pt-stub", timeout=15)
    S.check("--predict-timeout 1 on a stubborn model: canceled within timeout + grace + 1 s",
            r.get("status") == "canceled" and r.elapsed < 3.0, f"{r} after {r.elapsed:.2f} s")
    r = S.predict({"mode": "sleep", "seconds": 1.5}, headers={"Cancel-After": "5s"}, timeout=15)
    S.expect("a Cancel-After header wins over --predict-timeout", r.get("status"), "succeeded", str(r))
    S.finish()


if __name__ == "__main__":
    main()
