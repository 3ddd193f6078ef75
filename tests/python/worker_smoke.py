#!/usr/bin/python3
"""Drives build/cog-fcgi-worker over its socket protocol (predictor/common/ipc.h), as the front does.

    /usr/bin/python3 tests/python/worker_smoke.py [path/to/cog-fcgi-worker]

Each check starts a fresh worker on a project (a conformance case or a small
project written here), with a socketpair for frames and one pipe for fds 1+2
(the logs). Ends with "N passed, M failed"; exit status 0 only if M is 0.
"""
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
WORKER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "cog-fcgi-worker")
sys.path.insert(0, HERE)
from _util import CASES  # noqa: E402  (the conformance cases, wherever they are)
TIMEOUT = 30.0


class Worker:
    """One worker process and our ends of its socket and pipes."""

    def __init__(self, project, predict="predict.py:Predictor", train=None, env=None):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_r, log_w = os.pipe()      # model stdout+stderr
        diag_r, diag_w = os.pipe()    # worker's own diagnostics (--log-fd)
        args = [WORKER, "--project", project, "--ipc-fd", str(theirs.fileno()),
                "--log-fd", str(diag_w), "--python", "/usr/bin/python3"]
        if predict:
            args += ["--predict", predict]
        if train:
            args += ["--train", train]
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_w, stderr=log_w,
                                     pass_fds=(theirs.fileno(), diag_w), env=full_env)
        theirs.close()
        os.close(log_w)
        os.close(diag_w)
        self.log_fd = log_r
        self.diag_fd = diag_r
        os.set_blocking(self.log_fd, False)
        os.set_blocking(self.diag_fd, False)
        self.logs = b""
        self.diag = b""
        self.schema_frame = None

    def _read_exact(self, n, deadline):
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame from the worker in time")
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("worker closed the socket")
            buf += chunk
        return buf

    def recv_frame(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        (n,) = struct.unpack(">I", self._read_exact(4, deadline))
        return json.loads(self._read_exact(n, deadline))

    def recv(self, timeout=TIMEOUT):
        """The next frame. The early schema frame is kept in self.schema_frame and skipped;
        log frames (what the model printed, in order with the others) are added to self.logs."""
        while True:
            msg = self.recv_frame(timeout)
            if msg.get("type") == "schema":
                self.schema_frame = msg
            elif msg.get("type") == "log":
                self.logs += msg["text"].encode()
            else:
                return msg

    def send(self, msg):
        data = json.dumps(msg).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def drain_logs(self):
        """The log frames received so far, and anything that came through the pipe (the
        worker's fallback when it cannot capture its fds)."""
        for attr, fd in (("logs", self.log_fd), ("diag", self.diag_fd)):
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                setattr(self, attr, getattr(self, attr) + chunk)
        text = self.logs.decode(errors="replace")
        self.logs = b""
        return text

    def predict(self, inputs, pid="p1", mode="predict", context=None):
        """Sends a predict frame; returns (output items, metrics, done, logs)."""
        self.send({"type": "predict", "id": pid, "mode": mode, "input": inputs,
                   "context": context or {}})
        items, metrics = [], []
        while True:
            msg = self.recv()
            if msg["type"] == "output":
                items.append(msg["item"])
            elif msg["type"] == "metric":
                metrics.append(msg)
            elif msg["type"] == "done":
                return items, metrics, msg, self.drain_logs()
            else:
                raise AssertionError(f"unexpected frame {msg}")

    def close(self, how="shutdown"):
        """Ends the worker with a shutdown frame or EOF; returns its exit status."""
        try:
            if how == "shutdown":
                self.send({"type": "shutdown"})
            self.sock.close()
            return self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            os.close(self.log_fd)
            os.close(self.diag_fd)


def case(name):
    return os.path.join(CASES, name)


def project(source, yaml="predict: \"predict.py:Predictor\"\n"):
    """A temporary project directory holding predict.py."""
    d = tempfile.mkdtemp(prefix="cf-smoke-")
    with open(os.path.join(d, "predict.py"), "w") as f:
        f.write(source)
    with open(os.path.join(d, "cog.yaml"), "w") as f:
        f.write(yaml)
    return d


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- the checks --------------------------------------------------------------------

def t_setup_logs_and_int_output():
    w = Worker(case("02-setup-logs-int"))
    ready = w.recv()
    logs = w.drain_logs()
    check(ready["type"] == "ready" and ready["ok"] is True, f"ready: {ready}")
    check(ready["error"] is None and ready["concurrency"] == 1, f"ready: {ready}")
    check(ready["python_version"].startswith("3."), f"python_version: {ready}")
    check(logs == "setup: building square table\nsetup: 10 entries ready\n", f"setup logs {logs!r}")
    check(ready["predict"]["input"]["properties"]["n"]["maximum"] == 9.0, "schema")
    check(ready["train"] is None, "train schema should be null")
    items, _, done, logs = w.predict({"n": 3})
    check(done == {"type": "done", "status": "succeeded", "output": 9, "error": None, "id": "p1"},
          f"done: {done}")
    check(logs == "squaring 3\n", f"logs {logs!r}")
    _, _, done, _ = w.predict({"n": 0}, pid="p2")
    check(done["output"] == 0 and done["status"] == "succeeded", f"falsy output kept: {done}")
    check(w.close() == 0, "exit status after shutdown")


def t_schema_frame_before_setup():
    d = project("import time\nfrom cog import BasePredictor, Input\n\n"
                "class Predictor(BasePredictor):\n"
                "    def setup(self):\n        print('setting up', end='')\n        time.sleep(1.5)\n\n"
                "    def predict(self, n: int = Input(ge=1)) -> int:\n"
                "        print('no newline', end='')\n        return n\n")
    w = Worker(d)
    start = time.monotonic()
    first = w.recv_frame()
    early = time.monotonic() - start
    check(first["type"] == "schema", f"first frame: {first}")
    check(early < 1.5, f"the schema frame came {early:.2f} s after start, before setup() ended")
    check(first["predict"]["input"]["properties"]["n"]["minimum"] == 1.0, f"schema: {first}")
    ready = w.recv()
    check(ready["ok"] is True and ready["predict"] == first["predict"], f"ready: {ready}")
    logs = w.drain_logs()
    check(logs == "setting up\n", f"the open setup line is ended: {logs!r}")
    _, _, done, logs = w.predict({"n": 2})
    check(done["output"] == 2 and logs == "no newline\n", f"done {done} logs {logs!r}")
    w.close()
    shutil.rmtree(d)


def t_schema_only():
    d = project("import subprocess\nsubprocess.run(['cog-fcgi-no-such-program'], check=True)\n"
                "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n"
                "    def setup(self):\n        raise RuntimeError('setup ran')\n\n"
                "    def predict(self, s: str) -> str:\n        return s\n")
    w = Worker(d, env={"COG_FCGI_SCHEMA_ONLY": "1"})
    ready = w.recv()
    check(w.schema_frame is None, "no schema frame in schema-only mode: ready carries it")
    check(ready["ok"] is True and ready["predict"]["input"]["required"] == ["s"], f"ready {ready}")
    check(w.drain_logs() == "", "nothing of the module ran")
    w.close()
    w = Worker(d, env={"COG_FCGI_SCHEMA_ONLY": "import"})
    ready = w.recv()
    check(ready["ok"] is False and ready["predict"] is not None, f"import mode: {ready}")
    check("cog-fcgi-no-such-program" in ready["error"], f"{ready['error']}")
    logs = w.drain_logs()
    check('predict.py", line 2, in <module>' in logs, f"the traceback names the line: {logs!r}")
    check("setup ran" not in logs, "setup() did not run")
    w.close()
    shutil.rmtree(d)


def t_setup_failed():
    w = Worker(case("03-setup-failed"))
    ready = w.recv()
    logs = w.drain_logs()
    check(ready["ok"] is False and ready["error"] == "weights file is missing", f"ready: {ready}")
    check(ready["predict"] is not None, "a setup failure still has a schema")
    check("setup: looking for weights\n" in logs and "Traceback (most recent call last)" in logs
          and "RuntimeError: weights file is missing" in logs, f"logs {logs!r}")
    check(w.close(how="eof") == 0, "exit status after EOF")


def t_load_failure():
    d = project("from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n"
                "    def predict(self, x: dict) -> str:\n        return ''\n")
    w = Worker(d)
    ready = w.recv()
    logs = w.drain_logs()
    check(ready["ok"] is False and ready["predict"] is None, f"ready: {ready}")
    check("Unsupported input type" in ready["error"], f"error: {ready['error']}")
    check(logs == "Error while loading predictor:\n\npredict.py, line 4: " + ready["error"].split(": ", 1)[1] + "\n"
          and ready["error"].startswith("predict.py, line 4: Unsupported input type"),
          f"a signature error is one line naming the file and line: {logs!r}")
    w.close()
    d2 = project("import nonexistent_module_xyz\n")
    w = Worker(d2)
    ready = w.recv()
    logs = w.drain_logs()
    check(ready["ok"] is False and "nonexistent_module_xyz" in ready["error"], f"ready {ready}")
    check("ModuleNotFoundError" in logs, f"logs {logs!r}")
    w.close()
    shutil.rmtree(d)
    shutil.rmtree(d2)


def t_iterator_output():
    w = Worker(case("11-output-iterator"))
    check(w.recv()["ok"], "ready")
    items, _, done, logs = w.predict({"sentence": "the quick brown fox"})
    check(items == ["the", "quick", "brown", "fox"], f"items {items}")
    check(done["status"] == "succeeded" and done["output"] is None, f"done {done}")
    check(logs == "word 0\nword 1\nword 2\nword 3\n", f"logs {logs!r}")
    items, _, done, _ = w.predict({"sentence": ""}, pid="p2")
    check(items == [] and done["status"] == "succeeded", f"empty iterator {items} {done}")
    w.close()


def t_concatenate_output():
    w = Worker(case("12-output-concatenate"))
    check(w.recv()["ok"], "ready")
    out = w.predict({"count": 2})
    check(out[0] == ["tok0 ", "tok1 "], f"items {out[0]}")
    w.close()


def t_predict_exception():
    w = Worker(case("16-predict-exception"))
    check(w.recv()["ok"], "ready")
    _, _, done, logs = w.predict({"divisor": 0})
    check(done["status"] == "failed" and done["error"] == "divisor must not be zero",
          f"done {done}")
    check(logs.startswith("dividing by 0\nTraceback (most recent call last):\n"), f"logs {logs!r}")
    check("ValueError: divisor must not be zero\n" in logs, f"logs {logs!r}")
    _, _, done, _ = w.predict({"divisor": 4}, pid="p2")
    check(done["output"] == 2.5 and isinstance(done["output"], float), f"done {done}")
    w.close()


def t_float_list_input():
    w = Worker(case("07-output-float"))
    check(w.recv()["ok"], "ready")
    _, _, done, _ = w.predict({"values": [1, 2.0, 3]})
    check(done["output"] == 2.0 and isinstance(done["output"], float), f"done {done}")
    w.close()


def t_cancel_sync():
    w = Worker(case("18-cancel-sync"))
    check(w.recv()["ok"], "ready")
    w.send({"type": "predict", "id": "c1", "mode": "predict", "input": {"seconds": 20.0},
            "context": {}})
    time.sleep(0.5)
    start = time.monotonic()
    w.proc.send_signal(signal.SIGUSR1)
    done = w.recv(timeout=5)
    check(done["type"] == "done" and done["status"] == "canceled" and done["error"] is None,
          f"done {done}")
    check(time.monotonic() - start < 3, "cancel took too long")
    check("working\n" in w.drain_logs(), "logs kept")
    # A SIGUSR1 between predictions is ignored and does not cancel the next one.
    w.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.2)
    _, _, done, _ = w.predict({"seconds": 0.0}, pid="c2")
    check(done["status"] == "succeeded" and done["output"] == "finished", f"after cancel {done}")
    w.close()


