#!/usr/bin/env bash
# cli.sh - the command line without a server: `cog-fcgi predict`, `schema`, `--help`, `--version`.
# shellcheck disable=SC2034  # HTTP_BODY is read by lib.sh's expect_json
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

# output_of FILE: the prediction's output, whether the CLI printed the whole prediction object,
# the output as JSON, or a string output as plain text.
output_of() {
    "$PY" -c '
import json, sys
text = open(sys.argv[1]).read()
try:
    v = json.loads(text)
except ValueError:
    v = text.rstrip("\n")
if isinstance(v, dict) and "output" in v and "status" in v:
    v = v["output"]
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

hello=$ROOT/examples/hello-world
digits=$ROOT/examples/digits

timeout 30 "$COG_FCGI" --help >"$T/help" 2>&1
check "--help exits 0" test $? = 0
check "--help names the commands" grep -q 'serve' "$T/help"
timeout 30 "$COG_FCGI" --version >"$T/version" 2>&1
check "--version exits 0" test $? = 0
check "--version prints a version" grep -qE '[0-9]+\.[0-9]+\.[0-9]+' "$T/version"

timeout 120 "$COG_FCGI" schema "$hello" >"$T/schema.json" 2>"$T/schema.err"
check "schema exits 0" test $? = 0
HTTP_BODY=$(cat "$T/schema.json")
expect_json "schema is OpenAPI 3.0.2" /openapi 3.0.2
expect_json "schema has the text input" /components/schemas/Input/properties/text/type string
expect_json "schema has the input's description" /components/schemas/Input/properties/text/description "Text to prefix with 'hello '"
expect_json "schema: text is required" /components/schemas/Input/required '["text"]'

timeout 120 "$COG_FCGI" predict "$hello" -i text=world >"$T/hello.json" 2>"$T/hello.err"
rc=$?
check "predict hello-world exits 0" test $rc = 0
got=$(output_of "$T/hello.json" 2>/dev/null)
if [ "$got" = "hello world" ]; then
    pass "predict hello-world says hello world"
else
    fail "predict hello-world says hello world" "got: $(head -c 300 "$T/hello.json") $(tail -n 5 "$T/hello.err")"
fi

timeout 120 "$COG_FCGI" predict "$hello" -i text=json --output-json >"$T/hello-json.json" 2>"$T/hello-json.err"
HTTP_BODY=$(cat "$T/hello-json.json")
expect_json "predict --output-json prints the prediction: status" /status succeeded
expect_json "predict --output-json prints the prediction: output" /output "hello json"
expect_json "predict --output-json prints the prediction: input" /input/text json

timeout 120 "$COG_FCGI" predict "$hello" >"$T/none.json" 2>"$T/none.err"
check "predict without a required input exits non-zero" test $? != 0
timeout 120 "$COG_FCGI" predict "$T/no-such-project" -i text=x >/dev/null 2>&1
check "predict on a missing project exits non-zero" test $? != 0

label=$("$PY" "$ROOT/tests/integration/digit_image.py" 42 "$T/digit.png")
timeout 240 "$COG_FCGI" predict "$digits" -i image=@"$T/digit.png" >"$T/digit.json" 2>"$T/digit.err"
check "predict digits -i image=@file exits 0" test $? = 0
got=$(output_of "$T/digit.json" 2>/dev/null | json_get /digit 2>/dev/null)
if [ "$got" = "$label" ]; then
    pass "predict digits reads a $label"
else
    fail "predict digits reads a $label" "got: $(head -c 300 "$T/digit.json") $(tail -n 5 "$T/digit.err")"
fi

# -o writes file outputs; the copy of a project that returns a file is made here.
mkdir -p "$T/fileout"
cat >"$T/fileout/cog.yaml" <<'YAML'
predict: "predict.py:Predictor"
YAML
cat >"$T/fileout/predict.py" <<'PY'
import os
import tempfile

from cog import BasePredictor, Path


class Predictor(BasePredictor):
    def predict(self, text: str) -> Path:
        out = os.path.join(tempfile.mkdtemp(), "out.txt")
        with open(out, "w") as f:
            f.write(text)
        return Path(out)
PY
timeout 120 "$COG_FCGI" predict "$T/fileout" -i text=written -o "$T/out.txt" >"$T/fileout.json" 2>"$T/fileout.err"
check "predict -o exits 0" test $? = 0
check "predict -o writes the file output" grep -qx written "$T/out.txt"

# --- parity with cog predict --------------------------------------------------------------
# run_in DIR NAME ARGS...: `cog-fcgi predict ARGS` in DIR; sets RC, OUT (stdout file), ERR.
run_in() {
    local dir=$1 name=$2
    shift 2
    OUT=$T/p.$name.out
    ERR=$T/p.$name.err
    (cd "$dir" && timeout 120 "$COG_FCGI" predict "$@" >"$OUT" 2>"$ERR")
    RC=$?
}
expect_rc() {
    if [ "$RC" "$2" "$3" ]; then pass "$1"; else fail "$1" "exit $RC; stdout: $(head -c 300 "$OUT"); stderr: $(tail -n 5 "$ERR")"; fi
}
expect_out() {
    local got
    got=$(cat "$OUT")
    if [ "$got" = "$2" ]; then pass "$1"; else fail "$1" "stdout: $got; stderr: $(tail -n 5 "$ERR")"; fi
}
expect_err() {
    if grep -qE -- "$2" "$ERR"; then pass "$1"; else fail "$1" "no /$2/ in stderr: $(tail -n 8 "$ERR")"; fi
}

run_in "$hello" cwd -i text=world
expect_rc "the project defaults to the current directory" -eq 0
expect_out "... and predicts there" "hello world"

run_in "$hello" json --json '{"text": "json"}'
expect_rc "--json '{...}': exit 0" -eq 0
HTTP_BODY=$(cat "$OUT")
expect_json "--json '{...}' gives the inputs (and prints the prediction, as cog does)" /output "hello json"
printf '{"text": "from a file"}' >"$T/in.json"
run_in "$hello" jsonfile --json @"$T/in.json"
HTTP_BODY=$(cat "$OUT")
expect_json "--json @in.json" /output "hello from a file"
OUT=$T/p.stdin.out
(cd "$hello" && printf '{"text": "stdin"}' | timeout 120 "$COG_FCGI" predict --json @- >"$OUT" 2>"$T/p.stdin.err")
HTTP_BODY=$(cat "$OUT")
expect_json "--json @- reads stdin" /output "hello stdin"
run_in "$hello" both --json '{"text": "x"}' -i text=y
expect_rc "--json and -i together: an error" -ne 0

run_in "$hello" unknown -i text=x -i colour=red
expect_rc "an unknown input: non-zero exit" -ne 0
expect_err "an unknown input is named, with the inputs there are" "unknown input 'colour'; the model takes: text"
run_in "$hello" unknownjson --json '{"text": "x", "colour": "red"}'
expect_rc "an unknown input in --json: non-zero exit" -ne 0
run_in "$hello" stray . extra
expect_rc "a stray argument: exit 2" -eq 2
expect_err "a stray argument is named" "unexpected argument 'extra'"
run_in "$hello" forgot text=world
expect_rc "name=value without -i: exit 2" -eq 2
expect_err "name=value without -i: did you forget -i?" "Did you forget -i"

proj=$T/outputs
mkdir -p "$proj"
printf 'predict: "predict.py:Predictor"\n' >"$proj/cog.yaml"
cat >"$proj/predict.py" <<'PY'
import os
import tempfile
import time

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(self, kind: str = "file", text: str = "one", image: Path = Input(default=None)) -> object:
        d = tempfile.mkdtemp()
        if kind == "file":
            p = os.path.join(d, "made.png")
            with open(p, "w") as f:
                f.write(text)
            return Path(p)
        if kind == "list":
            out = []
            for i in range(2):
                p = os.path.join(d, f"t{i}.txt")
                with open(p, "w") as f:
                    f.write(f"item {i}")
                out.append(Path(p))
            return out
        if kind == "float":
            return 0.999909
        if kind == "dict":
            return {"p": 0.999909, "n": [1, 2.5]}
        if kind == "live":
            print("first line", flush=True)
            time.sleep(3)
            print("second line", flush=True)
            return "done"
        if kind == "env":
            return os.environ.get("CF_TEST_VAR", "unset")
        if kind == "image":
            return f"{image.stat().st_size} bytes"
        return kind
PY
work=$T/work
mkdir -p "$work"
cp -r "$proj/." "$work/"
run_in "$work" file -i text=first
expect_rc "a file output: exit 0" -eq 0
check "a file output is written as output.<ext>, Cog's name" grep -qx first "$work/output.png"
check "... with the usual mode (0644 under umask 022)" test "$(umask 022; cd "$work" && timeout 120 "$COG_FCGI" predict -i text=m >/dev/null 2>&1; stat -c %a "$work/output.png")" = 644
run_in "$work" file2 -i text=second
check "output.<ext> is overwritten by the next run" grep -qx second "$work/output.png"
if grep -q cogfile "$OUT" "$ERR"; then fail "no {\"\$cogfile\"} leaks" "$(cat "$OUT")"; else pass "no {\"\$cogfile\"} leaks"; fi
expect_err "the written path is said" "Written output to: output.png"
run_in "$work" list -i kind=list
check "a list of files is output.0.<ext>, output.1.<ext>" test "$(cat "$work/output.0.txt") $(cat "$work/output.1.txt")" = "item 0 item 1"
run_in "$work" odir -i text=indir -o "$T"
check "-o DIR writes DIR/output.<ext>" grep -qx indir "$T/output.png"
run_in "$work" ofile -i text=named -o "$T/named.png"
check "-o FILE writes exactly there" grep -qx named "$T/named.png"
run_in "$work" jsonout --json '{"text": "asjson"}' -o "$T/pred.json"
HTTP_BODY=$(cat "$T/pred.json")
expect_json "--json -o x.json: the prediction is written to x.json" /status succeeded
expect_json "--json -o x.json: its file output beside it as x.<ext>" /output "$T/pred.png"
check "--json -o x.json: x.png holds the file" grep -qx asjson "$T/pred.png"
mkdir -p "$T/jdir"
run_in "$work" jsondir --json '{"text": "indir"}' -o "$T/jdir"
check "--json -o DIR: DIR/output.json and DIR/output.<ext>" test -s "$T/jdir/output.json" -a -s "$T/jdir/output.png"
if grep -q CF0304 "$ERR"; then fail "a one-shot predict does not log its worker's normal end as an error" "$(grep CF0304 "$ERR")"; else pass "a one-shot predict does not log its worker's normal end as an error"; fi
run_in "$work" nodir -i text=x -o "$T/no-such-dir/out.png"
expect_rc "-o in a missing directory: non-zero exit" -ne 0
expect_err "-o in a missing directory: says so" "the directory $T/no-such-dir does not exist"
if [ -s "$OUT" ]; then fail "-o in a missing directory: nothing on stdout" "$(cat "$OUT")"; else pass "-o in a missing directory: nothing on stdout"; fi

run_in "$proj" float -i kind=float
expect_out "a float prints as the HTTP API prints it" "0.999909"
run_in "$proj" dict -i kind=dict
expect_out "floats inside JSON too, indented as cog prints it" '{
  "p": 0.999909,
  "n": [
    1,
    2.5
  ]
}'
run_in "$proj" env -i kind=env -e CF_TEST_VAR=hello
expect_out "-e KEY=VALUE reaches the model" "hello"
printf 'abc' >"$T/three.bin"
run_in "$proj" nohat -i kind=image -i image="$T/three.bin"
expect_rc "-i image=file without @: non-zero exit" -ne 0
expect_err "-i image=file without @ hints at @" "to send the file, write -i image=@$T/three.bin"
run_in "$proj" hat -i kind=image -i image=@"$T/three.bin"
expect_out "-i image=@file sends the file" "3 bytes"

