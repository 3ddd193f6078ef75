#!/usr/bin/python3
"""fcgi_client.py - a raw FastCGI client for the protocol tests (standard library only).

Speaks FastCGI to cog-fcgi directly, the way nginx and Apache do, so that tests can send what
web servers send (FCGI_KEEP_CONN, FCGI_GET_VALUES, FCGI_ABORT_REQUEST) and what they never do
(garbage, truncated records). ADDR is HOST:PORT or unix:PATH.

    fcgi_client.py request ADDR METHOD URI [BODY]   one request; prints the status and body
    fcgi_client.py wait-ready ADDR [SECONDS]        polls /health-check until READY
    fcgi_client.py get-values ADDR                  FCGI_GET_VALUES and FCGI_UNKNOWN_TYPE
    fcgi_client.py keepalive ADDR N                 N idle kept connections, then one more
    fcgi_client.py refused ADDR                     the connection is closed with no answer
    fcgi_client.py abort ADDR ID                    FCGI_ABORT_REQUEST cancels a sync prediction
    fcgi_client.py garbage ADDR                     bad records close only their connection

Scenario commands print one "PASS name" or "FAIL name: detail" line per check (the calling
script counts them) and exit non-zero when any check failed.
"""
import json
import socket
import struct
import sys
import threading
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER = 1
KEEP_CONN = 1

FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    if ok:
        print(f"PASS {name}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {name}{': ' + str(detail) if detail else ''}", flush=True)
    return ok


def connect(addr, timeout=10.0):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = addr[5:]
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    s.settimeout(timeout)
    s.connect(target)
    return s


def record(rtype, req_id, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", VERSION, rtype, req_id, len(content), pad) + content + b"\0" * pad


def name_value(name, value):
    out = b""
    for part in (name, value):
        n = len(part)
        out += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return out + name + value


def encode_pairs(pairs):
    return b"".join(name_value(k.encode(), v.encode()) for k, v in pairs.items())


def request_bytes(req_id, method, uri, body=b"", keep=True, headers=None):
    params = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": uri.split("?")[0],
        "SCRIPT_NAME": uri.split("?")[0],
        "QUERY_STRING": uri.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        params["CONTENT_TYPE"] = "application/json"
    params.update(headers or {})
    out = record(BEGIN_REQUEST, req_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0))
    enc = encode_pairs(params)
    out += record(PARAMS, req_id, enc) + record(PARAMS, req_id)
    for i in range(0, len(body), 65535):
        out += record(STDIN, req_id, body[i:i + 65535])
    return out + record(STDIN, req_id)


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def read_record(s):
    head = read_exact(s, 8)
    version, rtype, req_id, clen, plen = struct.unpack(">BBHHBx", head)
    content = read_exact(s, clen)
    read_exact(s, plen)
    return rtype, req_id, content


def read_response(s, req_id):
    """Reads records up to FCGI_END_REQUEST; returns (status, headers, body)."""
    out = b""
    while True:
        rtype, rid, content = read_record(s)
        if rtype == STDOUT and rid == req_id:
            out += content
        elif rtype == END_REQUEST and rid == req_id:
            break
    head, _, body = out.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "status":
            status = int(v.split()[0])
        elif k:
            headers[k.lower()] = v.strip()
    return status, headers, body


class Conn:
    """One FastCGI connection, used for any number of requests when keep is set."""

    def __init__(self, addr, keep=True, timeout=10.0):
        self.s = connect(addr, timeout)
        self.keep = keep
        self.next_id = 1

    def send(self, method, uri, body=b"", headers=None):
        req_id = self.next_id
        self.next_id += 1
        self.s.sendall(request_bytes(req_id, method, uri, body, self.keep, headers))
        return req_id

    def request(self, method, uri, body=b""):
        return read_response(self.s, self.send(method, uri, body))

    def close(self):
        self.s.close()


def get_json(addr, method, uri, body=b""):
    c = Conn(addr, keep=False)
    try:
        status, _, out = c.request(method, uri, body)
    finally:
        c.close()
    try:
        return status, json.loads(out)
    except ValueError:
        return status, out.decode("latin-1")


def closed_without_answer(s, seconds):
    """True when the peer closes s within seconds without sending one byte."""
    s.settimeout(seconds)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def cmd_request(addr, method, uri, body=""):
    status, out = get_json(addr, method, uri, body.encode())
    print(status)
    print(out if isinstance(out, str) else json.dumps(out))
    return 0 if status < 500 else 1


