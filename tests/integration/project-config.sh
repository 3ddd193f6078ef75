#!/usr/bin/env bash
# project-config.sh - what cog.yaml says reaches the server: environment, python_version,
# train:, unknown keys, a signature that cannot be typed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

p=$T/envproj
mkdir -p "$p"
cat >"$p/cog.yaml" <<'YAML'
build:
  python_version: "3.9"
predict: "predict.py:Predictor"
environment:
  - GREETING=bonjour
  - COG_FCGI_TEST_FLAG=on
YAML
cat >"$p/predict.py" <<'PY'
import os
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self) -> str:
        return os.environ["GREETING"] + "/" + os.environ["COG_FCGI_TEST_FLAG"]
PY
out=$("$COG_FCGI" predict "$p" 2>"$T/env.err")
check "cog.yaml environment reaches the model (got: $out)" test "$out" = "bonjour/on"
check "a python_version mismatch is a warning naming both versions" \
    sh -c "grep -q '3.9' '$T/env.err' && grep -q '3.11' '$T/env.err'"

bad=$T/badkey
mkdir -p "$bad"
printf 'build:\n  python_version: "3.11"\n  gpus: true\npredict: "predict.py:Predictor"\n' >"$bad/cog.yaml"
cp "$p/predict.py" "$bad/"
"$COG_FCGI" serve "$bad" --listen "unix:$T/bad.sock" 2>"$T/bad.err"
rc=$?
check "an unknown key under build is refused (exit $rc)" test "$rc" -ne 0
check "the error names the file, the line and the key" grep -q 'cog.yaml:3: .*gpus' "$T/bad.err"

untyped=$T/untyped
mkdir -p "$untyped"
printf 'predict: "predict.py:Predictor"\n' >"$untyped/cog.yaml"
cat >"$untyped/predict.py" <<'PY'
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, x):
        return x
PY
sock=$T/untyped.sock
start_front "$untyped" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE"
http GET "$BASE/health-check"
expect_json "an untyped signature is SETUP_FAILED" /status SETUP_FAILED
check "the setup logs say why" sh -c "printf '%s' '$HTTP_BODY' | grep -q 'No input type provided for parameter'"
http POST "$BASE/predictions" '{"input":{"x":1}}'
expect_code "predictions get 503" 503
stop_front 2>/dev/null || kill "$FRONT_PID"
stop_nginx 2>/dev/null || kill "$NGINX_PID"

sock=$T/train.sock
start_front "$ROOT/tests/projects/train" "$sock" || { fail "cog-fcgi starts (train)"; finish; }
start_nginx "$T/nginx2" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE"
http POST "$BASE/trainings" '{"input":{"steps":5,"name":"t"}}'
expect_json "/trainings calls the train: entry" /output/message "t done"
expect_json "with the training's output object" /output/steps 5
http POST "$BASE/predictions" '{"input":{"x":4}}'
expect_json "/predictions still calls predict()" /output 40
http PUT "$BASE/trainings/tr-1" '{"input":{"steps":500}}'
expect_code "training inputs are validated (le=100)" 422
http GET "$BASE/"
expect_json "the index lists trainings_url" /trainings_url /trainings
http GET "$BASE/openapi.json"
check "the schema has TrainingInput" sh -c "printf '%s' '$HTTP_BODY' | grep -q TrainingInput"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -X POST "$BASE/predictions/")
check "a trailing slash redirects as Cog does (got: $code)" test "$code" = "307 $BASE/predictions"
finish
