#!/usr/bin/env bash
# health-busy.sh - the front answers health and schema at once while the model is busy.
#
# A 5-second prediction runs (tests/projects/slow); meanwhile /health-check must say BUSY in
# under 100 ms each time, and /openapi.json must answer quickly too: the front never waits on
# the worker for these. Then the prediction itself must still succeed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

sock=$T/cog.sock
start_front "$ROOT/tests/projects/slow" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

http GET "$BASE/health-check"
expect_json "idle health-check says READY" /status READY

curl -s --max-time 60 -o "$T/slow.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary '{"id":"slow1","input":{"seconds":5}}' "$BASE/predictions" >"$T/slow.code" &
slow=$!
sleep 1

slowest=0
busy_ok=1
for _ in 1 2 3 4 5 6 7 8 9 10; do
    http GET "$BASE/health-check"
    s=$(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null)
    [ "$HTTP_CODE" = 200 ] && [ "$s" = BUSY ] || busy_ok=0
    slowest=$(awk -v a="$slowest" -v b="$HTTP_TIME" 'BEGIN { print (b > a) ? b : a }')
    sleep 0.1
done
check "health-check says BUSY during a prediction" test "$busy_ok" = 1
if awk -v t="$slowest" 'BEGIN { exit !(t < 0.1) }'; then
    pass "health-check under 100 ms while busy (slowest ${slowest}s)"
else
    fail "health-check under 100 ms while busy" "slowest took ${slowest}s"
fi

http GET "$BASE/openapi.json"
expect_code "openapi.json answers while busy" 200
if awk -v t="$HTTP_TIME" 'BEGIN { exit !(t < 0.5) }'; then
    pass "openapi.json under 500 ms while busy (${HTTP_TIME}s)"
else
    fail "openapi.json under 500 ms while busy" "took ${HTTP_TIME}s"
fi

# The running prediction can be polled (COG-API.md section 16: GET /predictions/{id}).
http GET "$BASE/predictions/slow1"
expect_json "the running prediction polls as processing" /status processing

wait "$slow"
HTTP_CODE=$(cat "$T/slow.code")
HTTP_BODY=$(cat "$T/slow.json")
expect_code "the slow prediction answers 200" 200
expect_json "the slow prediction succeeded" /status succeeded
expect_json "the slow prediction's output" /output "slept 5.0"

http GET "$BASE/health-check"
expect_json "health-check is READY again" /status READY
finish
