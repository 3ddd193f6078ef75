#!/usr/bin/env bash
# record-lifecycle.sh - a prediction's life around its slot (issue 7).
#
# - A URL input is fetched before the prediction takes the worker: a URL that trickles 1 byte/s
#   does not delay the next prediction, and the slow one's started_at is set when the model
#   starts, after its download.
# - SIGTERM with 8 busy sync clients (1 running, 7 queued) fails none of them: what was
#   accepted finishes within --shutdown-grace.
# - A request that arrives during a setup() that never ends waits no longer than the setup
#   timeout.
# Prints the figures.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

now_ms() { date +%s%3N; }

# --- a trickling URL does not hold the slot
cat >"$T/files.py" <<'PY'
import http.server, sys, time

class Files(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        body = b"x" * (5 if self.path == "/trickle" else 100)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for b in body:
            self.wfile.write(bytes([b]))
            self.wfile.flush()
            if self.path == "/trickle":
                time.sleep(1)

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Files).serve_forever()
PY
fport=$(free_port)
start_bg "$T/files.log" "$PY" "$T/files.py" "$fport"
wait_port "$fport" 10 || { fail "file server starts"; finish; }
sock=$T/cog.sock
start_front "$ROOT/tests/projects/fetch" "$sock" --fetch-timeout 30 || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary "{\"id\":\"trickle2\",\"input\":{\"source\":\"http://127.0.0.1:$fport/trickle\"}}" \
    "$BASE/predictions"
sleep 0.3
t0=$(now_ms)
http POST "$BASE/predictions" "{\"input\":{\"source\":\"http://127.0.0.1:$fport/small\"}}"
t1=$(now_ms)
expect_json "the next prediction succeeds while a URL trickles" /output "100 bytes"
echo "figure: the next prediction took $((t1 - t0)) ms while a 1 byte/s URL was downloading"
check "it was not delayed by the trickling download ($((t1 - t0)) ms < 2000 ms)" test $((t1 - t0)) -lt 2000
http GET "$BASE/predictions/trickle2"
started=$(printf '%s' "$HTTP_BODY" | json_get /started_at 2>/dev/null)
check "the trickling prediction has not started while it downloads (started_at ${started:-null})" \
    test -z "$started" -o "$started" = null -o "$started" = None
for _ in $(seq 100); do
    http GET "$BASE/predictions/trickle2"
    case $HTTP_BODY in *'"succeeded"'*) break ;; esac
    sleep 0.1
done
expect_json "the trickling prediction succeeds once its file is in" /output "5 bytes"
stop_nginx
stop_front

# --- SIGTERM with 8 busy clients fails none
start_front "$ROOT/tests/projects/slow" "$sock" --queue 8 --shutdown-grace 30 ||
    { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx2" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
pids=""
for i in 1 2 3 4 5 6 7 8; do
    curl -s --max-time 60 -o "$T/busy$i.json" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' \
        --data-binary '{"input":{"seconds":0.4}}' "$BASE/predictions" >"$T/busy$i.code" &
    pids="$pids $!"
    sleep 0.05
done
sleep 0.3
t0=$(now_ms)
kill -TERM "$FRONT_PID"
wait "$FRONT_PID"
rc=$?
t1=$(now_ms)
forget_pid "$FRONT_PID"
# shellcheck disable=SC2086
wait $pids
ok=0
for i in 1 2 3 4 5 6 7 8; do
    [ "$(cat "$T/busy$i.code")" = 200 ] && grep -q '"succeeded"' "$T/busy$i.json" && ok=$((ok + 1))
done
echo "figure: SIGTERM with 8 busy clients: $ok of 8 succeeded, the front exited in $((t1 - t0)) ms"
check "SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
check "no accepted request fails at SIGTERM ($ok of 8 succeeded)" test "$ok" = 8
stop_nginx

# --- a request during a setup that never ends waits only the setup timeout
mkdir -p "$T/stuck"
cat >"$T/stuck/cog.yaml" <<'Y'
build:
  python_version: "3.11"
predict: "predict.py:Predictor"
Y
cat >"$T/stuck/predict.py" <<'P'
import time
from cog import BasePredictor

class Predictor(BasePredictor):
    def setup(self):
        time.sleep(600)

    def predict(self) -> str:
        return "never"
P
start_front "$T/stuck" "$sock" --setup-timeout 2 || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx3" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
t0=$(now_ms)
http POST "$BASE/predictions" '{"input":{}}'
t1=$(now_ms)
echo "figure: a request during a stuck setup() answered $HTTP_CODE after $((t1 - t0)) ms (--setup-timeout 2)"
expect_code "a request during a stuck setup gets 503" 503
check "it waited no longer than the setup timeout ($((t1 - t0)) ms < 4000 ms)" test $((t1 - t0)) -lt 4000
finish
