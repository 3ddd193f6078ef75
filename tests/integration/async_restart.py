"""async_restart.py - durable state across kill -9 (driver of async-restart.sh).

50 async predictions are accepted (each with a webhook); prediction 10 takes 5 s, the others
0.1 s. Once 0..9 have run and 10 is running, every cog-fcgi process (front and worker) is
killed with SIGKILL; a new front starts with the same --state-dir behind the same nginx. A
user then finds all 50 by polling and by webhooks: 0..9 still pollable as succeeded and not
run again, 10 `failed` with an error saying it was interrupted (and its completed webhook
sent), 11..49 run after the restart and succeed; none lost, none run twice (the model appends
each id it finishes to $COG_TEST_RUNS_DIR/runs).
"""

import collections
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from async_lib import TERMINAL, Suite  # noqa: E402

S = Suite("async-restart")
N = 50
LONG = 10


def pid_of(i):
    return f"r{i:02d}"


def runs(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def kill9_all(front):
    """SIGKILL the front and its worker at once, and reap the front."""
    kids = front.children()
    for p in [front.pid] + kids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    try:
        front.proc.wait(timeout=5)
    except Exception:
        pass
    S.forget(front.proc)
    return kids


def main():
    rc = S.start_receiver()
    runs_dir = os.path.join(S.tmp, "runs")
    os.makedirs(runs_dir)
    runs_file = os.path.join(runs_dir, "runs")
    state = os.path.join(S.tmp, "durable-state")
    env = {"COG_TEST_RUNS_DIR": runs_dir}
    flags = ("--queue", "64", "--state-dir", state)
    S.need_binary()
    front = S.start_front("faulty", *flags, env=env, state_dir=state)
    if front is None:
        S.abort("cog-fcgi starts with --state-dir", "see its log above (durable state not available?)")
    if not S.start_nginx(front.sock):
        S.abort("nginx starts")
    if not S.wait_ready(30):
        S.abort("model becomes READY", f"health {S.health()}")

    accepted = 0
    for i in range(N):
        secs = 5 if i == LONG else 0.1
        r = S.predict({"mode": "sleep", "seconds": secs, "tag": pid_of(i)}, pid=pid_of(i),
                      webhook=rc.url(f"/r/{pid_of(i)}"), asynch=True)
        if r.status == 202:
            accepted += 1
        else:
            S.bad(f"async prediction {pid_of(i)} accepted", f"expected 202, got {r}")
    S.expect("50 async predictions accepted (202)", accepted, N)

    # Wait (bounded) until 0..9 have run and 10 is in its 5 s sleep.
    end = time.monotonic() + 20
    while len(runs(runs_file)) < LONG and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.7)
    before = runs(runs_file)
    S.expect("before the kill: exactly predictions 0..9 have run", before, [pid_of(i) for i in range(LONG)])
    g = S.get_prediction(pid_of(LONG))
    S.expect(f"before the kill: {pid_of(LONG)} is processing", g.get("status"), "processing", str(g))
    kids = kill9_all(front)
    S.check("kill -9 hit the front and its worker", len(kids) >= 1, f"children of the front: {kids}")
    time.sleep(0.3)
    S.check("no cog-fcgi process survives the kill",
            all(not os.path.exists(f"/proc/{k}") or open(f"/proc/{k}/stat").read().split()[2] == "Z" for k in kids),
            f"still there: {[k for k in kids if os.path.exists(f'/proc/{k}')]}")
    hooks_before = {pid_of(i): len(rc.got(f"/r/{pid_of(i)}")) for i in range(N)}

    front = S.start_front("faulty", *flags, env=env, state_dir=state)
    if front is None:
        S.abort("cog-fcgi restarts with the same --state-dir")
    S.ok("cog-fcgi restarts with the same --state-dir")

    # Poll all 50 until terminal (bounded): 39 x 0.1 s to run, plus setup.
    final = {}
    end = time.monotonic() + 30
    pending = [pid_of(i) for i in range(N)]
    while pending and time.monotonic() < end:
        still = []
        for p in pending:
            g = S.get_prediction(p)
            final[p] = g
            if not (g.status == 200 and g.get("status") in TERMINAL):
                still.append(p)
        pending = still
        if pending:
            time.sleep(0.2)
    lost = [f"{p}: {final.get(p)}" for p in pending]
    S.check("all 50 are pollable and terminal after the restart", not lost,
            f"{len(lost)} not: " + "; ".join(lost[:5]))

    done_before = [pid_of(i) for i in range(LONG)]
    bad = [f"{p}: {final[p]}" for p in done_before
           if p in final and (final[p].get("status"), final[p].get("output")) != ("succeeded", f"sleep {p}")]
    S.check("predictions finished before the kill stay pollable as succeeded", not bad, "; ".join(bad[:5]))
    g = final.get(pid_of(LONG))
    err = (g.get("error") if g else None) or ""
    S.check(f"the running one ({pid_of(LONG)}) ends failed, its error saying it was interrupted",
            g is not None and g.get("status") == "failed" and "interrupt" in err.lower(), str(g))
    after = [pid_of(i) for i in range(LONG + 1, N)]
    bad = [f"{p}: {final[p]}" for p in after
           if p in final and (final[p].get("status"), final[p].get("output")) != ("succeeded", f"sleep {p}")]
    S.check("the queued ones ran after the restart and succeeded", not bad,
            f"{len(bad)} did not: " + "; ".join(bad[:5]))

    time.sleep(1.0)  # last webhooks
    ran = collections.Counter(runs(runs_file))
    twice = {p: n for p, n in ran.items() if n > 1}
    S.check("no prediction ran twice", not twice, f"ran more than once: {twice}")
    S.check(f"the interrupted one ({pid_of(LONG)}) was not run again", ran.get(pid_of(LONG), 0) == 0,
            f"ran {ran.get(pid_of(LONG), 0)} times")
    S.expect("every other prediction ran exactly once", sorted(p for p in ran if ran[p] == 1),
             sorted(pid_of(i) for i in range(N) if i != LONG))

    missing, dup, mismatch = [], [], []
    for i in range(N):
        p = pid_of(i)
        hooks = rc.got(f"/r/{p}")
        term = [h for h in hooks if h.terminal and h.answered == 200]
        if not term:
            missing.append(p)
            continue
        if len(term) > 1:
            dup.append(f"{p} x{len(term)}")
        if p in final and term[-1].status != final[p].get("status"):
            mismatch.append(f"{p}: webhook {term[-1].status}, GET {final[p].get('status')}")
    S.check("every one of the 50 got a terminal webhook", not missing, f"none for {missing}")
    S.check("terminal webhooks agree with GET", not mismatch, "; ".join(mismatch[:5]))
    S.check("no prediction got two terminal webhooks", not dup, f"duplicates: {dup}")
    g = rc.got(f"/r/{pid_of(LONG)}")
    S.check("the interrupted one's completed webhook was sent after the restart",
            any(h.terminal for h in g[hooks_before[pid_of(LONG)]:]),
            f"deliveries {[h.body for h in g]}")
    S.expect("health READY after the restart", S.wait_health(("READY",), 10), "READY")
    S.finish()


if __name__ == "__main__":
    main()
