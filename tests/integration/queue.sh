#!/usr/bin/env bash
# queue.sh - `cog-fcgi queue` against a real redis-server on 127.0.0.1 (AOF in the temp dir):
# 100 requests pushed the way Cog's docs showed (XADD stream * value JSON) are consumed by two
# queue workers in separate processes, each runs exactly once (the model appends its tag to a
# file), every result lands in the response list and at the webhook; a worker killed with
# SIGKILL mid-prediction has its entry claimed and finished by the other; Redis killed and
# restarted mid-run loses nothing; cancel_key cancels; a redelivered id does not run again;
# response_key / response_stream get the states; an invalid request fails with its reason.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
P=$ROOT/tests/projects/queue
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    fail "redis-server and redis-cli are installed" "run scripts/install-deps.sh"
    finish
fi

RP=$(free_port)
mkdir -p "$T/redis"
start_redis() {
    start_bg "$T/redis.log" redis-server --port "$RP" --bind 127.0.0.1 --dir "$T/redis" \
        --save "" --appendonly yes --appendfsync always --protected-mode yes
    REDIS_PID=$BG_PID
    wait_port "$RP" 20
}
rc() { redis-cli -p "$RP" "$@"; }
start_redis

"$PY" "$ROOT/tests/integration/queue_hooks.py" "$T/hook.port" "$T/hooks" &
CF_PIDS="$CF_PIDS $!"
for _ in $(seq 50); do [ -e "$T/hook.port" ] && break; sleep 0.1; done
HOOK=http://127.0.0.1:$(cat "$T/hook.port")/hook

