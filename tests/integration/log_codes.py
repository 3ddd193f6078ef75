"""log_codes.py - LOGCODES.md lists every log code the source uses, each from the files it names (driver of log-codes.sh).

Reads every .c and .h under fcgi/ and predictor/ (comments removed), finds each "CFnnnn" string
literal, and checks against the registry's table (| code | file | level | meaning |):
- every code in the source has a row;
- a code is logged only from the file(s) its row names (the same code in two files means two
  meanings unless the row lists both, comma-separated);
- where the call names its level (cf_log_warn("CF....", ...)), the row's level is that level;
- no two rows share a code, and every row has a meaning.
Rows that no source uses are reported as notes. Prints PASS/FAIL lines and "N passed, M failed".
"""

import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
REGISTRY = os.path.join(ROOT, "LOGCODES.md")
CODE = re.compile(r'"(CF[0-9]{4})"')
CALL = re.compile(r'\bcf_log_(debug|info|warn|error)\s*\(\s*"(CF[0-9]{4})"')
ROW = re.compile(r"^\|\s*(CF[0-9]{4})\s*\|([^|]*)\|([^|]*)\|([^|]*)\|\s*$")

passed = failed = 0


def result(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")


def strip_comments(text):
    """C comments out, string literals kept (a code in a comment is an example, not a use)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def source_uses():
    """{code: {file: set(levels)}} for every code literal in fcgi/ and predictor/."""
    uses = {}
    for top in ("fcgi", "predictor"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = strip_comments(f.read())
                for m in CODE.finditer(text):
                    uses.setdefault(m.group(1), {}).setdefault(rel, set())
                for m in CALL.finditer(text):
                    uses[m.group(2)][rel].add(m.group(1))
    return uses


def registry():
    rows, dupes = {}, []
    with open(REGISTRY, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.rstrip("\n"))
            if not m:
                continue
            code = m.group(1)
            files = {x.strip() for x in m.group(2).split(",") if x.strip()}
            row = (files, m.group(3).strip(), m.group(4).strip())
            if code in rows:
                dupes.append(code)
            rows[code] = row
    return rows, dupes


def main():
    if not os.path.exists(REGISTRY):
        result(False, "LOGCODES.md exists")
        print(f"{passed} passed, {failed} failed")
        return 1
    uses = source_uses()
    rows, dupes = registry()
    result(len(uses) > 50, f"the source uses log codes ({len(uses)} found)")
    result(not dupes, "no code has two rows", ", ".join(dupes))
    missing = sorted(c for c in uses if c not in rows)
    result(not missing, "every code in the source is in LOGCODES.md",
           "; ".join(f"{c} ({', '.join(sorted(uses[c]))})" for c in missing))
    clashes = []
    for code, files in sorted(uses.items()):
        if code in rows:
            extra = set(files) - rows[code][0]
            if extra:
                clashes.append(f"{code} is logged from {', '.join(sorted(extra))} but LOGCODES.md "
                               f"gives it to {', '.join(sorted(rows[code][0]))}")
    result(not clashes, "no code is used in a file its row does not name (one meaning per code)",
           "; ".join(clashes))
    wrong = []
    for code, files in sorted(uses.items()):
        levels = set().union(*files.values())
        if code in rows and levels and rows[code][1] not in levels:
            wrong.append(f"{code} is logged at {'/'.join(sorted(levels))}, LOGCODES.md says {rows[code][1]}")
    result(not wrong, "each row's level is the level the source logs it at", "; ".join(wrong))
    empty = sorted(c for c, r in rows.items() if not r[2])
    result(not empty, "every row says what its code means", ", ".join(empty))
    unused = sorted(c for c in rows if c not in uses)
    if unused:
        print(f"     note: rows no source uses (remove them when the code is gone): {', '.join(unused)}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