def cmd_wait_ready(addr, seconds="120"):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            status, out = get_json(addr, "GET", "/health-check")
            if status == 200 and isinstance(out, dict) and out.get("status") == "READY":
                return 0
        except (OSError, EOFError):
            pass
        time.sleep(0.2)
    print(f"{addr} not READY after {seconds} s", file=sys.stderr)
    return 1


def cmd_get_values(addr):
    s = connect(addr)
    names = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]
    s.sendall(record(GET_VALUES, 0, encode_pairs({n: "" for n in names})))
    try:
        rtype, req_id, content = read_record(s)
    except (OSError, EOFError) as e:
        check("FCGI_GET_VALUES is answered", False, e)
        return 1
    values, i = {}, 0
    while i < len(content):
        pair = []
        for _ in range(2):
            n = content[i]
            if n & 0x80:
                n = struct.unpack(">I", content[i:i + 4])[0] & 0x7FFFFFFF
                i += 4
            else:
                i += 1
            pair.append(n)
        values[content[i:i + pair[0]].decode()] = content[i + pair[0]:i + pair[0] + pair[1]].decode()
        i += pair[0] + pair[1]
    check("FCGI_GET_VALUES is answered with FCGI_GET_VALUES_RESULT",
          rtype == GET_VALUES_RESULT and req_id == 0, f"type {rtype} id {req_id}")
    check("FCGI_GET_VALUES_RESULT names FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS",
          sorted(values) == sorted(names) and all(values.values()), values)
    # An unknown management record gets FCGI_UNKNOWN_TYPE, and the connection still serves.
    s.sendall(record(99, 0, b""))
    try:
        rtype, req_id, content = read_record(s)
        check("an unknown management record gets FCGI_UNKNOWN_TYPE",
              rtype == UNKNOWN_TYPE and content[:1] == bytes([99]), f"type {rtype}")
        s.sendall(request_bytes(1, "GET", "/health-check", keep=False))
        status, _, _ = read_response(s, 1)
        check("a request after management records on the same connection is answered",
              status == 200, status)
    except (OSError, EOFError) as e:
        check("an unknown management record gets FCGI_UNKNOWN_TYPE", False, e)
    s.close()
    return FAILED


def cmd_keepalive(addr, n="6"):
    n = int(n)
    conns, ok = [], True
    try:
        for _ in range(n):
            c = Conn(addr, keep=True)
            status, _, _ = c.request("GET", "/health-check")
            ok = ok and status == 200
            conns.append(c)
    except (OSError, EOFError) as e:
        ok = False
        print(f"  kept connection {len(conns) + 1}: {e!r}", file=sys.stderr)
    check(f"{n} connections with FCGI_KEEP_CONN each answer a first request", ok and len(conns) == n)
    # All n stay open and idle; a new connection must not wait for a thread.
    start = time.monotonic()
    try:
        c = Conn(addr, keep=False, timeout=5.0)
        status, _, body = c.request("GET", "/health-check")
        c.close()
    except (OSError, EOFError) as e:
        status, body = repr(e), b""
    took = time.monotonic() - start
    check(f"with {n} idle kept connections a new connection is answered in < 1 s",
          status == 200 and took < 1.0, f"status {status} after {took:.2f} s")
    ok, detail = True, ""
    for i, c in enumerate(conns):
        try:
            status, _, body = c.request("GET", "/health-check")
            if status != 200:
                ok, detail = False, f"connection {i + 1}: status {status}"
        except (OSError, EOFError) as e:
            ok, detail = False, f"connection {i + 1}: {e!r}"
    check("every idle kept connection answers a second request", ok, detail)
    # Closing kept connections frees nothing but fds: the server keeps answering.
    for c in conns:
        c.close()
    time.sleep(0.2)
    try:
        status, _ = get_json(addr, "GET", "/health-check")
    except (OSError, EOFError) as e:
        status = repr(e)
    check("after the kept connections close the server still answers", status == 200, status)
    return FAILED


def cmd_refused(addr):
    s = connect(addr)
    try:
        s.sendall(request_bytes(1, "GET", "/health-check"))
    except OSError:
        pass  # already closed under us: that is the point
    check(f"a peer not in FCGI_WEB_SERVER_ADDRS is closed without an answer ({addr})",
          closed_without_answer(s, 5.0))
    s.close()
    return FAILED