def t_files_and_object_output():
    w = Worker(case("13-output-object"))
    check(w.recv()["ok"], "ready")
    _, _, done, _ = w.predict({"text": "hey", "attach": True})
    out = done["output"]
    check(list(out) == ["label", "score", "ranks", "note", "attachment"], f"key order {out}")
    check(out["label"] == "yeh" and out["score"] == 0.75 and out["note"] is None, f"out {out}")
    path = out["attachment"]["$cogfile"]
    check(os.path.isabs(path) and open(path).read() == "hey", f"attachment {path}")
    w.close()
    w = Worker(case("10-output-list-path"))
    check(w.recv()["ok"], "ready")
    _, _, done, _ = w.predict({"lines": 2})
    check([open(f["$cogfile"]).read() for f in done["output"]] == ["line 0\n", "line 1\n"],
          f"done {done}")
    w.close()


def t_kitchen_sink_inputs():
    d = tempfile.mkdtemp(prefix="cf-smoke-in-")
    doc = os.path.join(d, "doc.txt")
    blob = os.path.join(d, "blob.bin")
    with open(doc, "w") as f:
        f.write("document body\n")
    with open(blob, "wb") as f:
        f.write(bytes(range(16)))
    w = Worker(case("04-kitchen-sink"))
    ready = w.recv()
    check(ready["ok"], "ready")
    check(ready["predict"]["kinds"] == {"token": "secret", "document": "path", "blob": "file"},
          f"kinds {ready['predict']['kinds']}")
    inputs = {"prompt": "hello", "steps": 3, "scale": 0.25, "verbose": True, "style": "loud",
              "size": 4, "slug": "xyz9", "token": "s3cret-value", "words": ["red", "blue"],
              "weights": [1, 2, 3], "document": doc, "blob": blob, "note": "n1",
              "legacy": "new", "seed": 11}
    _, _, done, logs = w.predict(inputs)
    want = ("HELLO steps=3 scale=0.25 size=4 slug=xyz9 seed=11 legacy=new token_len=12 "
            "words=red+blue weight_sum=6 document=document body blob_bytes=16 note=n1")
    check(done["output"] == want, f"output {done}")
    check(logs == "prompt='hello' steps=3 style=loud\n", f"logs {logs!r}")
    w.close()
    shutil.rmtree(d)


