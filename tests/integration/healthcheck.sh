#!/usr/bin/env bash
# healthcheck.sh - a predictor's healthcheck() as Cog 0.16.10 runs it, per slot (issue 11).
#
# Two workers pinned to devices 0 and 1 (tests/projects/healthcheck). Healthy: READY, no
# user_healthcheck_error. The worker on device 1 returning False, raising, or taking over
# 5 s makes health UNHEALTHY with Cog's user_healthcheck_error texts, and the slot list says
# which slot is unhealthy; healthy again once the model recovers.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

export HC_FLAG=$T/hc.flag
sock=$T/cog.sock
start_front "$ROOT/tests/projects/healthcheck" "$sock" --workers 2 --gpus 0,1 ||
    { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
for _ in $(seq 100); do
    [ "$(curl -s "$BASE/health-check" | json_get /slots/1/state 2>/dev/null)" = idle ] && break
    sleep 0.2
done

http GET "$BASE/health-check"
expect_json "healthy: READY" /status READY
check "healthy: no user_healthcheck_error" sh -c "! printf '%s' '$HTTP_BODY' | grep -q user_healthcheck_error"

echo "1 false" >"$HC_FLAG"
http GET "$BASE/health-check"
expect_json "returns False on one slot: UNHEALTHY" /status UNHEALTHY
expect_json "Cog's text for False" /user_healthcheck_error "Healthcheck failed: user-defined healthcheck returned False"
expect_json "slot 1 is the unhealthy one" /slots/1/healthy false
expect_json "slot 0 is healthy" /slots/0/healthy true
http POST "$BASE/predictions" '{"input":{}}'
expect_json "predictions still run while UNHEALTHY" /status succeeded

echo "1 raise" >"$HC_FLAG"
http GET "$BASE/health-check"
expect_json "raises: UNHEALTHY" /status UNHEALTHY
expect_json "the exception text" /user_healthcheck_error "Healthcheck failed: the database is gone"

echo "1 slow" >"$HC_FLAG"
http GET "$BASE/health-check"
expect_json "over 5 s: UNHEALTHY" /status UNHEALTHY
expect_json "Cog's timeout text" /user_healthcheck_error \
    "Healthcheck failed: user-defined healthcheck timed out after 5.0 seconds"
check "the answer came after about 5 s (${HTTP_TIME}s)" awk -v t="$HTTP_TIME" 'BEGIN { exit !(t >= 4.9 && t < 7) }'

rm -f "$HC_FLAG"
sleep 3.5 # the slow one finishes (8 s in all) in its worker thread
http GET "$BASE/health-check"
expect_json "recovered: READY again" /status READY
finish
