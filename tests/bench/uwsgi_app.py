"""uwsgi_app.py - the WSGI app uWSGI serves in tests/bench/pool.sh: parse, check, predict().

What a hand-written Python server does per request for a no-op Cog model: read the JSON
body, check that "input" is an object with only known keys, call the same Predictor.predict()
as cog-fcgi's worker, and answer a prediction-shaped JSON object.
"""
import json
import os
import sys

sys.path[:0] = [p for p in os.environ.get("CF_BENCH_PATH", "").split(":") if p]
import predict  # noqa: E402

_predictor = predict.Predictor()
_predictor.setup() if hasattr(_predictor, "setup") else None
_KNOWN = set()


def application(environ, start_response):
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        inputs = body.get("input", {})
        if not isinstance(inputs, dict) or set(inputs) - _KNOWN:
            raise ValueError("bad input")
        out = {"id": body.get("id"), "input": inputs, "output": _predictor.predict(**inputs),
               "status": "succeeded", "error": None, "logs": ""}
        data = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(data)))])
    except ValueError as exc:
        data = json.dumps({"detail": str(exc)}).encode()
        start_response("422 Unprocessable Entity", [("Content-Type", "application/json"),
                                                    ("Content-Length", str(len(data)))])
    return [data]
