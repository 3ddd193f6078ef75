"""webhook_receivers.py - webhooks to slow, dead and healthy receivers, signed (driver of webhook-receivers.sh).

What a user checks:
- three predictions aimed at a receiver that accepts connections and never answers do not hold
  back the `completed` webhooks of three others aimed at a healthy receiver (printed: how long
  after its submission each healthy `completed` arrived);
- a receiver that answers 200 after 12 s gets each `completed` exactly once with the default
  --webhook-timeout (no failed attempt in the front's log);
- with --webhook-secret every delivery carries webhook-id, webhook-timestamp and
  webhook-signature, and the receiver verifies the signature the Standard Webhooks way
  (HMAC-SHA256 of "id.timestamp.body" keyed with the base64-decoded secret);
- --webhook-timeout is obeyed: at 1 s, the 12 s receiver's terminal webhook is retried.
"""

import base64
import hashlib
import hmac
import io
import http.server
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from async_lib import Receiver, Suite  # noqa: E402

S = Suite("webhook-receivers")
KEY = os.urandom(24)
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SLOW_SECONDS = 12


class DeadReceiver:
    """Accepts connections on 127.0.0.1 and never answers (nor closes them)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class SlowReceiver:
    """Answers every POST with 200 after `delay` seconds; records when each one arrived."""

    def __init__(self, delay):
        self.lock = threading.Lock()
        self.arrivals = []  # (path, status, monotonic)
        slow = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                with slow.lock:
                    slow.arrivals.append((self.path, body.get("status"), time.monotonic()))
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def terminal(self, path):
        with self.lock:
            return [a for a in self.arrivals if a[0] == path and a[1] in ("succeeded", "failed", "canceled")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify(hook, key):
    """Standard Webhooks verification, as a receiver written from the spec does it."""
    mid = hook.headers.get("webhook-id")
    ts = hook.headers.get("webhook-timestamp")
    sig = hook.headers.get("webhook-signature") or ""
    if not mid or not ts or not ts.isdigit():
        return False
    raw = hook.raw
    expected = base64.b64encode(hmac.new(key, f"{mid}.{ts}.".encode() + raw, hashlib.sha256).digest()).decode()
    return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected) for part in sig.split(" "))


class RawReceiver(Receiver):
    """async_lib's receiver, keeping each delivery's raw bytes (signatures cover the bytes)."""

    def __init__(self):
        super().__init__()
        self.raws = {}
        handler = self.server.RequestHandlerClass
        receiver = self
        orig = handler.do_POST

        def do_POST(h):
            n = int(h.headers.get("Content-Length") or 0)
            raw = h.rfile.read(n) if n else b""
            with receiver.lock:
                receiver.raws.setdefault(h.path, []).append(raw)
            h.rfile = io.BytesIO(raw)
            orig(h)

        handler.do_POST = do_POST

    def got(self, path):
        hooks = super().got(path)
        with self.lock:
            raws = list(self.raws.get(path, []))
        for h, r in zip(hooks, raws):
            h.raw = r
        return hooks


def main():
    dead = DeadReceiver()
    slow = SlowReceiver(SLOW_SECONDS)
    healthy = RawReceiver()
    S.receiver = healthy
    front = S.setup("noop", "--webhook-secret", SECRET)

    # 3 at the dead receiver first, then 3 at the healthy one, then 2 at the 12 s one.
    for i in range(3):
        r = S.predict({}, webhook=dead.url(f"/dead/{i}"), asynch=True)
        S.expect(f"prediction {i} for the dead receiver is accepted", r.status, 202)
    sent = {}
    for i in range(3):
        sent[i] = time.monotonic()
        r = S.predict({}, webhook=healthy.url(f"/ok/{i}"), asynch=True)
        S.expect(f"prediction {i} for the healthy receiver is accepted", r.status, 202)
    slow_sent = time.monotonic()
    for i in range(2):
        r = S.predict({}, webhook=slow.url(f"/slow/{i}"), events=["completed"], asynch=True)
        S.expect(f"prediction {i} for the 12 s receiver is accepted", r.status, 202)

    took = []
    for i in range(3):
        hooks = healthy.wait_terminal(f"/ok/{i}", timeout=10)
        term = [h for h in hooks if h.terminal]
        took.append(term[0].t - sent[i] if term else None)
        S.expect(f"healthy receiver: prediction {i} gets one completed webhook", len(term), 1)
    late = [t for t in took if t is None or t > 5.0]
    S.check("healthy receiver: every completed webhook within 5 s while the dead one hangs", not late,
            f"seconds after submission: {took}")
    S.note("healthy receiver's completed webhooks arrived "
           + ", ".join("never" if t is None else f"{t:.2f} s" for t in took)
           + " after submission (the dead receiver holds its connections open)")

    # Signatures: every delivery to the healthy receiver verifies; a wrong key does not.
    all_hooks = [h for i in range(3) for h in healthy.got(f"/ok/{i}")]
    S.check("signed: every delivery has webhook-id, webhook-timestamp, webhook-signature",
            all_hooks and all(h.headers.get("webhook-id") and h.headers.get("webhook-timestamp")
                              and h.headers.get("webhook-signature") for h in all_hooks),
            f"headers: {[h.headers for h in all_hooks][:2]}")
    S.check("signed: the receiver verifies every signature with the secret",
            all_hooks and all(verify(h, KEY) for h in all_hooks),
            f"signatures: {[h.headers.get('webhook-signature') for h in all_hooks]}")
    S.check("signed: a wrong key does not verify", not any(verify(h, os.urandom(24)) for h in all_hooks))
    ids = [h.headers.get("webhook-id") for h in all_hooks]
    S.check("signed: webhook-id is msg_ + hex and differs between messages",
            all(re.fullmatch(r"msg_[0-9a-f]{32}", i or "") for i in ids) and len(set(ids)) == len(ids),
            f"ids: {ids}")
    now = time.time()
    S.check("signed: webhook-timestamp is the current Unix time",
            all(abs(int(h.headers["webhook-timestamp"]) - now) < 60 for h in all_hooks))

    # The 12 s receiver: each completed arrives once, is answered, and is not retried.
    end = slow_sent + SLOW_SECONDS + 8
    while time.monotonic() < end and not all(slow.terminal(f"/slow/{i}") for i in range(2)):
        time.sleep(0.1)
    time.sleep(SLOW_SECONDS + 1 - min(SLOW_SECONDS, time.monotonic() - slow_sent))
    counts = [len(slow.terminal(f"/slow/{i}")) for i in range(2)]
    S.expect("12 s receiver: each completed webhook arrives exactly once", counts, [1, 1])
    with open(front.log, encoding="utf-8", errors="replace") as f:
        failed = [line for line in f if str(slow.port) in line and ("CF0801" in line or "CF0802" in line)]
    S.check("12 s receiver: no attempt counted as failed with the default --webhook-timeout", not failed,
            "".join(failed[:3]))
    arrivals = sorted(a[2] - slow_sent for a in slow.arrivals)
    S.note("12 s receiver: completed webhooks arrived "
           + ", ".join(f"{t:.1f} s" for t in arrivals) + " after submission (answered 12 s later)")

    S.check("the dead receiver was connected to", len(dead.conns) >= 1, f"{len(dead.conns)} connections")

    # --webhook-timeout 1s: the same 12 s receiver times out and is retried.
    S.stop(front.proc, grace=5)
    fast = S.start_front("noop", "--webhook-timeout", "1s", "--webhook-workers", "2")
    if fast is None:
        S.abort("cog-fcgi starts with --webhook-timeout 1s")
    S.wait_ready()
    t0 = time.monotonic()
    S.predict({}, webhook=slow.url("/short"), events=["completed"], asynch=True)
    while time.monotonic() < t0 + 8 and len(slow.terminal("/short")) < 2:
        time.sleep(0.1)
    S.check("--webhook-timeout 1s: the 12 s receiver's completed webhook is retried after ~1 s",
            len(slow.terminal("/short")) >= 2, f"{len(slow.terminal('/short'))} deliveries in 8 s")
    with open(fast.log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    S.check("--webhook-timeout 1s: the front logs the timed-out attempt (CF0801)", "CF0801" in log,
            fast.log_tail())
    S.predict({}, webhook=healthy.url("/plain"), asynch=True)
    plain = healthy.wait_terminal("/plain", timeout=10)
    S.check("unsigned without --webhook-secret",
            plain and not any("webhook-signature" in h.headers or "webhook-id" in h.headers for h in plain),
            f"headers: {[h.headers for h in plain][:1]}")
    dead.close()
    slow.close()
    S.finish()


if __name__ == "__main__":
    main()
