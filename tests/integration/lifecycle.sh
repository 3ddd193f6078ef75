#!/usr/bin/env bash
# lifecycle.sh - signals as operators expect (issue: lifecycle signals).
#
# SIGHUP reloads the project without dropping a request (a prediction running during the
# reload finishes; the next one runs the new code); SIGTERM lets the running prediction finish,
# keeps queued async predictions for the next start and exits 0; SIGINT stops at once and
# records the running prediction as interrupted; POST /shutdown is a graceful stop; SIGUSR1 is
# harmless.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

proj=$T/proj
mkdir -p "$proj"
printf 'predict: "predict.py:Predictor"\n' >"$proj/cog.yaml"
write_model() {
    cat >"$proj/predict.py" <<PY
import time
from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, seconds: float = Input(default=0.0)) -> str:
        time.sleep(seconds)
        return "$1"
PY
}
write_model v1
sock=$T/cog.sock
state=$T/state-lifecycle
start_front "$proj" "$sock" --state-dir "$state" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

post_bg() { # post_bg NAME BODY [HEADER]: a prediction in the background, answer in $T/NAME.*
    curl -s --max-time 60 -o "$T/$1.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        ${3:+-H "$3"} --data-binary "$2" "$BASE/predictions" >"$T/$1.code" &
    BG="$BG $!"
}
BG=""
wait_bg() { # waits for the background predictions only (not the servers)
    local p
    for p in $BG; do wait "$p"; done
    BG=""
}

# --- SIGHUP: reload while a prediction runs
post_bg hup1 '{"id":"hup1","input":{"seconds":1.5}}'
sleep 0.4
write_model v2
kill -HUP "$FRONT_PID"
sleep 0.2
post_bg hup2 '{"id":"hup2","input":{}}'
wait_bg
check "the prediction running during SIGHUP answers 200" test "$(cat "$T/hup1.code")" = 200
check "it finished on the old code" grep -q '"output":"v1"' "$T/hup1.json"
check "a request sent during the reload answers 200" test "$(cat "$T/hup2.code")" = 200
check "it ran the reloaded code" grep -q '"output":"v2"' "$T/hup2.json"
check "the front survived SIGHUP" kill -0 "$FRONT_PID"

# --- SIGUSR1 is harmless
kill -USR1 "$FRONT_PID"
sleep 0.2
http GET "$BASE/health-check"
expect_json "SIGUSR1 leaves the server READY" /status READY

# --- SIGTERM: the running prediction finishes, queued async ones stay for the next start
post_bg term1 '{"id":"term1","input":{"seconds":1.0}}'
sleep 0.3
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary '{"id":"term-queued","input":{"seconds":0.1}}' "$BASE/predictions"
kill -TERM "$FRONT_PID"
wait "$FRONT_PID"
rc=$?
wait_bg
check "SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
check "the prediction running at SIGTERM still answers 200" test "$(cat "$T/term1.code")" = 200
check "and it succeeded" grep -q '"status":"succeeded"' "$T/term1.json"
check "the queued async prediction is kept on disk" grep -q '"processing"' "$state/term-queued.json"
forget_pid "$FRONT_PID"

start_front "$proj" "$sock" --state-dir "$state" || { fail "cog-fcgi restarts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY again"; finish; }
for _ in $(seq 50); do
    http GET "$BASE/predictions/term-queued"
    case $HTTP_BODY in *'"succeeded"'*) break ;; esac
    sleep 0.1
done
expect_json "the kept prediction runs after the restart" /status succeeded

# --- SIGINT: at once, the running prediction is recorded as interrupted
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary '{"id":"int1","input":{"seconds":5}}' "$BASE/predictions"
sleep 0.5
start=$(date +%s%N)
kill -INT "$FRONT_PID"
wait "$FRONT_PID"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "SIGINT exits 0 (got $rc)" test "$rc" -eq 0
check "SIGINT does not wait for the 5 s prediction (${ms} ms)" test "$ms" -lt 3000
check "the running prediction is recorded as interrupted" grep -q 'interrupted' "$state/int1.json"
forget_pid "$FRONT_PID"

# --- POST /shutdown
start_front "$proj" "$sock" --state-dir "$state" || { fail "cog-fcgi restarts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY again"; finish; }
http GET "$BASE/predictions/int1"
expect_json "after a restart the interrupted prediction polls as failed" /status failed
http POST "$BASE/shutdown" '{}'
expect_code "POST /shutdown answers 200" 200
for _ in $(seq 50); do kill -0 "$FRONT_PID" 2>/dev/null || break; sleep 0.1; done
check "POST /shutdown stops the server" sh -c "! kill -0 $FRONT_PID 2>/dev/null"
finish
