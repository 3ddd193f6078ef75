#!/usr/bin/env python3
"""record.py - re-records Cog 0.15.5's /openapi.json for its server-test fixtures and our projects.

    COG_SOURCE_TREE=/path/to/replicate-cog-v0.15.5 python3 tests/data/cog-fixtures/record.py [NAME...]

For every fixture python/tests/server/fixtures/NAME.py of that Cog tree, and for every project
tests/projects/cogmodel-*/ of this repository, it serves the predictor with Cog's own Python
server (`python3 -m cog.server.http`, Cog's python/ tree on PYTHONPATH, Debian's FastAPI 0.92 /
pydantic 1.10.4 / uvicorn 0.17.6) on a free 127.0.0.1 port, and writes what Cog answers to
fixtures/NAME.json or projects/NAME.json next to this script:

    {"ref": {"predict": REF, "train": REF|null}, "cog": "0.15.5",
     "loads": true,  "openapi": {...}}                  Cog served the document
    {"ref": ..., "loads": false, "log": "last lines"}   Cog's server did not serve one

The fixtures are served the way Cog's tests serve them (python/tests/server/conftest.py): the
file keeps its name inside a folder, the reference is NAME.py:Predictor for a class predictor,
NAME.py:predict for a function one, and train.py:train both as predictor and trainer. The
fixtures' source is read from the Cog tree and never copied into this repository; only the
recorded answers are (they are facts about Cog).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PYTHON = "/usr/bin/python3"


def fixture_refs(name: str, source: str) -> dict:
    """The predictor (and trainer) reference Cog's tests use for a fixture."""
    if name == "train":
        return {"predict": "train.py:train", "train": "train.py:train"}
    if re.search(r"^class Predictor\b", source, re.M) or not re.search(r"^def predict\b", source, re.M):
        return {"predict": f"{name}.py:Predictor", "train": None}
    return {"predict": f"{name}.py:predict", "train": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_and_fetch(project: str, cog_python: str) -> dict:
    """Starts Cog's server on project, returns {"loads":..., "openapi"|"log":...}."""
    port = free_port()
    # A fixed hash seed: the order Cog gives x-order and x-cog-secret in a Secret input
    # depends on it (seed 1 gives the order most seeds give, x-cog-secret first).
    env = dict(os.environ, PYTHONPATH=cog_python, PORT=str(port), PYTHONHASHSEED="1")
    env.pop("COG_WEIGHTS", None)
    log_path = os.path.join(project, ".cog-server.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([PYTHON, "-m", "cog.server.http", "--host", "127.0.0.1"],
                                cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as r:
                    doc = json.loads(r.read())
                if "/predictions" in doc.get("paths", {}):
                    return {"loads": True, "openapi": doc}
                # Cog could not read the predictor's types: it serves a reduced app
                # (shutdown and health-check only) and logs why.
                return {"loads": False, "log": _log_tail(log_path), "openapi": doc}
            except urllib.error.HTTPError as e:
                return {"loads": False, "status": e.code, "log": _log_tail(log_path)}
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        return {"loads": False, "log": _log_tail(log_path)}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _log_tail(path: str) -> str:
    """The server's last meaningful lines (uvicorn's start-up chatter left out)."""
    time.sleep(0.3)
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f.read().splitlines():
            if not line.strip() or "uvicorn" in line:
                continue
            if line.startswith("{"):  # Cog's structured log lines, without the timestamp
                try:
                    entry = json.loads(line)
                    line = f"{entry.get('logger')}: {entry.get('message')}"
                except ValueError:
                    pass
            lines.append(line)
    return "\n".join(lines[-8:])


def _anonymous(result: dict, cog_tree: str, project: str) -> dict:
    """The log without this machine's paths: <cog>/... and <project>/... as in the kit."""
    if "log" in result:
        log = result["log"].replace(os.path.join(os.path.abspath(cog_tree), "python"), "<cog>")
        result["log"] = log.replace(project, "<project>")
    return result


def write(path: str, doc: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


def record_fixture(cog_tree: str, name: str) -> dict:
    src = os.path.join(cog_tree, "python", "tests", "server", "fixtures", name + ".py")
    with open(src, encoding="utf-8") as f:
        source = f.read()
    refs = fixture_refs(name, source)
    project = tempfile.mkdtemp(prefix="cog-fixture-")
    try:
        os.mkdir(os.path.join(project, "fixtures"))
        shutil.copy(src, os.path.join(project, "fixtures", name + ".py"))
        with open(os.path.join(project, "cog.yaml"), "w") as f:
            for key in ("predict", "train"):
                if refs[key]:
                    f.write(f'{key}: "fixtures/{refs[key]}"\n')
        result = serve_and_fetch(project, os.path.join(cog_tree, "python"))
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return {"ref": refs, "cog": "0.15.5", **_anonymous(result, cog_tree, project)}


def record_project(cog_tree: str, name: str) -> dict:
    src = os.path.join(REPO, "tests", "projects", name)
    project = tempfile.mkdtemp(prefix="cog-project-")
    try:
        shutil.copytree(src, project, dirs_exist_ok=True)
        result = serve_and_fetch(project, os.path.join(cog_tree, "python"))
    finally:
        shutil.rmtree(project, ignore_errors=True)
    return {"project": name, "cog": "0.15.5", **_anonymous(result, cog_tree, project)}


def main() -> int:
    cog_tree = os.environ.get("COG_SOURCE_TREE")
    if not cog_tree or not os.path.isdir(os.path.join(cog_tree, "python", "cog")):
        print("record.py: set COG_SOURCE_TREE to a Cog v0.15.5 checkout", file=sys.stderr)
        return 2
    only = set(sys.argv[1:])
    fixtures_dir = os.path.join(cog_tree, "python", "tests", "server", "fixtures")
    os.makedirs(os.path.join(HERE, "fixtures"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "projects"), exist_ok=True)
    for fname in sorted(os.listdir(fixtures_dir)):
        name, ext = os.path.splitext(fname)
        if ext != ".py" or (only and name not in only):
            continue
        doc = record_fixture(cog_tree, name)
        print(f"fixture {name}: {'served' if doc['loads'] else 'not served'}")
        write(os.path.join(HERE, "fixtures", name + ".json"), doc)
    projects = os.path.join(REPO, "tests", "projects")
    for name in sorted(os.listdir(projects)):
        if not name.startswith("cogmodel-") or (only and name not in only):
            continue
        doc = record_project(cog_tree, name)
        print(f"project {name}: {'served' if doc['loads'] else 'not served'}")
        write(os.path.join(HERE, "projects", name + ".json"), doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
