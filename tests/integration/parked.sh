#!/usr/bin/env bash
# parked.sh - sync predictions that wait for a slot hold no thread, and are answered whatever
# ends them: their turn, a cancel, a deadline, a client hang-up, a shutdown.
#
# One worker (tests/projects/slow) and only two connection threads (--threads 2), through
# nginx (the plain location and the kept-connection one). A sync prediction that finds the
# slot busy waits without its thread (fcgi/runner_carry.c), so more clients than threads are
# served, health answers meanwhile, and each waiting one is answered as a client expects.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

sock=$T/cog.sock
slow=$ROOT/tests/projects/slow
start_front "$slow" "$sock" --workers 1 --threads 2 --queue 16 || { fail "cog-fcgi starts"; finish; }
CF_NGINX_KEEPALIVE=1 start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

# put_bg NAME ID SECONDS [CURL FLAG...]: a sync PUT in the background; its status code goes
# to $T/NAME.code, its body to $T/NAME.json, its pid to PID_NAME.
put_bg() {
    local name=$1 id=$2 secs=$3 url=${URL:-$BASE/predictions}
    shift 3
    curl -s --max-time 60 -o "$T/$name.json" -w '%{http_code}' -X PUT \
        -H 'Content-Type: application/json' "$@" \
        --data-binary "{\"input\": {\"seconds\": $secs}}" "$url/$id" >"$T/$name.code" &
    eval "PID_$name=\$!"
}
# status_of ID: the prediction's status as GET /predictions/ID says.
status_of() {
    http GET "$BASE/predictions/$1"
    printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null
}
# wait_status ID STATUS: up to 10 s for the prediction to say STATUS.
wait_status() {
    for _ in $(seq 100); do
        [ "$(status_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# answered NAME STATUS: the background client got 200 with that prediction status.
answered() {
    [ "$(cat "$T/$1.code" 2>/dev/null)" = 200 ] && [ "$(json_get /status <"$T/$1.json")" = "$2" ]
}

# ---- more waiting clients than threads ------------------------------------------------------
t0=$(date +%s%N)
for i in 1 2 3 4 5 6; do
    URL=$BASE/keepalive/predictions put_bg "many$i" "many-$i" 0.3
done
sleep 0.5
http GET "$BASE/health-check"
expect_code "health-check answers while six sync predictions hold two threads' worth" 200
expect_json "...and says BUSY" /status BUSY
check "...at once, not after the waiting ones (${HTTP_TIME}s < 0.5)" \
    awk -v t="$HTTP_TIME" 'BEGIN { exit !(t < 0.5) }'
for i in 1 2 3 4 5 6; do wait "$(eval echo "\$PID_many$i")"; done
t1=$(date +%s%N)
ok=1
for i in 1 2 3 4 5 6; do
    answered "many$i" succeeded && [ "$(json_get /output <"$T/many$i.json")" = "slept 0.3" ] || ok=0
done
check "all six are answered 200 succeeded with their output" test "$ok" = 1
check "...one after another on the one worker ($(((t1 - t0) / 1000000)) ms >= 1800)" \
    test $(((t1 - t0) / 1000000)) -ge 1800

# ---- a waiting client hangs up: its prediction never runs -----------------------------------
put_bg run1 run-1 2
sleep 0.3
URL=$BASE/keepalive/predictions put_bg gone1 gone-1 0.1 --max-time 0.5
wait "$PID_gone1"
check "a waiting prediction whose client hung up is canceled" wait_status gone-1 canceled
http GET "$BASE/predictions/gone-1"
expect_json "...before it started" /started_at null
check "...and the front logged the client going away (CF0315)" grep -q 'CF0315.*gone-1' "$FRONT_LOG"

# ---- a waiting one canceled through the API: its client has the answer at once -------------
put_bg parked2 parked-2 0.1
sleep 0.3
http POST "$BASE/predictions/parked-2/cancel"
expect_code "cancel of a waiting sync prediction" 200
for _ in $(seq 20); do [ -s "$T/parked2.code" ] && break; sleep 0.05; done
check "its client is answered 200 canceled while the slot is still busy" answered parked2 canceled
check "...and the running one was not disturbed" kill -0 "$PID_run1"
wait "$PID_run1"
check "the running one succeeds" answered run1 succeeded

# ---- a deadline while waiting ---------------------------------------------------------------
put_bg run2 run-2 1.5
sleep 0.3
URL=$BASE/keepalive/predictions put_bg late3 late-3 0.1 -H 'Cancel-After: 0.3s'
wait "$PID_late3"
late=$(json_get /status <"$T/late3.json" 2>/dev/null)
check "a waiting one past its Cancel-After is answered 200 as it ended ($late)" \
    test "$(cat "$T/late3.code")" = 200 -a -n "$late" -a "$late" != succeeded
check "...while the running one still runs" kill -0 "$PID_run2"
wait "$PID_run2"

# ---- SIGTERM: the running and the waiting ones finish (the shutdown grace) ------------------
put_bg term0 term-0 0.8
sleep 0.2
for i in 1 2 3; do put_bg "term$i" "term-$i" 0.1; done
sleep 0.3
kill -TERM "$FRONT_PID"
ok=1
for i in 0 1 2 3; do wait "$(eval echo "\$PID_term$i")"; answered "term$i" succeeded || ok=0; done
check "SIGTERM: the running and the three waiting sync predictions are answered succeeded" \
    test "$ok" = 1
wait "$FRONT_PID" 2>/dev/null
forget_pid "$FRONT_PID"

# ---- SIGINT: the waiting ones are answered, not left hanging --------------------------------
start_front "$slow" "$sock" --workers 1 --threads 2 --queue 16 || { fail "cog-fcgi starts again"; finish; }
wait_ready "$BASE" || { fail "model becomes READY again"; finish; }
put_bg int0 int-0 5
sleep 0.3
for i in 1 2; do put_bg "int$i" "int-$i" 0.1; done
sleep 0.3
kill -INT "$FRONT_PID"
ok=1
for i in 1 2; do
    wait "$(eval echo "\$PID_int$i")"
    answered "int$i" failed &&
        json_get /error <"$T/int$i.json" | grep -q 'stopped before the prediction ran' || ok=0
done
check "SIGINT: the waiting ones are answered 200 failed: the server stopped before they ran" \
    test "$ok" = 1
wait "$PID_int0"
wait "$FRONT_PID" 2>/dev/null
forget_pid "$FRONT_PID"
if grep -E 'CF0333|CF0510' "$T"/front.*.log >/dev/null; then
    fail "no parked-request errors in the front's logs" "$(grep -E 'CF0333|CF0510' "$T"/front.*.log | head -3)"
else
    pass "no parked-request errors in the front's logs"
fi
finish
