#!/usr/bin/python3
"""stream_client.py - event-stream clients and scenarios for the streaming tests (stdlib only).

Two readers of server-sent events:
  * CogReader: Cog 0.22's stream (event + data lines, comments kept), as `curl -N` shows it.
  * ReplicateDecoder: written to the documented behaviour of the replicate Python library's
    stream parser (replicate/stream.py, EventSource.Decoder): an event is dispatched at a blank
    line only when it has both an `event:` and an `id:`; the event name must be one of output,
    logs, error, done (anything else is an error in that library); multi-line data is joined
    with "\\n"; a leading space after the colon is dropped; lines starting with ":" are
    comments; `error` raises; `done` ends the stream. The client sends
    Accept: text/event-stream and Cache-Control: no-store, as the library does.

Scenarios take a checker (anything with check(name, cond, detail="")), the host and port of
the web server, and print nothing themselves. Run one from a shell suite:

    stream_client.py SCENARIO HOST PORT [LABEL]

prints one "PASS name" / "FAIL name: detail" line per check and exits non-zero on a failure.
SCENARIO is latency, replicate, reattach, cancel-disconnect.
"""
import http.client
import json
import socket
import sys
import threading
import time

TERMINAL = ("succeeded", "failed", "canceled")


class Printer:
    """A checker for the command line: PASS/FAIL lines."""

    def __init__(self):
        self.failed = 0

    def check(self, name, cond, detail=""):
        if cond:
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}{': ' + str(detail) if detail else ''}", flush=True)
        return bool(cond)


class Held:
    """A checker that keeps the results, to be passed on (or dropped for a retry)."""

    def __init__(self):
        self.results = []

    def check(self, name, cond, detail=""):
        self.results.append((name, bool(cond), detail))
        return bool(cond)


def short(v, n=300):
    s = v if isinstance(v, str) else json.dumps(v)
    return s if len(s) <= n else s[:n] + "..."


# ---- HTTP ------------------------------------------------------------------------------------

def request(host, port, method, path, body=None, headers=None, timeout=30.0):
    """One request; returns (status, headers dict lowercased, parsed JSON or text)."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    except (OSError, http.client.HTTPException) as exc:
        return 0, {}, f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


class Stream:
    """An open event-stream response: lines as they arrive, each with its arrival time."""

    def __init__(self, host, port, method, path, body=None, headers=None, timeout=30.0):
        hdrs = {"Accept": "text/event-stream"}
        hdrs.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.conn.request(method, path, body=data, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}

    def lines(self):
        """Yields (line without its end, time.time() when it arrived) until the body ends."""
        while True:
            try:
                raw = self.resp.readline()
            except (OSError, http.client.HTTPException):
                return
            if not raw:
                return
            yield raw.decode("utf-8").rstrip("\r\n"), time.time()

    def close(self):
        """Hangs up at once, as a client that goes away."""
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()


class CogReader:
    """Cog 0.22's events from a Stream: (name, data JSON, arrival time); comments counted."""

    def __init__(self, stream):
        self.stream = stream
        self.comments = []

    def __iter__(self):
        name, data, t_first = None, [], None
        for line, t in self.stream.lines():
            if line.startswith(":"):
                self.comments.append(line)
                continue
            if line == "":
                if name is not None:
                    yield name, json.loads("\n".join(data)), t_first
                name, data, t_first = None, [], None
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if t_first is None:
                t_first = t
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "id":
                raise ValueError("Cog's stream has no id: lines")


class ReplicateDecoder:
    """The replicate Python library's stream decoder, from its documented behaviour."""

    TYPES = ("output", "logs", "error", "done")

    def __init__(self):
        self.event = None
        self.data = []
        self.last_event_id = None
        self.retry = None

    def decode(self, line):
        if not line:
            if self.event is None or self.last_event_id is None:
                return None
            sse = {"event": self.event, "data": "\n".join(self.data), "id": self.last_event_id}
            self.event = None
            self.data = []
            self.retry = None
            return sse
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            if value not in self.TYPES:
                raise ValueError(f"{value!r} is not a ServerSentEvent.EventType")
            self.event = value
        elif field == "data":
            self.data.append(value)
        elif field == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif field == "retry":
            try:
                self.retry = int(value)
            except ValueError:
                pass
        return None


def replicate_events(stream):
    """Iterates a Replicate stream as the library does: raises on error, stops after done."""
    if stream.headers.get("content-type", "").partition(";")[0] != "text/event-stream":
        raise ValueError(f"content-type {stream.headers.get('content-type')!r}")
    decoder = ReplicateDecoder()
    for line, _t in stream.lines():
        sse = decoder.decode(line)
        if sse is None:
            continue
        if sse["event"] == "error":
            raise RuntimeError(sse["data"])
        yield sse
        if sse["event"] == "done":
            return


