"""async_lib.py - harness for the async/webhook/cancel/crash/fault/restart integration tests.

Standard library only, run with /usr/bin/python3 from a thin tests/integration/*.sh wrapper.
A Suite owns a private temp dir, the cog-fcgi fronts and the nginx it starts (all on unix
sockets or 127.0.0.1, all stopped at exit, even on SIGTERM/SIGINT), a webhook receiver, and
the PASS/FAIL counters; suite.finish() prints the last line "N passed, M failed" and exits
non-zero on any failure. Every wait is bounded.
"""

import atexit
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COG_FCGI = os.environ.get("COG_FCGI", os.path.join(ROOT, "build", "cog-fcgi"))
if not os.path.isabs(COG_FCGI):
    COG_FCGI = os.path.join(ROOT, COG_FCGI)
PROJECTS = os.path.join(ROOT, "tests", "projects")
TERMINAL = ("succeeded", "failed", "canceled")
CRASH_ERROR = "Prediction failed for an unknown reason. It might have run out of memory? (exitcode {})"


def short(value, limit=300):
    """A value as a short one-line string for a FAIL detail."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


class Response:
    """One HTTP exchange's result: status (0 when no answer), headers, body text, JSON, time."""

    def __init__(self, status, headers, text, elapsed, error=None):
        self.status = status
        self.headers = headers
        self.text = text
        self.elapsed = elapsed
        self.error = error
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    def get(self, key, default=None):
        return self.json.get(key, default) if isinstance(self.json, dict) else default

    def __str__(self):
        if self.error:
            return f"no answer ({self.error})"
        return f"HTTP {self.status} {short(self.text)}"


