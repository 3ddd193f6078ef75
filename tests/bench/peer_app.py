# peer_app.py - the Python peer of the benchmark: a WSGI app (run by uWSGI) that does a
# prediction's work the plain Python way, with no framework: parse the JSON body, check the
# input, call the same predict() as cog-fcgi's worker, encode the answer.
#
# Environment: CF_PEER_PATHS (os.pathsep-separated directories put first on sys.path: the cog
# package and the project), CF_PEER_PROJECT (the project directory, whose predict.py is
# imported). A project whose predict() takes a Path `source` gets the data URI decoded into a
# temp file (base64.decodebytes, as urllib does for Cog) and its Path output read back and
# encoded as a data URI; any other project's predict() is called without arguments.
#
# `loop(project, seconds)` runs the same handler in-process with no server at all (the
# benchmark's "python loop" rows): the ceiling a Python server could reach.
import base64
import datetime
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
import uuid

for _p in reversed([p for p in os.environ.get("CF_PEER_PATHS", "").split(os.pathsep) if p]):
    sys.path.insert(0, _p)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class Peer:
    def __init__(self, project):
        sys.path.insert(0, project)
        import predict  # noqa: E402  (the project's own module)

        self.predictor = predict.Predictor()
        self.predictor.setup()
        params = inspect.signature(self.predictor.predict).parameters
        self.takes_file = "source" in params
        if self.takes_file:
            from cog import Path

            self.path_type = Path

    def handle(self, body):
        """One prediction: request body bytes in, (status, response body bytes) out."""
        try:
            req = json.loads(body or b"{}")
        except ValueError as e:
            return 400, json.dumps({"detail": str(e)}).encode()
        inp = req.get("input") or {} if isinstance(req, dict) else None
        if not isinstance(inp, dict):
            return 422, json.dumps({"detail": "input is not an object"}).encode()
        started = _now()
        t0 = time.perf_counter()
        if self.takes_file:
            uri = inp.get("source")
            if not isinstance(uri, str) or not uri.startswith("data:") or "," not in uri:
                return 422, json.dumps({"detail": "source is not a data URI"}).encode()
            head, payload = uri[5:].split(",", 1)
            data = base64.decodebytes(payload.encode("ascii"))
            tmp = tempfile.mkdtemp(prefix="peer-")
            try:
                src = os.path.join(tmp, "file.bin")
                with open(src, "wb") as f:
                    f.write(data)
                out = self.predictor.predict(source=self.path_type(src))
                with open(out, "rb") as f:
                    encoded = base64.b64encode(f.read()).decode("ascii")
                output = "data:application/octet-stream;base64," + encoded
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        else:
            output = self.predictor.predict()
        resp = {
            "input": inp,
            "output": output,
            "id": req.get("id") or uuid.uuid4().hex,
            "version": None,
            "created_at": None,
            "started_at": started,
            "completed_at": _now(),
            "logs": "",
            "error": None,
            "status": "succeeded",
            "metrics": {"predict_time": time.perf_counter() - t0},
        }
        return 200, json.dumps(resp).encode()


_peer = None


def application(environ, start_response):
    global _peer
    if _peer is None:
        _peer = Peer(os.environ["CF_PEER_PROJECT"])
    if environ.get("PATH_INFO") == "/health-check":
        body = b'{"status":"READY"}'
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    n = int(environ.get("CONTENT_LENGTH") or 0)
    status, body = _peer.handle(environ["wsgi.input"].read(n) if n else b"")
    reason = {200: "OK", 400: "Bad Request", 422: "Unprocessable Entity"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
    return [body]


def loop(project, body_file, seconds):
    """Calls the handler in-process for `seconds`; prints predictions per second."""
    peer = Peer(project)
    body = open(body_file, "rb").read() if body_file else b'{"input":{}}'
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        status, _ = peer.handle(body)
        assert status == 200, status
        n += 1
    print(f"{n / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    loop(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None,
         float(sys.argv[3]) if len(sys.argv) > 3 else 2.0)