ASYNC_SRC = '''
import asyncio
from typing import AsyncIterator
from cog import BasePredictor, Input, current_scope, concurrent


class Predictor(BasePredictor):
    async def setup(self) -> None:
        print("async setup")

    @concurrent(max=1)
    async def predict(self, n: int = 2, sleep: float = 0.0) -> AsyncIterator[str]:
        scope = current_scope()
        scope.record_metric("tokens", n)
        print("ctx", scope.context.get("user"), scope.context.get("id"))
        for i in range(n):
            await asyncio.sleep(sleep)
            yield f"t{i}"
'''


def t_async_iterator_metrics_context_cancel():
    d = project(ASYNC_SRC)
    w = Worker(d)
    ready = w.recv()
    check(ready["ok"], f"ready {ready}")
    check(w.drain_logs() == "async setup\n", "async setup logs")
    items, metrics, done, logs = w.predict({"n": 3}, pid="a1", context={"user": "u1"})
    check(items == ["t0", "t1", "t2"] and done["status"] == "succeeded", f"{items} {done}")
    check(metrics and metrics[0]["name"] == "tokens" and metrics[0]["value"] == 3,
          f"metrics {metrics}")
    check(logs == "ctx u1 a1\n", f"logs {logs!r}")
    w.send({"type": "predict", "id": "a2", "mode": "predict",
            "input": {"n": 100, "sleep": 0.1}, "context": {}})
    first = w.recv()
    check(first["type"] in ("metric", "output"), f"first {first}")
    w.proc.send_signal(signal.SIGUSR1)
    while True:
        msg = w.recv(timeout=5)
        if msg["type"] == "done":
            break
    check(msg["status"] == "canceled", f"async cancel {msg}")
    w.close()
    shutil.rmtree(d)


