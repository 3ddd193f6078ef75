#!/usr/bin/env bash
# pool-async.sh - async predictors run concurrency.max predictions at once in one worker (issue 11).
#
# tests/projects/async-pool (async def predict, concurrency.max: 4): five 1.5 s predictions
# through nginx; four run at once in one worker's event loop (the model counts them) while
# the fifth waits in the queue (health: BUSY, queue_depth 1); canceling one of the four
# leaves the others running; COG_MAX_CONCURRENCY=2 overrides cog.yaml; a sync predict with
# concurrency.max 2 is refused at setup with Cog's message.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

post() {
    curl -s --max-time 60 -o "$T/$1.json" -w '%{http_code} %{time_total}' -X POST \
        -H 'Content-Type: application/json' --data-binary "$2" "$BASE/predictions" >"$T/$1.code" &
}
field() { json_get "$2" <"$T/$1.json" 2>/dev/null; }
took() { awk '{print $2}' "$T/$1.code"; }

sock=$T/cog.sock
start_front "$ROOT/tests/projects/async-pool" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

pids=""
for n in 1 2 3 4; do post "p$n" '{"input":{"seconds":1.5}}'; pids="$pids $!"; done
sleep 0.5
post p5 '{"input":{"seconds":1.5}}'; p5=$!
sleep 0.3
http GET "$BASE/health-check"
expect_json "health says BUSY with 4 running in one worker" /status BUSY
# one slot: Cog's body exactly, no pool keys
check "one worker: health has Cog's keys only" test "$(printf '%s' "$HTTP_BODY" | json_get /slots 2>/dev/null)" = ""
# shellcheck disable=SC2086
wait $pids $p5
ok=1
for n in 1 2 3 4 5; do [ "$(field p$n /status)" = succeeded ] || ok=0; done
check "all five succeeded" test "$ok" = 1
check "four ran at once (the model saw peak=4)" grep -q 'peak=4' "$T/p4.json"
check "never more than four at once" sh -c "! grep -q 'peak=5' $T/p5.json"
slow4=$(for n in 1 2 3 4; do took p$n; done | sort -n | tail -1)
check "the four finished together (slowest ${slow4}s < 2.5 s)" awk -v t="$slow4" 'BEGIN { exit !(t < 2.5) }'
check "the fifth waited for a free place ($(took p5)s >= 2.2 s)" awk -v t="$(took p5)" 'BEGIN { exit !(t >= 2.2) }'
check "one worker process ran all five" test "$(for n in 1 2 3 4 5; do field p$n /output; done | sed 's/ .*//' | sort -u | wc -l)" = 1
check "each prediction got its own logs" grep -q "start " "$T/p3.json"
lg=$(field p3 /logs)
check "logs of concurrent predictions are not mixed (one start line each)" \
    test "$(printf '%s' "$lg" | grep -c '^start ')" = 1
check "record_metric per prediction" awk -v c="$(field p1 /metrics/concurrent)" 'BEGIN { exit !(c >= 1) }'

# cancel one of several running at once
for n in a b c; do
    curl -s -o /dev/null -X PUT -H 'Prefer: respond-async' -H 'Content-Type: application/json' \
        --data-binary '{"input":{"seconds":2}}' "$BASE/predictions/can$n"
done
sleep 0.5
http POST "$BASE/predictions/canb/cancel"
expect_code "cancel of one concurrent prediction answers 200" 200
sleep 2.2
for n in a b c; do http GET "$BASE/predictions/can$n"; echo "$HTTP_BODY" >"$T/can$n.json"; done
check "the canceled one is canceled" test "$(field canb /status)" = canceled
check "the other two succeeded" test "$(field cana /status)$(field canc /status)" = succeededsucceeded
stop_front

# COG_MAX_CONCURRENCY overrides concurrency.max
COG_MAX_CONCURRENCY=2 start_front "$ROOT/tests/projects/async-pool" "$sock" || fail "cog-fcgi starts again"
wait_ready "$BASE"
pids=""
for n in 1 2 3; do post "e$n" '{"input":{"seconds":1}}'; pids="$pids $!"; done
# shellcheck disable=SC2086
wait $pids
check "COG_MAX_CONCURRENCY=2: at most two at once" \
    sh -c "cat $T/e1.json $T/e2.json $T/e3.json | grep -q 'peak=2' && ! cat $T/e1.json $T/e2.json $T/e3.json | grep -q 'peak=3'"
stop_front

# a sync predictor with concurrency.max > 1 is refused at setup
start_front "$ROOT/tests/projects/sync-concurrent" "$sock" || fail "cog-fcgi starts (sync-concurrent)"
for _ in $(seq 100); do
    http GET "$BASE/health-check"
    [ "$(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null)" = SETUP_FAILED ] && break
    sleep 0.2
done
expect_json "sync predict with concurrency.max 2 is SETUP_FAILED" /status SETUP_FAILED
http POST "$BASE/predictions" '{"input":{}}'
check "its predictions are refused with Cog's reason" \
    sh -c "printf '%s' '$HTTP_BODY' | grep -q 'requires an async predict function' || grep -q 'requires an async predict function' $T/front.*.log"
finish
