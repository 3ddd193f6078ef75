#!/usr/bin/env bash
# limits.sh - the front's bounds answer clearly: 413 over --max-body, 409 when the queue is full,
# and queued requests wait their turn instead of being refused.
# shellcheck disable=SC2034  # HTTP_BODY is read by lib.sh's expect_json
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

sock=$T/cog.sock
port=$(free_port)
start_nginx "$T/nginx" "$port" "$sock" || { fail "nginx starts"; finish; }

# slow_post ID SECONDS: a prediction in the background; its status code lands in $T/ID.code.
slow_post() {
    curl -s --max-time 60 -o "$T/$1.json" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' \
        --data-binary "{\"id\":\"$1\",\"input\":{\"seconds\":$2}}" "$BASE/predictions" >"$T/$1.code" &
    SLOW_PIDS="$SLOW_PIDS $!"
}
SLOW_PIDS=""
wait_slow() {
    local p
    for p in $SLOW_PIDS; do wait "$p"; done
    SLOW_PIDS=""
}

# --- Cog's own behaviour: no queue, a busy model refuses with 409; small body limit.
start_front "$ROOT/tests/projects/slow" "$sock" --queue 0 --max-body 4096 \
    || { fail "cog-fcgi starts with --queue 0 --max-body 4096"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

big=$("$PY" -c 'import json; print(json.dumps({"input": {"seconds": 0}, "pad": "x" * 8000}))')
http POST "$BASE/predictions" "$big"
expect_code "a body over --max-body gets 413" 413

small=$("$PY" -c 'import json; print(json.dumps({"input": {"seconds": 0}, "pad": "x" * 3000}))')
http POST "$BASE/predictions" "$small"
expect_code "a body under --max-body is served" 200
expect_json "a body under --max-body succeeds" /status succeeded

slow_post q0a 3
sleep 1
http POST "$BASE/predictions" '{"input":{"seconds":0}}'
expect_code "--queue 0: a second prediction while busy gets 409" 409
expect_json "--queue 0: 409 says why" /detail "Already running a prediction"
http GET "$BASE/health-check"
expect_code "health-check still answers while busy" 200
wait_slow
check "--queue 0: the running prediction still succeeds" test "$(cat "$T/q0a.code")" = 200
http POST "$BASE/predictions" '{"input":{"seconds":0}}'
expect_code "--queue 0: once idle, a prediction is served again" 200
stop_front

# --- With a queue of 1: one runs, one waits, the third is refused.
start_front "$ROOT/tests/projects/slow" "$sock" --queue 1 || { fail "cog-fcgi starts with --queue 1"; finish; }
wait_ready "$BASE" || { fail "model becomes READY (--queue 1)"; finish; }
# 5 MB: nginx spools it to a temp file as its unprivileged worker, cog-fcgi reads it whole.
"$PY" -c 'import json; print(json.dumps({"input": {"seconds": 0}, "pad": "x" * 5000000}))' >"$T/big.json"
code=$(curl -s -o "$T/big.out" -w '%{http_code}' --max-time 60 -X POST -H 'Content-Type: application/json' \
    --data-binary @"$T/big.json" "$BASE/predictions")
check "a 5 MB body under the default --max-body is served" test "$code" = 200
slow_post q1a 3
sleep 0.7
slow_post q1b 1
sleep 0.7
http POST "$BASE/predictions" '{"input":{"seconds":0}}'
expect_code "--queue 1: a third prediction gets 409" 409
wait_slow
check "--queue 1: the running prediction succeeds" test "$(cat "$T/q1a.code")" = 200
check "--queue 1: the queued prediction waits and succeeds" test "$(cat "$T/q1b.code")" = 200
HTTP_BODY=$(cat "$T/q1b.json")
expect_json "--queue 1: the queued prediction's output" /output "slept 1.0"
stop_front
finish