start_worker() { # NAME
    start_bg "$T/$1.log" "$COG_FCGI" queue "$P" --redis "redis://127.0.0.1:$RP/0" --stream req \
        --consumer "$1" --claim-after 3 --report-interval 1
    eval "PID_$1=$BG_PID"
}
wait_log() { # FILES PATTERN SECONDS (FILES: one or more, space-separated)
    local i
    for i in $(seq $(($3 * 10))); do
        # shellcheck disable=SC2086
        grep -q -- "$2" $1 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
push() { # ID JSON-FIELDS (inside the object, after id)
    rc XADD req '*' value "{\"id\":\"$1\",$2}" >/dev/null
}
# succeeded ID: how many terminal states with this id and status are in the result list
results() { rc LRANGE res 0 -1 | grep -F "\"id\":\"$1\"" | grep -c "\"status\":\"$2\""; }
wait_result() { # ID STATUS SECONDS
    local i
    for i in $(seq $(($3 * 10))); do
        [ "$(results "$1" "$2")" -ge 1 ] && return 0
        sleep 0.1
    done
    return 1
}
runs_of() { grep -cx "$1" "$T/runs" 2>/dev/null; }

# ---- bad options end the command with status 2, naming the option ----
bad_option() { # NAME ARGS...
    local name=$1 rc
    shift
    timeout 20 "$COG_FCGI" queue "$P" "$@" >"$T/opt.out" 2>"$T/opt.err"
    rc=$?
    check "queue $* exits 2 naming $name" bash -c "[ $rc = 2 ] && grep -q -- '$name' '$T/opt.err'"
}
bad_option --redis --redis http://127.0.0.1:1 --stream s
bad_option --redis --redis "redis://127.0.0.1:99999/0" --stream s
bad_option --stream --redis "redis://127.0.0.1:$RP/0"
bad_option --claim-after --redis "redis://127.0.0.1:$RP/0" --stream s --claim-after 5x
bad_option --concurrency --redis "redis://127.0.0.1:$RP/0" --stream s --concurrency 0

# ---- queue --help and the man page's QUEUE OPTIONS name the same options ----
"$COG_FCGI" queue --help >"$T/queue.help" 2>&1
check "queue --help exits 0" test $? = 0
from_help=$(sed -n '/^queue options:/,/^signals:/p' "$T/queue.help" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
from_man=$(sed -n '/^\.SH QUEUE OPTIONS$/,/^\.SH /p' "$ROOT/man/cog-fcgi.1" | sed 's/\\-/-/g' |
    grep -oE -- '--[a-z][a-z-]*' | sort -u)
check "queue --help and the man page list the same $(echo "$from_help" | wc -l) options" \
    test -n "$from_help" -a "$from_help" = "$from_man"
table=$(grep -oE '\{"[a-z][a-z-]*", (no|required)_argument' "$ROOT/fcgi/cli_queue.c" | grep -oE '"[a-z-]+"' | tr -d '"' | sed 's/^/--/' | sort -u)
check "every option of queue's getopt table is in --help" test "$table" = "$from_help"

start_worker A
start_worker B
check "worker A consumes" wait_log "$T/A.log" CF1200 30
check "worker B consumes" wait_log "$T/B.log" CF1200 30

# ---- 100 requests, two workers, each runs once ----
t0=$(date +%s.%N)
for i in $(seq 100); do
    push "n$i" "\"input\":{\"tag\":\"n$i\",\"path\":\"$T/runs\"},\"response_queue\":\"res\",\"webhook\":\"$HOOK\",\"webhook_events_filter\":[\"completed\"]"
done
for _ in $(seq 400); do
    [ "$(rc LRANGE res 0 -1 | grep -c '"status":"succeeded"')" -ge 100 ] && break
    sleep 0.1
done
t1=$(date +%s.%N)
ok=$(rc LRANGE res 0 -1 | grep '"status":"succeeded"' | grep -o '"id":"n[0-9]*"' | sort -u | wc -l)
check "100 results succeeded in the response list ($ok distinct, $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s)" test "$ok" = 100
lines=$(wc -l <"$T/runs")
uniq=$(sort -u "$T/runs" | wc -l)
check "each of the 100 predictions ran exactly once ($lines runs, $uniq distinct)" test "$lines" = 100 -a "$uniq" = 100
a=$(grep -c 'CF0301' "$T/A.log")
b=$(grep -c 'CF0301' "$T/B.log")
check "both workers took requests (A $a, B $b)" test "$a" -gt 0 -a "$b" -gt 0 -a $((a + b)) = 100
for _ in $(seq 100); do
    [ "$(grep -c '"status":"succeeded"' "$T/hooks" 2>/dev/null)" -ge 100 ] && break
    sleep 0.1
done
h=$(grep '"status":"succeeded"' "$T/hooks" | grep -o '"id":"n[0-9]*"' | sort -u | wc -l)
check "100 completed webhooks, one per prediction ($h distinct, $(wc -l <"$T/hooks") in all)" test "$h" = 100 -a "$(wc -l <"$T/hooks")" = 100
check "the stream is empty: every entry acknowledged and deleted" test "$(rc XLEN req)" = 0
check "no entry pending" test "$(rc XPENDING req req | head -1)" = 0
check "a done marker per id (req:done:n1 = succeeded)" test "$(rc GET req:done:n1)" = succeeded

# ---- a redelivered id does not run again ----
push n1 "\"input\":{\"tag\":\"n1\",\"path\":\"$T/runs\"}"
check "a second request with a finished id is acknowledged without running" \
    wait_log "$T/A.log $T/B.log" CF1205 10
sleep 0.3
check "n1 still ran once" test "$(runs_of n1)" = 1

# ---- SIGKILL mid-prediction: the other worker claims and finishes ----
push k1 "\"input\":{\"tag\":\"k1\",\"path\":\"$T/runs\",\"seconds\":3},\"response_queue\":\"res\""
for _ in $(seq 100); do [ "$(runs_of k1)" = 1 ] && break; sleep 0.1; done
if grep -q '\[k1\]' "$T/A.log"; then victim=A survivor=B; else victim=B survivor=A; fi
vpid=$(eval echo "\$PID_$victim")
kids=$(cat /proc/"$vpid"/task/*/children 2>/dev/null)
k0=$(date +%s.%N)
{ kill -KILL "$vpid" $kids; wait "$vpid"; } 2>/dev/null
forget_pid "$vpid"
wait_result k1 succeeded 20
k1s=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $k0 }")
check "k1 (3 s of work) is finished by worker $survivor $k1s s after $victim was killed (claim after 3 s)" \
    test "$(results k1 succeeded)" -ge 1
check "worker $survivor logged the claim" grep -q 'CF1209.*k1' "$T/$survivor.log"
check "k1 has exactly one result" test "$(results k1 succeeded)" = 1
start_worker "$victim"

# ---- Redis killed and restarted mid-run loses nothing ----
push r1 "\"input\":{\"tag\":\"r1\",\"path\":\"$T/runs\",\"seconds\":2},\"response_queue\":\"res\""
for i in 2 3 4 5; do
    push "r$i" "\"input\":{\"tag\":\"r$i\",\"path\":\"$T/runs\"},\"response_queue\":\"res\""
done
for _ in $(seq 100); do [ "$(runs_of r1)" = 1 ] && break; sleep 0.1; done
{ kill -KILL "$REDIS_PID"; wait "$REDIS_PID"; } 2>/dev/null
forget_pid "$REDIS_PID"
sleep 1
start_redis
lost=0
for i in 1 2 3 4 5; do wait_result "r$i" succeeded 20 || lost=$((lost + 1)); done
check "after a Redis crash all 5 requests succeeded ($lost missing)" test "$lost" = 0
once=1
for i in 1 2 3 4 5; do [ "$(runs_of "r$i")" = 1 ] || once=0; done
check "and each ran once ($(sort "$T/runs" | uniq -d | tr '\n' ' '))" test "$once" = 1
check "the workers said Redis was lost and back" grep -q CF1203 "$T/$survivor.log"
for _ in $(seq 50); do [ "$(rc XLEN req)" = 0 ] && break; sleep 0.1; done
check "the stream is empty again" test "$(rc XLEN req)" = 0

# ---- cancel_key ----
push c1 "\"input\":{\"tag\":\"c1\",\"path\":\"$T/runs\",\"seconds\":30},\"response_queue\":\"res\",\"cancel_key\":\"cancel:c1\""
for _ in $(seq 100); do [ "$(runs_of c1)" = 1 ] && break; sleep 0.1; done
rc SET cancel:c1 1 >/dev/null
check "setting cancel_key cancels the running prediction" wait_result c1 canceled 10

# ---- response_key, response_stream; an invalid request ----
push s1 "\"input\":{\"tag\":\"s1\"},\"response_key\":\"key:s1\",\"response_stream\":\"out\""
for _ in $(seq 50); do rc GET key:s1 | grep -q '"status":"succeeded"' && break; sleep 0.1; done
check "response_key holds the final state" bash -c "redis-cli -p $RP GET key:s1 | grep -q '\"status\":\"succeeded\"'"
check "response_stream got the final state" bash -c "redis-cli -p $RP XRANGE out - + | grep -q '\"id\":\"s1\".*\"status\":\"succeeded\"'"
push bad1 "\"input\":{\"tag\":\"x\",\"seconds\":\"soon\"},\"response_queue\":\"res\""
check "an invalid input fails with its reason" wait_result bad1 failed 10
check "the failure names the input" bash -c "redis-cli -p $RP LRANGE res 0 -1 | grep '\"id\":\"bad1\"' | grep -q seconds"

# ---- --listen: the same worker also answers the HTTP API over FastCGI ----
start_bg "$T/L.log" "$COG_FCGI" queue "$P" --redis "redis://127.0.0.1:$RP/0" --stream req \
    --consumer L --claim-after 3 --listen "unix:$T/l.sock" --state-dir "$T/state-l"
PID_L=$BG_PID
check "queue --listen serves FastCGI and the queue" wait_log "$T/L.log" CF1200 30
out=$("$PY" "$ROOT/tests/integration/fcgi_client.py" request "unix:$T/l.sock" POST /predictions \
    '{"input":{"tag":"http1"}}' 2>&1)
check "an HTTP prediction on the queue worker's socket succeeds" bash -c "echo '$out' | grep -q '\"output\": *\"http1\"'"
# health and metrics show the consumer (its lag is known after the first report: 10 s, so
# only the counters that do not wait for it are asserted here)
health=$("$PY" "$ROOT/tests/integration/fcgi_client.py" request "unix:$T/l.sock" GET /health-check 2>&1)
check "health keeps Cog's status and adds the consumer" bash -c "echo '$health' | grep -q '\"status\": *\"READY\"' && echo '$health' | grep -q '\"consumer\": *\"L\"' && echo '$health' | grep -q '\"connected\": *true'"
check "health shows the stream and the consumer's counters" bash -c "echo '$health' | grep -q '\"stream\": *\"req\"' && echo '$health' | grep -q '\"in_flight\"' && echo '$health' | grep -q '\"lag\"'"
"$PY" "$ROOT/tests/integration/fcgi_client.py" request "unix:$T/l.sock" GET /metrics >"$T/metrics.txt" 2>&1
check "/metrics has the consumer's gauges" grep -q '^cog_redis_connected{model="[^"]*",stream="req"} 1' "$T/metrics.txt"
check "/metrics counts what the consumer acknowledged" grep -q '^cog_redis_stream_done_total{model="[^"]*",stream="req"} [0-9]' "$T/metrics.txt"

# ---- --workers 2: two slots, two entries at once (a stream of its own) ----
start_bg "$T/W.log" "$COG_FCGI" queue "$P" --redis "redis://127.0.0.1:$RP/0" --stream req2 \
    --consumer W --workers 2
PID_W=$BG_PID
check "queue --workers 2 starts" wait_log "$T/W.log" CF1200 60
t0=$(date +%s%N)
for id in w1 w2; do
    rc XADD req2 '*' value "{\"id\":\"$id\",\"input\":{\"tag\":\"$id\",\"seconds\":2},\"response_queue\":\"res\"}" >/dev/null
done
wait_result w1 succeeded 20 && wait_result w2 succeeded 20
both=$?
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
echo "two 2 s entries on --workers 2 took ${elapsed_ms} ms"
check "two entries ran at once on two slots (${elapsed_ms} ms < 3900)" bash -c "[ $both = 0 ] && [ $elapsed_ms -lt 3900 ]"
kill -TERM "$PID_W"; wait "$PID_W" 2>/dev/null; forget_pid "$PID_W"

# ---- SIGTERM lets the entry in flight finish, then the worker exits 0 ----
kill -STOP "$(eval echo "\$PID_$survivor")" "$(eval echo "\$PID_$victim")"
push d1 "\"input\":{\"tag\":\"d1\",\"path\":\"$T/runs\",\"seconds\":1.5},\"response_queue\":\"res\""
for _ in $(seq 100); do [ "$(runs_of d1)" = 1 ] && break; sleep 0.1; done
kill -TERM "$PID_L"
wait "$PID_L"
st=$?
forget_pid "$PID_L"
kill -CONT "$(eval echo "\$PID_$survivor")" "$(eval echo "\$PID_$victim")"
check "after SIGTERM the worker finished d1 and exited 0 (status $st)" bash -c "[ $st = 0 ] && [ \$(redis-cli -p $RP LRANGE res 0 -1 | grep '\"id\":\"d1\"' | grep -c succeeded) = 1 ]"
check "d1 ran once" test "$(runs_of d1)" = 1

finish
