"""async_faults.py - a fault-injection loop through nginx (driver of faults.sh).

At least 100 injected faults in one run, a mix of: worker SIGKILL mid-prediction, os._exit,
segfault, cancel, cancel of a model that ignores it, sync client hang-up, Cancel-After expiry,
malformed and oversized requests; with sync and async predictions between them (a successful
one before each fault, so the crash back-off stays short). At the end: the front never
crashed (same pid, alive, health READY), no prediction was lost (every accepted id GETs 200 in
the terminal state its fault implies; every async one got exactly one terminal webhook, the
same state). It prints its counts. CF_FAULTS=N changes the number of faults (default 100).
"""

import collections
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from async_lib import CRASH_ERROR, TERMINAL, Suite  # noqa: E402

S = Suite("faults")
N_FAULTS = int(os.environ.get("CF_FAULTS", "100"))
TIME_LIMIT = float(os.environ.get("CF_FAULTS_TIME", "80"))
MAX_BODY = 1 << 20

# Weights per kind: crashes are the expensive ones (a setup and a back-off each).
KINDS = (["kill"] * 14 + ["exit"] * 13 + ["segfault"] * 13 + ["cancel"] * 12 + ["stubborn"] * 4
         + ["hangup"] * 12 + ["deadline"] * 12 + ["malformed"] * 20)


class Ledger:
    """Every accepted prediction id with the terminal state (and error) its fault implies."""

    def __init__(self):
        self.expect = {}
        self.asyncs = set()
        self.accepted = 0
        self.n = 0

    def new_id(self, kind):
        self.n += 1
        return f"f{self.n:04d}-{kind}"

    def accept(self, pid, status, error=None, is_async=False):
        self.expect[pid] = (status, error)
        self.accepted += 1
        if is_async:
            self.asyncs.add(pid)


L = Ledger()
faults = collections.Counter()
unexpected = []  # (what, request, expected, got)


def note_bad(what, request, expected, got):
    unexpected.append((what, request, expected, str(got)[:300]))