def t_concurrency_needs_async():
    d = project("from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n"
                "    def predict(self, x: int = 1) -> int:\n        return x\n")
    w = Worker(d, env={"COG_MAX_CONCURRENCY": "4"})
    ready = w.recv()
    check(ready["ok"] is False and "requires an async predict" in ready["error"], f"{ready}")
    w.close()
    shutil.rmtree(d)
    d = project(ASYNC_SRC)
    w = Worker(d, env={"COG_MAX_CONCURRENCY": "3"})
    ready = w.recv()
    check(ready["ok"] is True and ready["concurrency"] == 3, f"async concurrency {ready}")
    w.close()
    shutil.rmtree(d)


WRONG_SRC = '''
from typing import Any, Optional
from cog import BasePredictor, BaseRunner, Path


class Predictor(BasePredictor):
    def predict(self, what: str = "int") -> int:
        if what == "str":
            return "foo"
        if what == "false":
            return False
        return 1


class Runner(BaseRunner):
    def run(self, s: str = "x") -> Any:
        import io
        return {"s": s, "n": [1, 2.5, None], "f": io.BytesIO(b"raw")}


def fn(a: int = 2) -> Optional[str]:
    return None if a == 0 else str(a)
'''


def t_type_check_runner_and_function():
    d = project(WRONG_SRC)
    w = Worker(d)
    check(w.recv()["ok"], "ready")
    _, _, done, _ = w.predict({"what": "str"})
    check(done["status"] == "failed" and
          done["error"] == "output has the wrong type: expected int, got str", f"{done}")
    _, _, done, _ = w.predict({"what": "int"})
    check(done["status"] == "succeeded" and done["output"] == 1, f"{done}")
    w.close()
    w = Worker(d, predict="predict.py:Runner")
    check(w.recv()["ok"], "ready (runner)")
    _, _, done, _ = w.predict({"s": "y"})
    out = done["output"]
    check(out["s"] == "y" and out["n"] == [1, 2.5, None], f"{done}")
    check(open(out["f"]["$cogfile"], "rb").read() == b"raw", f"io output {out}")
    w.close()
    w = Worker(d, predict="predict.py:fn", train="predict.py:fn")
    ready = w.recv()
    check(ready["ok"] and ready["train"]["input"]["title"] == "TrainingInput", f"{ready}")
    _, _, done, _ = w.predict({"a": 0})
    check(done["status"] == "succeeded" and done["output"] is None, f"{done}")
    _, _, done, _ = w.predict({"a": 5}, mode="train")
    check(done["output"] == "5", f"train {done}")
    w.close()
    shutil.rmtree(d)