def cmd_abort(addr, pred_id):
    c = Conn(addr, keep=True, timeout=30.0)
    body = json.dumps({"id": pred_id, "input": {"seconds": 30}}).encode()
    req_id = c.send("PUT", f"/predictions/{pred_id}", body)
    # Wait until the sync prediction is really running.
    state, deadline = None, time.time() + 20
    while time.time() < deadline:
        _, out = get_json(addr, "GET", f"/predictions/{pred_id}")
        state = out.get("status") if isinstance(out, dict) else out
        if state == "processing":
            break
        time.sleep(0.1)
    check("the slow sync prediction is processing", state == "processing", state)
    start = time.monotonic()
    c.s.sendall(record(ABORT_REQUEST, req_id))
    state, deadline = None, time.time() + 15
    while time.time() < deadline:
        _, out = get_json(addr, "GET", f"/predictions/{pred_id}")
        state = out.get("status") if isinstance(out, dict) else out
        if state in ("canceled", "succeeded", "failed"):
            break
        time.sleep(0.1)
    took = time.monotonic() - start
    check("FCGI_ABORT_REQUEST ends the sync prediction canceled", state == "canceled",
          f"{state} after {took:.1f} s")
    check("the cancel takes well under the prediction's 30 s", took < 10, f"{took:.1f} s")
    # The aborted request is still ended with FCGI_END_REQUEST, as the protocol asks.
    try:
        status, _, _ = read_response(c.s, req_id)
        ended = True
    except (OSError, EOFError) as e:
        ended, status = False, repr(e)
    check("the aborted request is ended with FCGI_END_REQUEST", ended, status)
    c.close()
    return FAILED


def alive(addr):
    try:
        status, _ = get_json(addr, "GET", "/health-check")
        return status == 200
    except (OSError, EOFError):
        return False


def cmd_garbage(addr):
    cases = [
        ("a record with version 9", b"\x09\x01\x00\x01\x00\x08\x00\x00" + b"\0" * 8),
        ("FCGI_BEGIN_REQUEST with a 3-byte body", record(BEGIN_REQUEST, 1, b"\x00\x01\x00")),
        ("FCGI_BEGIN_REQUEST for request id 0", record(BEGIN_REQUEST, 0, struct.pack(">HB5x", 1, 1))),
    ]
    for name, data in cases:
        s = connect(addr)
        s.sendall(data)
        check(f"{name} closes that connection", closed_without_answer(s, 5.0))
        s.close()
    # Plain HTTP (curl at the FastCGI port) gets a 400 page saying what the port speaks.
    s = connect(addr)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5.0)
    answer = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    check("plain HTTP instead of FastCGI gets HTTP/1.0 400 saying it speaks FastCGI, then close",
          answer.startswith(b"HTTP/1.0 400") and b"This port speaks FastCGI" in answer)
    s.close()
    # A header cut short, then the web server hangs up.
    s = connect(addr)
    s.sendall(b"\x01\x01\x00")
    s.shutdown(socket.SHUT_WR)
    check("a truncated header then EOF closes that connection", closed_without_answer(s, 5.0))
    s.close()
    # A request cut off inside its parameters, then EOF.
    s = connect(addr)
    s.sendall(request_bytes(1, "GET", "/health-check")[:30])
    s.shutdown(socket.SHUT_WR)
    check("a request cut off in FCGI_PARAMS then EOF closes that connection",
          closed_without_answer(s, 5.0))
    s.close()
    check("after garbage the server answers other connections", alive(addr))
    # A truncated header kept open holds one thread at most; idle kept connections hold none.
    stuck = connect(addr)
    stuck.sendall(b"\x01\x01")
    kept = []
    for _ in range(4):
        c = Conn(addr, keep=True)
        c.request("GET", "/health-check")
        kept.append(c)
    start = time.monotonic()
    ok = alive(addr)
    took = time.monotonic() - start
    check("a truncated header kept open does not stop other connections", ok and took < 1.0,
          f"{took:.2f} s")
    # Many requests in parallel on fresh connections while all that is going on.
    results = []

    def worker():
        for _ in range(10):
            results.append(alive(addr))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("80 requests on 8 parallel connections all answered", len(results) == 80 and all(results),
          f"{sum(results)}/{len(results)}")
    for c in kept:
        c.close()
    stuck.close()
    return FAILED


COMMANDS = {
    "request": cmd_request,
    "wait-ready": cmd_wait_ready,
    "get-values": cmd_get_values,
    "keepalive": cmd_keepalive,
    "refused": cmd_refused,
    "abort": cmd_abort,
    "garbage": cmd_garbage,
}


def main(argv):
    if len(argv) < 3 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        rc = COMMANDS[argv[1]](*argv[2:])
    except (OSError, EOFError) as e:
        check(f"{argv[1]} {argv[2]} runs", False, repr(e))
        rc = 1
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
