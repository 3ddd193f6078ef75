#!/usr/bin/env python3
"""record_case.py - records Cog 0.15.5's answers into a conformance case's requests.json.

    COG_SOURCE_TREE=/path/to/replicate-cog-v0.15.5 \
        python3 tests/data/cog-fixtures/record_case.py tests/conformance/cases/NN-name...

For each case it serves the case directory with Cog's own server (as record.py does), sends
every step of requests.json in order and writes what Cog answered into the step's "expect"
(status, content_type, body), keeping the step's "ignore", "contains" and "note". Steps with
"differs" are left as they are: their expectation is cog-fcgi's (COG-API.md section 16).
Timestamps and predict_time are ignored by default, as in the other cases.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record  # noqa: E402

_TIMES = ["/started_at", "/completed_at", "/metrics/predict_time"]
_SETUP_TIMES = ["/setup/started_at", "/setup/completed_at"]


def send(base, step):
    data = None
    headers = dict(step.get("headers", {}))
    if "body" in step:
        data = json.dumps(step["body"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif step["method"] in ("POST", "PUT"):
        data = b""
    req = urllib.request.Request(base + step["path"], data=data, method=step["method"],
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def wait_ready(base):
    for _ in range(600):
        try:
            with urllib.request.urlopen(base + "/health-check", timeout=5) as r:
                if json.loads(r.read()).get("status") != "STARTING":
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.1)


def record_case(cog_python, case):
    with open(os.path.join(case, "requests.json")) as f:
        steps = json.load(f)
    port = record.free_port()
    env = dict(os.environ, PYTHONPATH=cog_python, PORT=str(port), PYTHONHASHSEED="1")
    log = open(os.path.join("/tmp", f"record-case-{port}.log"), "wb")
    proc = subprocess.Popen([record.PYTHON, "-m", "cog.server.http", "--host", "127.0.0.1"],
                            cwd=case, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/openapi.json", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        for step in steps:
            if step.get("wait_until_ready"):
                wait_ready(base)
            if "expect" in step and step["expect"].get("differs"):
                send(base, step)
                continue
            status, ctype, raw = send(base, step)
            expect = step.setdefault("expect", {})
            expect["status"] = status
            expect["content_type"] = ctype.split(";")[0]
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            expect["body"] = body
            if isinstance(body, dict) and "status" in body and "input" in body:
                expect.setdefault("ignore", list(_TIMES))
            elif step["path"] == "/health-check":
                expect.setdefault("ignore", list(_SETUP_TIMES))
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    with open(os.path.join(case, "requests.json"), "w") as f:
        json.dump(steps, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    cog_tree = os.environ.get("COG_SOURCE_TREE")
    if not cog_tree:
        print("record_case.py: set COG_SOURCE_TREE to a Cog v0.15.5 checkout", file=sys.stderr)
        return 2
    for case in sys.argv[1:]:
        record_case(os.path.join(cog_tree, "python"), os.path.abspath(case))
        print(f"recorded {case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