def t_worker_death_in_predict():
    d = project("import sys\nfrom cog import BasePredictor\n\nclass Predictor(BasePredictor):\n"
                "    def predict(self) -> int:\n        print('bye')\n        sys.exit(3)\n")
    w = Worker(d)
    check(w.recv()["ok"], "ready")
    w.send({"type": "predict", "id": "x", "mode": "predict", "input": {}, "context": {}})
    try:
        msg = w.recv(timeout=10)
        check(False, f"expected EOF, got {msg}")
    except EOFError:
        pass
    check(w.proc.wait(timeout=10) == 3, "exit status of sys.exit(3)")
    check("bye" in w.drain_logs(), "logs flushed before exit")
    os.close(w.log_fd)
    os.close(w.diag_fd)
    shutil.rmtree(d)


CHECKS = [
    t_setup_logs_and_int_output, t_setup_failed, t_load_failure, t_iterator_output,
    t_concatenate_output, t_predict_exception, t_float_list_input, t_cancel_sync,
    t_files_and_object_output, t_kitchen_sink_inputs, t_async_iterator_metrics_context_cancel,
    t_concurrency_needs_async, t_type_check_runner_and_function, t_worker_death_in_predict,
    t_schema_frame_before_setup, t_schema_only,
]


def main():
    if not os.access(WORKER, os.X_OK):
        print(f"no worker binary at {WORKER}: run make build/cog-fcgi-worker first")
        return 2
    passed = failed = 0
    for fn in CHECKS:
        try:
            fn()
            passed += 1
            print(f"PASS {fn.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc(file=sys.stdout)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
