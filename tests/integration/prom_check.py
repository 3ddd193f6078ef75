"""prom_check.py FILE - checks Prometheus text exposition format 0.0.4 where promtool is absent.

Every sample line is NAME{LABELS} VALUE with a valid name, labels, a float value; every
family has # HELP and # TYPE before its samples; histogram buckets are cumulative and end
with le="+Inf" equal to _count. Exit status 0 when the file conforms.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")


def main(path):
    types, helps, problems = {}, set(), []
    buckets = {}
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
                problems.append(f"{n}: bad type {kind}")
            types[name] = kind
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f"{n}: not a sample: {line!r}")
            continue
        name, labels, value = m.groups()
        try:
            float(value)
        except ValueError:
            problems.append(f"{n}: bad value {value!r}")
        family = re.sub(r"_(bucket|sum|count|total)$", "", name)
        fam = next((f for f in (name, family, family + "_total") if f in types), None)
        if fam is None:
            problems.append(f"{n}: {name} has no # TYPE")
        elif fam not in helps:
            problems.append(f"{n}: {fam} has no # HELP")
        if fam and types[fam] == "counter" and not name.endswith("_total"):
            problems.append(f"{n}: counter {name} should end in _total")
        if name.endswith("_bucket"):
            key = (family, re.sub(r',?le="[^"]*"', "", labels or ""))
            buckets.setdefault(key, []).append(float(value))
    for key, vals in buckets.items():
        if vals != sorted(vals):
            problems.append(f"{key}: buckets are not cumulative")
    for p in problems:
        print(p)
    return 1 if problems else 0


sys.exit(main(sys.argv[1]))
