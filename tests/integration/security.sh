#!/usr/bin/env bash
# security.sh - safe on a shared host: secrets stay secret, a runaway model fails alone, a
# hosted user's own virtualenv is used.
#
# 1. A Secret input never appears in the front's log, the state files or webhook bodies.
# 2. A model allocating past --worker-memory fails its prediction; the next one succeeds.
# 3. PROJECT/.venv is the interpreter the model runs in.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

SECRET=s3cr3t-VALUE-$$-do-not-leak

# --- 1. secrets: conformance case 04 has `token: Secret`
hook_port=$(free_port)
mkdir -p "$T/hooks"
cat >"$T/hooks.py" <<'PY'
import sys, os, itertools
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
out = sys.argv[2]
n = itertools.count()
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(out, f"{next(n)}.json"), "wb") as f:
            f.write(body)
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
start_bg "$T/hooks.log" /usr/bin/python3 "$T/hooks.py" "$hook_port" "$T/hooks"
wait_port "$hook_port" || { fail "webhook receiver starts"; finish; }

ks=$ROOT/tests/conformance/cases/04-kitchen-sink
sock=$T/cog.sock
state=$T/state-secret
start_front "$ks" "$sock" --state-dir "$state" --log-level debug || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

body="{\"id\":\"sec1\",\"input\":{\"prompt\":\"hello\",\"verbose\":true,\"token\":\"$SECRET\"},\"webhook\":\"http://127.0.0.1:$hook_port/h\"}"
curl -s -o "$T/sec1.json" -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary "$body" "$BASE/predictions"
for _ in $(seq 50); do
    http GET "$BASE/predictions/sec1"
    case $HTTP_BODY in *'"succeeded"'*) break ;; esac
    sleep 0.1
done
expect_json "the prediction with a secret succeeds" /status succeeded
expect_json "the secret is masked in the answer" /input/token "**********"
check "the model got the real secret (token_len=${#SECRET})" sh -c "printf '%s' '$HTTP_BODY' | grep -q 'token_len=${#SECRET}'"
sleep 1
check "webhooks were delivered" sh -c "ls '$T/hooks' | grep -q json"
check "no webhook body holds the secret" sh -c "! grep -rq -- '$SECRET' '$T/hooks'"
check "no state file holds the secret" sh -c "! grep -rq -- '$SECRET' '$state'"
check "the front's log does not hold the secret" sh -c "! grep -q -- '$SECRET' '$FRONT_LOG'"
check "the 202 answer does not hold the secret" sh -c "! grep -q -- '$SECRET' '$T/sec1.json'"
# a webhook aimed at cloud metadata is never sent (the fetch policy covers webhooks too)
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary '{"id":"meta1","input":{"prompt":"hi"},"webhook":"http://169.254.169.254/latest/meta-data"}' \
    "$BASE/predictions"
for _ in $(seq 50); do
    http GET "$BASE/predictions/meta1"
    case $HTTP_BODY in *'"succeeded"'*) break ;; esac
    sleep 0.1
done
expect_json "a prediction with a metadata webhook still runs" /status succeeded
sleep 0.5
check "its webhook is refused by the fetch policy, not sent" grep -q 'CF0806.*169.254.169.254' "$FRONT_LOG"
stop_front 2>/dev/null || kill "$FRONT_PID"
stop_nginx 2>/dev/null || kill "$NGINX_PID"

# --- 2. --worker-memory
mem=$T/mem
mkdir -p "$mem"
printf 'predict: "predict.py:Predictor"\n' >"$mem/cog.yaml"
cat >"$mem/predict.py" <<'PY'
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, mb: int = Input(default=10)) -> int:
        data = bytearray(mb * 1024 * 1024)
        return len(data)
PY
sock2=$T/cog2.sock
start_front "$mem" "$sock2" --worker-memory 512M || { fail "cog-fcgi starts with --worker-memory"; finish; }
start_nginx "$T/nginx2" "$(free_port)" "$sock2" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
http POST "$BASE/predictions" '{"input":{"mb":4096}}'
expect_code "a runaway allocation still answers 200" 200
expect_json "it fails its prediction" /status failed
check "with a memory error" sh -c "printf '%s' '$HTTP_BODY' | grep -q MemoryError"
http POST "$BASE/predictions" '{"input":{"mb":10}}'
expect_json "the next prediction succeeds" /status succeeded
expect_json "with its output" /output 10485760
http GET "$BASE/health-check"
expect_json "the server is READY" /status READY

# --- 3. a project's .venv
venvp=$T/venvproj
mkdir -p "$venvp"
printf 'predict: "predict.py:Predictor"\n' >"$venvp/cog.yaml"
cat >"$venvp/predict.py" <<'PY'
import sys
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self) -> str:
        return sys.prefix
PY
if /usr/bin/python3 -m venv "$venvp/.venv" >/dev/null 2>&1; then
    out=$("$COG_FCGI" predict "$venvp" 2>/dev/null)
    check "the model runs in PROJECT/.venv (sys.prefix=$out)" test "$out" = "$venvp/.venv"
    mv "$venvp/.venv" "$T/othervenv"
    out=$("$COG_FCGI" predict "$venvp" 2>/dev/null)
    check "without .venv it runs in Debian's Python (sys.prefix=$out)" test "$out" = "/usr"
else
    fail "python3 -m venv works (install python3-venv)"
fi
finish