def wait_processing(pid, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if S.get_prediction(pid).get("status") == "processing":
            time.sleep(0.25)
            return True
        time.sleep(0.03)
    return False


def ok_prediction(asynch):
    pid = L.new_id("ok")
    if asynch:
        r = S.predict({"mode": "ok", "tag": pid}, pid=pid, webhook=S.receiver.url(f"/f/{pid}"), asynch=True)
        if r.status == 202:
            L.accept(pid, "succeeded", is_async=True)
        else:
            note_bad("async ok prediction", f"POST /predictions id={pid} Prefer: respond-async", "202", r)
        return pid
    r = S.predict({"mode": "ok", "tag": pid}, pid=pid, timeout=40)
    if r.status == 200:
        L.accept(pid, "succeeded")
        if r.get("status") != "succeeded":
            note_bad("sync ok prediction", f"POST /predictions id={pid} mode=ok", "succeeded", r)
    else:
        note_bad("sync ok prediction", f"POST /predictions id={pid} mode=ok", "200", r)
    return pid


def crash(kind, front, n):
    pid = L.new_id(kind)
    asynch = n % 2 == 0
    code = {"kill": -9, "exit": 3, "segfault": -11}[kind]
    mode = {"kill": "sleep", "exit": "exit", "segfault": "segfault"}[kind]
    inp = {"mode": mode, "seconds": 10 if kind == "kill" else 0}
    if kind == "kill":
        asynch = True
    if asynch:
        r = S.predict(inp, pid=pid, webhook=S.receiver.url(f"/f/{pid}"), asynch=True)
        if r.status != 202:
            note_bad(f"{kind} accepted", f"POST /predictions id={pid} {inp}", "202", r)
            return
        L.accept(pid, "failed", CRASH_ERROR.format(code), is_async=True)
        if kind == "kill":
            wait_processing(pid)
            wk = front.worker_pid()
            if wk is None:
                note_bad("worker pid", "pgrep -P front", "a cog-fcgi-worker child", front.children())
                return
            os.kill(wk, signal.SIGKILL)
        faults[kind] += 1
        return
    faults[kind] += 1
    r = S.predict(inp, pid=pid, timeout=40)
    if r.status == 200:
        L.accept(pid, "failed", CRASH_ERROR.format(code))
    else:
        note_bad(f"{kind} sync", f"POST /predictions id={pid} {inp}", "200 failed", r)


def cancel(kind):
    pid = L.new_id(kind)
    mode = "stubborn" if kind == "stubborn" else "sleep"
    r = S.predict({"mode": mode, "seconds": 10}, pid=pid, webhook=S.receiver.url(f"/f/{pid}"), asynch=True)
    if r.status != 202:
        note_bad(f"{kind} accepted", f"POST /predictions id={pid}", "202", r)
        return
    L.accept(pid, "canceled", is_async=True)
    wait_processing(pid)
    c = S.cancel(pid)
    faults[kind] += 1
    if c.status != 200:
        note_bad(f"{kind} cancel", f"POST /predictions/{pid}/cancel", "200 {}", c)
    S.poll(pid, timeout=5)


def hangup():
    pid = L.new_id("hangup")
    S.hang_up("POST", "/predictions", {"id": pid, "input": {"mode": "sleep", "seconds": 5}}, after=0.4)
    faults["hangup"] += 1
    L.accept(pid, "canceled")
    S.poll(pid, timeout=5)


def deadline(n):
    pid = L.new_id("deadline")
    hdrs = {"Cancel-After": "200ms"}
    if n % 2:
        r = S.predict({"mode": "sleep", "seconds": 3}, pid=pid, headers=hdrs, timeout=10)
        ok = r.status == 200
    else:
        r = S.predict({"mode": "sleep", "seconds": 3}, pid=pid, headers=hdrs,
                      webhook=S.receiver.url(f"/f/{pid}"), asynch=True)
        ok = r.status == 202
    faults["deadline"] += 1
    if ok:
        L.accept(pid, "canceled", is_async=n % 2 == 0)
        S.poll(pid, timeout=5)
    else:
        note_bad("deadline accepted", f"POST /predictions id={pid} Cancel-After: 200ms", "200/202", r)


def malformed(n):
    """One bad request; the server must answer it (4xx, never 5xx or no answer)."""
    variant = n % 8
    faults["malformed"] += 1
    if variant == 0:
        r, req, want = S.http("POST", "/predictions", b"{not json"), "POST /predictions body '{not json'", (400, 422)
    elif variant == 1:
        r, req, want = S.http("POST", "/predictions", b"[1, 2]"), "POST /predictions body '[1, 2]'", (400, 422)
    elif variant == 2:
        r, req, want = (S.predict({"mode": "ok", "seconds": "soon"}), "POST /predictions seconds='soon'", (422,))
    elif variant == 3:
        body = b'{"input": {"mode": "' + b"x" * (2 * MAX_BODY) + b'"}}'
        r, req, want = S.http("POST", "/predictions", body), f"POST /predictions {len(body)}-byte body (--max-body {MAX_BODY})", (413,)
    elif variant == 4:
        r = S.http("PUT", "/predictions/abc", {"id": "xyz", "input": {}})
        req, want = "PUT /predictions/abc with id xyz", (422,)
    elif variant == 5:
        long_id = "i" * 4000
        r, req, want = S.cancel(long_id), "POST /predictions/<4000 chars>/cancel", (404, 414)
    elif variant == 6:
        # Half a body, then the client goes away.
        import socket
        s = socket.create_connection((S.base_host, S.base_port), timeout=3)
        s.sendall(b"POST /predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{\"input\": {")
        s.close()
        return
    else:
        line = S.raw(b"\x00\x01GARBAGE / HTTP/9.9\r\n\r\n")
        if not line.startswith("HTTP/1.1 400"):
            note_bad("garbage request line", "raw bytes \\x00\\x01GARBAGE", "HTTP/1.1 400", line)
        return
    if r.status not in want:
        note_bad("malformed request", req, f"HTTP {want}", r)


def main():
    S.start_receiver()
    front = S.setup("faulty", "--cancel-grace", "1", "--queue", "64", "--max-body", str(MAX_BODY))
    front_pid = front.pid
    rng = random.Random(7)
    plan = []
    while len(plan) < N_FAULTS:
        chunk = list(KINDS)
        rng.shuffle(chunk)
        plan += chunk
    plan = plan[:N_FAULTS]
    t0 = time.monotonic()
    for i, kind in enumerate(plan):
        if time.monotonic() - t0 > TIME_LIMIT:
            S.note(f"time limit {TIME_LIMIT} s reached after {i} faults")
            break
        ok_prediction(asynch=False)  # worker up and idle, back-off reset
        if i % 3 == 0:
            ok_prediction(asynch=True)
            S.poll(f"f{L.n:04d}-ok", timeout=5)
        if kind in ("kill", "exit", "segfault"):
            crash(kind, front, i)
        elif kind in ("cancel", "stubborn"):
            cancel(kind)
        elif kind == "hangup":
            hangup()
        elif kind == "deadline":
            deadline(i)
        else:
            malformed(i)
    ok_prediction(asynch=False)
    loop_time = time.monotonic() - t0

    # Everything accepted must be terminal (wait, bounded, for the last ones).
    end = time.monotonic() + 20
    final = {}
    pending = list(L.expect)
    while pending and time.monotonic() < end:
        still = []
        for pid in pending:
            g = S.get_prediction(pid)
            if g.status == 200 and g.get("status") in TERMINAL:
                final[pid] = g
            else:
                final[pid] = g
                still.append(pid)
        pending = still
        if pending:
            time.sleep(0.2)
    time.sleep(0.5)  # last webhooks

    states = collections.Counter()
    lost, wrong = [], []
    for pid, (want, err) in L.expect.items():
        g = final[pid]
        st = g.get("status") if g.status == 200 else f"HTTP {g.status}"
        states[st] += 1
        if g.status != 200 or st not in TERMINAL:
            lost.append(f"{pid}: GET /predictions/{pid} -> {g}")
        elif st != want or (err and g.get("error") != err):
            wrong.append(f"{pid}: expected {want}{' ' + repr(err) if err else ''}, got {st} {g.get('error')!r}")
    hook_bad = []
    for pid in sorted(L.asyncs):
        hooks = S.receiver.got(f"/f/{pid}")
        term = [h for h in hooks if h.terminal and h.answered == 200]
        if len(term) != 1:
            hook_bad.append(f"{pid}: {len(term)} terminal webhooks (statuses {[h.status for h in hooks]})")
        elif final[pid].status == 200 and term[0].status != final[pid].get("status"):
            hook_bad.append(f"{pid}: webhook says {term[0].status}, GET says {final[pid].get('status')}")

    total = sum(faults.values())
    print(f"     faults injected: {total} in {loop_time:.1f} s: "
          + ", ".join(f"{k} {faults[k]}" for k in sorted(faults)), flush=True)
    print(f"     predictions accepted: {L.accepted} ({len(L.asyncs)} async, {L.accepted - len(L.asyncs)} sync)",
          flush=True)
    print("     terminal states: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())), flush=True)

    S.check(f"at least {N_FAULTS} faults injected", total >= N_FAULTS, f"only {total}")
    S.check("the front never crashed (same pid, alive)", front.alive() and front.pid == front_pid,
            f"front {front_pid} alive={front.alive()}; log: {front.log_tail()}")
    S.expect("health READY at the end", S.wait_health(("READY",), 10), "READY")
    S.check("zero lost predictions (every accepted id GETs 200 terminal)", not lost,
            f"{len(lost)} lost: " + "; ".join(lost[:5]))
    S.check("every prediction ended as its fault implies", not wrong,
            f"{len(wrong)} wrong: " + "; ".join(wrong[:5]))
    S.check("every async prediction got exactly one terminal webhook, same state as GET", not hook_bad,
            f"{len(hook_bad)} bad: " + "; ".join(hook_bad[:5]))
    S.check("every request was answered as expected", not unexpected,
            f"{len(unexpected)} unexpected: " + "; ".join(f"{w}: {q} expected {e}, got {g}" for w, q, e, g in unexpected[:5]))
    S.finish()


if __name__ == "__main__":
    main()