# Live logs: the first line is on stderr while the model still runs.
(cd "$proj" && exec timeout 60 "$COG_FCGI" predict -i kind=live >"$T/live.out" 2>"$T/live.err") &
live=$!
seen=""
for _ in $(seq 150); do
    if grep -q "first line" "$T/live.err" 2>/dev/null; then seen=1; break; fi
    sleep 0.1
done
if [ -n "$seen" ] && kill -0 "$live" 2>/dev/null && ! grep -q "second line" "$T/live.err"; then
    pass "logs stream live while the model runs"
else
    fail "logs stream live while the model runs" "$(cat "$T/live.err")"
fi
wait "$live"
check "the live prediction then ends with its output" grep -qx done "$T/live.out"

mkdir -p "$T/slowsetup"
printf 'predict: "predict.py:Predictor"\n' >"$T/slowsetup/cog.yaml"
cat >"$T/slowsetup/predict.py" <<'PY'
import time

from cog import BasePredictor


class Predictor(BasePredictor):
    def setup(self) -> None:
        time.sleep(30)

    def predict(self) -> str:
        return "late"
PY
start=$(date +%s)
run_in "$T/slowsetup" setuptimeout --setup-timeout 1
took=$(( $(date +%s) - start ))
expect_rc "--setup-timeout 1 on a 30 s setup: non-zero exit" -ne 0
check "--setup-timeout 1 stops it early (${took} s)" test "$took" -lt 20
run_in "$T/slowsetup" badtimeout --setup-timeout soon
expect_rc "--setup-timeout soon: exit 2" -eq 2
run_in "$ROOT" failing tests/projects/faulty -i mode=fail
expect_rc "a failing prediction: exit 1" -eq 1
expect_err "a failing prediction: the traceback streams to stderr" '^ValueError: asked to fail$'
expect_err "a failing prediction: one line with the error and file:line" "^cog-fcgi: prediction failed: ValueError: asked to fail \(at $ROOT/tests/projects/faulty/predict.py:[0-9]+, in predict\)$"
run_in "$ROOT" setupfails tests/projects/setup-fails
expect_rc "a failing setup: exit 1" -eq 1
expect_err "a failing setup: its print streams to stderr" '^loading weights from nowhere$'
expect_err "a failing setup: one line with the error and file:line" "^cog-fcgi: setup\(\) failed: RuntimeError: weights not found \(at $ROOT/tests/projects/setup-fails/predict.py:8, in setup\)$"
timeout 30 "$COG_FCGI" predict --help >"$T/phelp" 2>&1
check "predict --help exits 0" test $? = 0
for opt in --input --json --output --output-json --env --setup-timeout --venv; do
    check "predict --help lists $opt" grep -q -- "$opt" "$T/phelp"
done
(cd "$hello" && timeout 120 "$COG_FCGI" schema >"$T/schema-cwd.json" 2>/dev/null)
HTTP_BODY=$(cat "$T/schema-cwd.json")
expect_json "schema: the project defaults to the current directory" /openapi 3.0.2
finish
