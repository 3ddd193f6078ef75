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

timeout 120 "$COG_FCGI" predict "$hello" -i text=json --json >"$T/hello-json.json" 2>"$T/hello-json.err"
HTTP_BODY=$(cat "$T/hello-json.json")
expect_json "predict --json prints the prediction: status" /status succeeded
expect_json "predict --json prints the prediction: output" /output "hello json"
expect_json "predict --json prints the prediction: input" /input/text json

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
finish