class Front:
    """One `cog-fcgi serve` process."""

    def __init__(self, proc, sock, log, state_dir):
        self.proc = proc
        self.pid = proc.pid
        self.sock = sock
        self.log = log
        self.state_dir = state_dir

    def alive(self):
        return self.proc.poll() is None

    def children(self):
        """Pids of the front's child processes (its worker)."""
        try:
            out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True,
                                 text=True, timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            return []
        return [int(p) for p in out.split()]

    def worker_pid(self, timeout=5.0):
        """The worker's pid (a child of the front running cog-fcgi-worker), or None."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for pid in self.children():
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = f.read().replace(b"\0", b" ")
                except OSError:
                    continue
                if b"cog-fcgi-worker" in cmd:
                    return pid
            time.sleep(0.05)
        return None

    def log_tail(self, n=15):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Hook:
    """One webhook delivery seen by the receiver."""

    def __init__(self, path, headers, body, answered, t):
        self.path = path
        self.headers = headers
        self.body = body
        self.answered = answered
        self.t = t

    @property
    def status(self):
        return self.body.get("status") if isinstance(self.body, dict) else None

    @property
    def terminal(self):
        return self.status in TERMINAL


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread. Deliveries are kept per path.

    A path starting with /flakyN/ answers 503 to the first N terminal deliveries on that path
    (then 200); /fail/ always answers 500; anything else 200.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.hooks = {}
        self.failed_terminal = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                code = receiver._answer(self.path, body)
                with receiver.lock:
                    receiver.hooks.setdefault(self.path, []).append(
                        Hook(self.path, {k.lower(): v for k, v in self.headers.items()},
                             body, code, time.monotonic()))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _answer(self, path, body):
        parts = path.split("/")
        if len(parts) > 1 and parts[1].startswith("flaky"):
            limit = int(parts[1][5:] or 0)
            if isinstance(body, dict) and body.get("status") in TERMINAL:
                with self.lock:
                    done = self.failed_terminal.get(path, 0)
                    if done < limit:
                        self.failed_terminal[path] = done + 1
                        return 503
        if len(parts) > 1 and parts[1] == "fail":
            return 500
        return 200

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def got(self, path):
        with self.lock:
            return list(self.hooks.get(path, []))

    def wait_terminal(self, path, timeout=15.0, answered=200):
        """Waits for a terminal delivery on path answered `answered`; returns all deliveries."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            hooks = self.got(path)
            if any(h.terminal and h.answered == answered for h in hooks):
                return hooks
            time.sleep(0.05)
        return self.got(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Suite:
    """Counters, temp dir, servers and their cleanup for one test script."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.tmp = tempfile.mkdtemp(prefix="cf-async.", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.receiver = None
        self.nginx = None
        self.base_host = None
        self.base_port = None
        self.front_n = 0
        self.started = time.monotonic()
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    # -- results ---------------------------------------------------------------

    def ok(self, name):
        self.passed += 1
        print(f"PASS {name}", flush=True)

    def bad(self, name, detail=""):
        self.failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}", flush=True)

    def check(self, name, cond, detail=""):
        if cond:
            self.ok(name)
        else:
            self.bad(name, detail)
        return bool(cond)

    def expect(self, name, got, want, what=""):
        """Passes when got == want; the failure says what was expected and what came."""
        return self.check(name, got == want,
                          f"{what + ' ' if what else ''}expected {short(want)}, got {short(got)}")

    def note(self, text):
        print(f"     {text}", flush=True)

    def finish(self):
        print(f"({self.name}: {time.monotonic() - self.started:.1f} s)", flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        self.cleanup()
        sys.stdout.flush()
        os._exit(0 if self.failed == 0 else 1)

    def abort(self, name, detail=""):
        """A failure the rest of the script cannot go on from."""
        self.bad(name, detail)
        self.finish()

    # -- processes ---------------------------------------------------------------

    def _on_signal(self, signum, frame):
        self.cleanup()
        os._exit(130)

    def cleanup(self):
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs = []
        if self.receiver:
            try:
                self.receiver.close()
            except Exception:
                pass
            self.receiver = None
        if os.environ.get("KEEP_TMP") == "1":
            print(f"kept {self.tmp}", file=sys.stderr)
        elif os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def _kids(pid):
        kids = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    kids += [int(k) for k in f.read().split()]
        except OSError:
            pass
        return kids

    def stop(self, proc, grace=10.0):
        """SIGTERM, up to `grace` s, then SIGKILL; its children (a worker) are killed too."""
        if proc.poll() is not None:
            return
        kids = self._kids(proc.pid)
        try:
            proc.terminate()
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        except OSError:
            pass
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass

    def forget(self, proc):
        if proc in self.procs:
            self.procs.remove(proc)

    def need_binary(self):
        if not os.access(COG_FCGI, os.X_OK):
            self.abort(f"binary {COG_FCGI} exists", "run make first")

    def socket_flags(self):
        out = subprocess.run(["sh", os.path.join(ROOT, "scripts", "nginx-conf.sh"), "--socket-flags"],
                             capture_output=True, text=True, timeout=10).stdout
        return out.split()

    def start_front(self, project, *flags, sock=None, env=None, state_dir=None, wait_socket=30.0):
        """Starts `cog-fcgi serve PROJECT` on a unix socket and waits for the socket.

        Returns a Front, or None (with the log on stderr) if it did not come up.
        """
        self.front_n += 1
        n = self.front_n
        sock = sock or os.path.join(self.tmp, "cog.sock")
        state_dir = state_dir or os.path.join(self.tmp, f"state.{n}")
        log = os.path.join(self.tmp, f"front.{n}.log")
        try:
            os.unlink(sock)
        except OSError:
            pass
        if not os.path.isabs(project):
            project = os.path.join(PROJECTS, project)
        full_env = dict(os.environ)
        full_env.update(env or {})
        cmd = [COG_FCGI, "serve", project, "--listen", f"unix:{sock}", *self.socket_flags(),
               "--state-dir", state_dir, *flags]
        with open(log, "ab") as logf:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                    env=full_env, start_new_session=False)
        self.procs.append(proc)
        front = Front(proc, sock, log, state_dir)
        end = time.monotonic() + wait_socket
        while time.monotonic() < end:
            if os.path.exists(sock):
                return front
            if proc.poll() is not None:
                print(f"cog-fcgi exited ({proc.returncode}) before listening; its log:\n"
                      f"{front.log_tail()}", file=sys.stderr)
                return None
            time.sleep(0.05)
        print(f"cog-fcgi did not create {sock} in {wait_socket} s", file=sys.stderr)
        return None

    def start_nginx(self, sock):
        """Starts nginx (scripts/nginx-conf.sh) in front of the socket; sets the base URL."""
        prefix = os.path.join(self.tmp, "nginx")
        port = free_port()
        os.makedirs(prefix, exist_ok=True)
        subprocess.run(["sh", os.path.join(ROOT, "scripts", "nginx-conf.sh"), prefix, str(port), sock],
                       check=True, capture_output=True, timeout=10)
        with open(os.path.join(prefix, "stderr.log"), "ab") as logf:
            proc = subprocess.Popen(["nginx", "-p", prefix + "/", "-c", f"{prefix}/nginx.conf",
                                     "-e", f"{prefix}/error.log"],
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self.procs.insert(0, proc)  # stopped last
        self.nginx = proc
        self.base_host = "127.0.0.1"
        self.base_port = port
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        return False

    def start_receiver(self):
        self.receiver = Receiver()
        return self.receiver

    def setup(self, project, *flags, env=None, ready=True, state_dir=None):
        """Front + nginx (+ READY): the common start of a test. Aborts the script on failure."""
        self.need_binary()
        front = self.start_front(project, *flags, env=env, state_dir=state_dir)
        if front is None:
            self.abort("cog-fcgi starts")
        if self.nginx is None and not self.start_nginx(front.sock):
            self.abort("nginx starts")
        if ready and not self.wait_ready():
            self.abort("model becomes READY", f"last health: {self.health()}")
        return front

    # -- HTTP ----------------------------------------------------------------------

    def http(self, method, path, body=None, headers=None, timeout=30.0):
        """One request through nginx. Never raises: a failure is Response status 0."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
            hdrs.setdefault("Content-Type", "application/json")
        t0 = time.monotonic()
        conn = http.client.HTTPConnection(self.base_host, self.base_port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text,
                            time.monotonic() - t0)
        except (OSError, http.client.HTTPException) as exc:
            return Response(0, {}, "", time.monotonic() - t0, error=f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    def predict(self, inp=None, pid=None, webhook=None, events=None, headers=None,
                asynch=False, timeout=30.0, extra=None):
        body = {"input": inp or {}}
        if pid:
            body["id"] = pid
        if webhook:
            body["webhook"] = webhook
        if events is not None:
            body["webhook_events_filter"] = events
        body.update(extra or {})
        hdrs = dict(headers or {})
        if asynch:
            hdrs.setdefault("Prefer", "respond-async")
        return self.http("POST", "/predictions", body, hdrs, timeout=timeout)

    def get_prediction(self, pid, timeout=5.0):
        return self.http("GET", f"/predictions/{pid}", timeout=timeout)

    def cancel(self, pid, timeout=5.0):
        return self.http("POST", f"/predictions/{pid}/cancel", timeout=timeout)

    def poll(self, pid, timeout=15.0, interval=0.05):
        """GETs the prediction until it is terminal; returns the last Response."""
        end = time.monotonic() + timeout
        r = self.get_prediction(pid)
        while time.monotonic() < end:
            if r.status == 200 and r.get("status") in TERMINAL:
                return r
            time.sleep(interval)
            r = self.get_prediction(pid)
        return r

    def health(self, timeout=2.0):
        r = self.http("GET", "/health-check", timeout=timeout)
        return r.get("status") if r.status == 200 else f"<{r}>"

    def wait_health(self, want, timeout=30.0):
        end = time.monotonic() + timeout
        s = self.health()
        while s not in want and time.monotonic() < end:
            time.sleep(0.05)
            s = self.health()
        return s

    def wait_ready(self, timeout=30.0):
        return self.wait_health(("READY",), timeout) == "READY"

    def hang_up(self, method, path, body, after=1.0, headers=None):
        """Sends a request, waits `after` seconds without reading, then closes the connection."""
        data = json.dumps(body).encode()
        hdrs = {"Host": "localhost", "Content-Type": "application/json",
                "Content-Length": str(len(data))}
        hdrs.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        s = socket.create_connection((self.base_host, self.base_port), timeout=5)
        try:
            s.sendall(head.encode() + b"\r\n" + data)
            time.sleep(after)
        finally:
            s.close()

    def raw(self, payload, timeout=3.0):
        """Sends raw bytes to nginx, returns the first line of the answer (or '')."""
        try:
            s = socket.create_connection((self.base_host, self.base_port), timeout=timeout)
        except OSError as exc:
            return f"<connect failed: {exc}>"
        try:
            s.sendall(payload)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\r\n", 1)[0].decode("latin-1")
        except OSError as exc:
            return f"<{type(exc).__name__}>"
        finally:
            s.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bg(fn, *args, **kwargs):
    """Runs fn in a daemon thread; returns a holder whose .result() waits (bounded) for it."""
    holder = {}

    def run():
        holder["r"] = fn(*args, **kwargs)

    t = threading.Thread(target=run, daemon=True)
    t.start()

    class Result:
        def result(self, timeout=60.0):
            t.join(timeout)
            return holder.get("r")
    return Result()