def poll(host, port, pid, timeout=15.0, until=TERMINAL):
    end = time.monotonic() + timeout
    body = None
    while time.monotonic() < end:
        status, _h, body = request(host, port, "GET", f"/predictions/{pid}")
        if status == 200 and isinstance(body, dict) and body.get("status") in until:
            return body
        time.sleep(0.05)
    return body


def wait_outputs(host, port, pid, count, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status, _h, body = request(host, port, "GET", f"/predictions/{pid}")
        if status == 200 and isinstance(body, dict) and len(body.get("output") or []) >= count:
            return True
        time.sleep(0.02)
    return False


# ---- scenarios ---------------------------------------------------------------------------

def latency(c, host, port, label="", n=10, delay=0.2, bound=0.05):
    """A generator yielding every 200 ms, read as it streams: each chunk within 50 ms."""
    s = Stream(host, port, "POST", "/predictions", {"input": {"n": n, "delay": delay}})
    c.check(f"{label}SSE answers 200", s.status == 200, s.status)
    c.check(f"{label}Content-Type text/event-stream",
            s.headers.get("content-type", "").startswith("text/event-stream"), s.headers)
    events = list(CogReader(s))
    s.close()
    names = [e[0] for e in events]
    c.check(f"{label}events: start, {n} outputs, completed",
            names == ["start"] + ["output"] * n + ["completed"], names)
    outs = [e for e in events if e[0] == "output"]
    c.check(f"{label}output events carry chunk and index 0..{n - 1}",
            [e[1].get("index") for e in outs] == list(range(n)), [e[1] for e in outs][:3])
    lags = []
    for _name, data, t in outs:
        chunk = data.get("chunk", "")
        lags.append(t - float(chunk.split("@")[1]))
    worst = max(lags) if lags else None
    c.check(f"{label}each event arrives within {int(bound * 1000)} ms of its yield "
            f"(worst {worst * 1000 if worst is not None else 0:.1f} ms)",
            lags and worst < bound, [round(x * 1000, 1) for x in lags])
    if events and events[-1][0] == "completed":
        final = events[-1][1]
        c.check(f"{label}completed is the final prediction",
                final.get("status") == "succeeded" and final.get("output") == [e[1]["chunk"] for e in outs],
                short(final))
    return lags


def replicate(c, host, port, label=""):
    """Replicate's urls and stream, read by the library's parser; Last-Event-ID resumes."""
    status, _h, body = request(host, port, "POST", "/predictions",
                               {"input": {"n": 6, "delay": 0.2, "mode": "log"}, "stream": True},
                               {"Prefer": "respond-async"})
    urls = body.get("urls") if isinstance(body, dict) else None
    c.check(f"{label}202 with urls get, cancel, stream",
            status == 202 and isinstance(urls, dict) and set(urls) == {"get", "cancel", "stream"},
            short(body))
    if not isinstance(urls, dict):
        return
    pid = body["id"]
    c.check(f"{label}urls are absolute and point at this server",
            urls["get"] == f"http://{host}:{port}/predictions/{pid}"
            and urls["stream"] == urls["get"] + "/stream" and urls["cancel"] == urls["get"] + "/cancel",
            urls)
    path = urls["stream"].split(f":{port}", 1)[1]
    hdrs = {"Cache-Control": "no-store"}
    s = Stream(host, port, "GET", path, headers=hdrs)
    seen, last = [], None
    try:
        for sse in replicate_events(s):
            seen.append(sse)
            last = sse["id"]
            if sum(1 for e in seen if e["event"] == "output") == 3:
                break
    except (ValueError, RuntimeError) as exc:
        c.check(f"{label}the replicate parser reads the stream", False, exc)
        return
    s.close()
    c.check(f"{label}every event has an id", all(e["id"] for e in seen), seen)
    s = Stream(host, port, "GET", path, headers=dict(hdrs, **{"Last-Event-ID": last}))
    try:
        rest = list(replicate_events(s))
    except (ValueError, RuntimeError) as exc:
        c.check(f"{label}the replicate parser reads the resumed stream", False, exc)
        return
    s.close()
    every = seen + rest
    outs = [e["data"] for e in every if e["event"] == "output"]
    final = poll(host, port, pid)
    c.check(f"{label}Last-Event-ID resumes: every output once, in order",
            isinstance(final, dict) and outs == final.get("output"), f"{outs} vs {short(final)}")
    logs = "".join(e["data"] for e in every if e["event"] == "logs")
    c.check(f"{label}logs events carry the log text",
            isinstance(final, dict) and logs == final.get("logs"), repr(logs))
    c.check(f"{label}the stream ends with done {{}}",
            bool(rest) and rest[-1]["event"] == "done" and json.loads(rest[-1]["data"]) == {},
            rest[-1:] if rest else rest)
    ids = [int(e["id"]) for e in every]
    c.check(f"{label}event ids increase", ids == sorted(set(ids)) or ids == sorted(ids), ids)
    # a stream of a failed prediction: error (the library raises with it)
    status, _h, body = request(host, port, "POST", "/predictions",
                               {"input": {"n": 1, "delay": 0, "mode": "fail"}, "stream": True},
                               {"Prefer": "respond-async"})
    pid = body.get("id") if isinstance(body, dict) else None
    poll(host, port, pid)
    s = Stream(host, port, "GET", f"/predictions/{pid}/stream", headers=hdrs)
    try:
        list(replicate_events(s))
        raised = None
    except RuntimeError as exc:
        raised = str(exc)
    s.close()
    c.check(f"{label}a failed prediction's stream gives error {{\"detail\"}}",
            raised is not None and json.loads(raised).get("detail") == "failed on purpose", raised)


def reattach(c, host, port, label="", pid="reattach-1"):
    """PUT of a running id with Accept: text/event-stream replays the history, then goes on."""
    status, _h, body = request(host, port, "PUT", f"/predictions/{pid}",
                               {"input": {"n": 8, "delay": 0.2}}, {"Prefer": "respond-async"})
    c.check(f"{label}PUT async 202", status == 202, status)
    c.check(f"{label}3 outputs before re-attaching", wait_outputs(host, port, pid, 3))
    s = Stream(host, port, "PUT", f"/predictions/{pid}", {"input": {"n": 8, "delay": 0.2}})
    events = list(CogReader(s))
    s.close()
    names = [e[0] for e in events]
    c.check(f"{label}re-attach replays start and every output, then completed",
            names == ["start"] + ["output"] * 8 + ["completed"], names)
    idx = [e[1]["index"] for e in events if e[0] == "output"]
    c.check(f"{label}replayed and live outputs are indexed 0..7", idx == list(range(8)), idx)
    if events:
        c.check(f"{label}completed says succeeded", events[-1][1].get("status") == "succeeded",
                short(events[-1][1]))


def truncated(c, host, port, capacity, label=""):
    """A re-attach with more history than COG_STREAM_HISTORY_CAPACITY: one error event, end."""
    pid = "truncated-1"
    request(host, port, "PUT", f"/predictions/{pid}", {"input": {"n": 400, "delay": 0.02}},
            {"Prefer": "respond-async"})
    c.check(f"{label}more outputs than the history holds", wait_outputs(host, port, pid, capacity + 2))
    s = Stream(host, port, "PUT", f"/predictions/{pid}", {"input": {"n": 400, "delay": 0.02}})
    events = list(CogReader(s))
    s.close()
    ok = (len(events) == 1 and events[0][0] == "error"
          and events[0][1].get("error") == "SSE stream replay truncated; events were dropped"
          and events[0][1].get("skipped", 0) > 0)
    c.check(f"{label}truncated replay: one error event, then the stream ends", ok,
            [(e[0], e[1]) for e in events[:3]])
    request(host, port, "POST", f"/predictions/{pid}/cancel")


def cancel_disconnect(c, host, port, label=""):
    """A prediction created by a stream is canceled when its only subscriber hangs up."""
    s = Stream(host, port, "POST", "/predictions", {"input": {"n": 50, "delay": 0.2}})
    pid, outs = None, 0
    for name, data, _t in CogReader(s):
        if name == "start":
            pid = data.get("id")
        if name == "output":
            outs += 1
            if outs == 2:
                break
    s.close()
    c.check(f"{label}the stream started (id {pid})", pid is not None)
    final = poll(host, port, pid, timeout=10)
    c.check(f"{label}hanging up cancels the prediction",
            isinstance(final, dict) and final.get("status") == "canceled", short(final))


def keepalive(c, host, port, label=""):
    """Nothing to say for longer than the keep-alive interval: a ': keep-alive' comment."""
    s = Stream(host, port, "POST", "/predictions", {"input": {"n": 1, "delay": 1.5}})
    r = CogReader(s)
    names = [e[0] for e in r]
    s.close()
    c.check(f"{label}': keep-alive' while the model is quiet", ": keep-alive" in r.comments,
            r.comments)
    c.check(f"{label}and the events still come", names == ["start", "output", "completed"], names)


def grow(c, host, port, receiver_url=None, hooks=None, label=""):
    """Iterator outputs grow in polls (and webhooks) as the items arrive."""
    body = {"input": {"n": 5, "delay": 0.3}}
    if receiver_url:
        body["webhook"] = receiver_url
    status, _h, b = request(host, port, "POST", "/predictions", body, {"Prefer": "respond-async"})
    pid = b.get("id") if isinstance(b, dict) else None
    sizes = []
    end = time.monotonic() + 10
    while time.monotonic() < end:
        st, _h, got = request(host, port, "GET", f"/predictions/{pid}")
        if st == 200 and isinstance(got, dict):
            n = len(got.get("output") or [])
            if not sizes or sizes[-1] != n:
                sizes.append(n)
            if got.get("status") in TERMINAL:
                break
        time.sleep(0.03)
    c.check(f"{label}a poll shows the output growing one item at a time",
            [s for s in sizes if s > 0] == [1, 2, 3, 4, 5], sizes)
    if hooks is not None:
        end = time.monotonic() + 5
        while time.monotonic() < end and not any(h.get("status") in TERMINAL for h in hooks()):
            time.sleep(0.05)
        lens = [len(h.get("output") or []) for h in hooks()]
        partial = sorted(set(n for n in lens if 0 < n < 5))
        c.check(f"{label}webhooks carry the output as it grows",
                len(partial) >= 2 and lens == sorted(lens) and lens and lens[-1] == 5, lens)


def non_iterator(c, host, port, label=""):
    """A predictor that returns (no iterator) streams start, then completed."""
    s = Stream(host, port, "POST", "/predictions", {"input": {"seconds": 0.3}},
               {"Prefer": "respond-async"})
    events = list(CogReader(s))
    s.close()
    names = [e[0] for e in events]
    c.check(f"{label}SSE wins over Prefer: respond-async (200 stream)", s.status == 200, s.status)
    c.check(f"{label}non-iterator: start, completed", names == ["start", "completed"], names)
    if events:
        c.check(f"{label}completed carries the output",
                events[-1][1].get("output") == "slept 0.3", short(events[-1][1]))


def prefer_wait(c, host, port, label=""):
    """Prefer: wait=1 on a 3 s model answers the running prediction and its urls."""
    t0 = time.monotonic()
    status, h, body = request(host, port, "POST", "/predictions", {"input": {"seconds": 3}},
                              {"Prefer": "wait=1"})
    took = time.monotonic() - t0
    urls = body.get("urls") if isinstance(body, dict) else None
    c.check(f"{label}Prefer: wait=1 answers after ~1 s ({took:.2f} s)", 0.9 <= took < 2.0, took)
    c.check(f"{label}the prediction is still running",
            status == 201 and isinstance(body, dict) and body.get("status") in ("starting", "processing"),
            f"{status} {short(body)}")
    c.check(f"{label}with its urls and a Location at urls.get",
            isinstance(urls, dict) and h.get("location") == urls.get("get"), f"{h} {urls}")
    if isinstance(body, dict):
        final = poll(host, port, body["id"], timeout=10)
        c.check(f"{label}it runs on to the end",
                isinstance(final, dict) and final.get("status") == "succeeded", short(final))
    status, h, body = request(host, port, "POST", "/predictions", {"input": {"seconds": 0.3}},
                              {"Prefer": "wait"})
    c.check(f"{label}Prefer: wait on a short prediction answers it finished",
            status == 201 and isinstance(body, dict) and body.get("status") == "succeeded"
            and body.get("output") == "slept 0.3", f"{status} {short(body)}")
    t0 = time.monotonic()
    status, h, body = request(host, port, "POST", "/predictions", {"input": {"seconds": 5}},
                              {"Prefer": "wait=10", "Cancel-After": "1s"})
    took = time.monotonic() - t0
    c.check(f"{label}Prefer: wait with Cancel-After: 1s ends canceled within the wait ({took:.2f} s)",
            isinstance(body, dict) and body.get("status") == "canceled" and took < 4, short(body))


SCENARIOS = {"latency": latency, "replicate": replicate, "reattach": reattach,
             "cancel-disconnect": cancel_disconnect}


def main(argv):
    if len(argv) < 4 or argv[1] not in SCENARIOS:
        print(__doc__, file=sys.stderr)
        return 2
    c = Printer()
    label = argv[4] + ": " if len(argv) > 4 else ""
    try:
        if argv[1] == "latency":
            # a miss of the time bound alone (a loaded machine) is tried once more
            held = Held()
            latency(held, argv[2], int(argv[3]), label=label)
            failed = [r for r in held.results if not r[1]]
            if failed and all("arrives within" in r[0] for r in failed):
                print(f"     over the time bound once ({short(failed[0][2])}): trying again")
                held = Held()
                latency(held, argv[2], int(argv[3]), label=label + "retry: ")
            for name, ok, detail in held.results:
                c.check(name, ok, detail)
        else:
            SCENARIOS[argv[1]](c, argv[2], int(argv[3]), label=label)
    except Exception as exc:  # a scenario that breaks is one failure, with the reason
        c.check(f"{label}{argv[1]} ran", False, f"{type(exc).__name__}: {exc}")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
