#!/usr/bin/env python3
"""cog_fixtures.py - `cog-fcgi schema` against Cog 0.15.5's recorded /openapi.json.

    cog_fixtures.py COG_FCGI TMPDIR

Two sets, both recorded by tests/data/cog-fixtures/record.py:
  * Cog's own server-test fixtures (fixtures/NAME.json). Their source is not in this repository:
    it is read from the Cog tree named by COG_SOURCE_TREE (a checkout of replicate/cog at
    v0.15.5). Without one they are skipped, counting nothing.
  * our projects tests/projects/cogmodel-*/ (projects/NAME.json), always.
A document Cog served must come back identical (values and key order). A predictor Cog could
not load must be refused: a non-zero exit and a message naming the file, a line and the reason.
Prints one line per case and a summary line "N passed, M failed"; for the fixtures also the
figure "fixtures: I of S served identically, R of U refused".
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "cog-fixtures")
PROJECTS = os.path.join(HERE, "..", "projects")


def first_difference(want, got, path=""):
    """A JSON pointer and a short reason where got differs from want (key order counts)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if list(want) != list(got):
            if set(want) != set(got):
                return f"{path or '/'}: keys {sorted(set(want) ^ set(got))} differ"
            for k in want:
                d = first_difference(want[k], got[k], f"{path}/{k}")
                if d:
                    return d
            return f"{path or '/'}: key order {list(got)} instead of {list(want)}"
        for k in want:
            d = first_difference(want[k], got[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return f"{path}: {len(got)} items instead of {len(want)}: {json.dumps(got)[:200]}"
        for i, (a, b) in enumerate(zip(want, got)):
            d = first_difference(a, b, f"{path}/{i}")
            if d:
                return d
        return None
    if type(want) is not type(got) or want != got:
        return f"{path}: {json.dumps(got)[:200]} instead of {json.dumps(want)[:200]}"
    return None


def run_schema(cog_fcgi, project):
    try:
        proc = subprocess.run([cog_fcgi, "schema", project], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after 60 s"
    return proc.returncode, proc.stdout, proc.stderr


def judge(name, record, cog_fcgi, project, file_name):
    """(ok, category, detail) for one recorded case served from project."""
    rc, out, err = run_schema(cog_fcgi, project)
    if rc is None:
        return False, "timeout", err
    if record["loads"]:
        if rc != 0:
            return False, "served", f"exit {rc}: {err.strip()[-300:]}"
        try:
            doc = json.loads(out)
        except ValueError:
            return False, "served", "not JSON: " + out[:200]
        diff = first_difference(record["openapi"], doc)
        return diff is None, "served", diff or ""
    if record.get("status") == 500:
        # Cog serves predictions but fails to render its document: ours must at least exist.
        ok = rc == 0 and "/predictions" in json.loads(out or "{}").get("paths", {})
        return ok, "cog-500", "" if ok else f"exit {rc}: {err.strip()[-300:]}"
    # one line of the message names the file, a line and the reason: "x.py, line 3: why"
    # (what cog refuses) or "...failed: why (at /abs/x.py:3, in <module>)" (what the
    # model's code raised while being imported)
    where = re.compile(re.escape(file_name) + r", line \d+: \S|failed: \S.* \(at \S*"
                       + re.escape(file_name) + r":\d+")
    lines = [line for line in err.splitlines() if where.search(line)]
    ok = rc != 0 and bool(lines)
    return ok, "refused", lines[-1][:300] if lines else f"exit {rc}: {err.strip()[-300:]}"


def fixture_project(tmp, cog_tree, name, refs):
    src = os.path.join(cog_tree, "python", "tests", "server", "fixtures", name + ".py")
    project = os.path.join(tmp, "fixture-" + name)
    os.makedirs(os.path.join(project, "fixtures"), exist_ok=True)
    shutil.copy(src, os.path.join(project, "fixtures", name + ".py"))
    with open(os.path.join(project, "cog.yaml"), "w") as f:
        for key in ("predict", "train"):
            if refs.get(key):
                f.write(f'{key}: "fixtures/{refs[key]}"\n')
    return project


def main():
    cog_fcgi, tmp = sys.argv[1], sys.argv[2]
    passed = failed = 0
    counts = {}
    cog_tree = os.environ.get("COG_SOURCE_TREE", "")
    fixtures = os.path.join(cog_tree, "python", "tests", "server", "fixtures")
    records = sorted(os.listdir(os.path.join(DATA, "fixtures")))
    if not cog_tree or not os.path.isdir(fixtures):
        print("skipped: no Cog tree (set COG_SOURCE_TREE to a replicate/cog v0.15.5 checkout "
              f"to compare the {len(records)} fixtures)")
    else:
        for fname in records:
            name = fname[:-5]
            with open(os.path.join(DATA, "fixtures", fname)) as f:
                record = json.load(f)
            project = fixture_project(tmp, cog_tree, name, record["ref"])
            ok, cat, detail = judge(name, record, cog_fcgi, project, name + ".py")
            good, total = counts.get(cat, (0, 0))
            counts[cat] = (good + ok, total + 1)
            print(f"{'PASS' if ok else 'FAIL'} fixture {name} ({cat}){': ' + detail if detail else ''}")
            passed, failed = passed + ok, failed + (not ok)
            shutil.rmtree(project, ignore_errors=True)
        s, r, c = counts.get("served", (0, 0)), counts.get("refused", (0, 0)), counts.get("cog-500", (0, 0))
        print(f"fixtures: {s[0]} of {s[1]} served identically, {r[0]} of {r[1]} refused with "
              f"file, line and reason, {c[0]} of {c[1]} that Cog cannot render served")
    for fname in sorted(os.listdir(os.path.join(DATA, "projects"))):
        name = fname[:-5]
        with open(os.path.join(DATA, "projects", fname)) as f:
            record = json.load(f)
        project = os.path.join(tmp, name)
        shutil.copytree(os.path.join(PROJECTS, name), project)
        ok, cat, detail = judge(name, record, cog_fcgi, project, "predict.py")
        print(f"{'PASS' if ok else 'FAIL'} project {name} ({cat}){': ' + detail if detail else ''}")
        passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
