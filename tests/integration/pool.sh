#!/usr/bin/env bash
# pool.sh - a pool of worker slots behind real nginx (issue 11).
#
# --workers 2 serves two slow predictions at once while a third waits in the FIFO queue
# (health says BUSY with the slots and queue_depth); --gpus pins each worker's
# CUDA_VISIBLE_DEVICES (the model reports it); one slot crashing leaves the other serving;
# --idle-timeout 1s takes the workers offline (their processes gone) and the next request
# is served after a boot, with boot_time in its metrics; the usage log carries nginx's
# auth_basic user and `cog-fcgi usage` sums it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
proj=$ROOT/tests/projects/pool

# post NAME BODY: a sync prediction in the background, its answer in $T/NAME.json.
post() {
    curl -s --max-time 60 -u "${AUTH:-alice:wonderland}" -o "$T/$1.json" -w '%{http_code} %{time_total}' \
        -X POST -H 'Content-Type: application/json' --data-binary "$2" "$BASE/predictions" \
        >"$T/$1.code" &
}
field() { json_get "$2" <"$T/$1.json" 2>/dev/null; }
took() { awk '{print $2}' "$T/$1.code"; }

# nginx with auth_basic in front of the generated config (REMOTE_USER for the usage log).
start_nginx_auth() {
    local prefix=$1 port=$2 sock=$3 i
    mkdir -p "$prefix"
    sh "$ROOT/scripts/nginx-conf.sh" "$prefix" "$port" "$sock" "" >/dev/null || return 1
    printf 'alice:%s\nbob:%s\n' "$(openssl passwd -apr1 wonderland)" "$(openssl passwd -apr1 builder)" \
        >"$prefix/htpasswd"
    sed -i "s|server_name localhost;|server_name localhost; auth_basic \"cog\"; auth_basic_user_file $prefix/htpasswd;|" \
        "$prefix/nginx.conf"
    nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>>"$prefix/error.log" &
    NGINX_PID=$!
    CF_PIDS="$CF_PIDS $NGINX_PID"
    BASE=http://127.0.0.1:$port
    for i in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "$BASE/" && return 0
        sleep 0.1
    done
    return 1
}
health() { curl -s -u alice:wonderland --max-time 2 "$BASE/health-check"; }

# ---- two slots, a queue, GPUs pinned --------------------------------------------------
sock=$T/cog.sock
start_front "$proj" "$sock" --workers 2 --gpus 3,5 --state-dir "$T/state" ||
    { fail "cog-fcgi --workers 2 starts"; finish; }
start_nginx_auth "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
for _ in $(seq 300); do
    [ "$(health | json_get /slots/1/state 2>/dev/null)" = idle ] &&
        [ "$(health | json_get /slots/0/state 2>/dev/null)" = idle ] && break
    sleep 0.2
done
h=$(health)
check "health lists 2 idle slots" test "$(printf '%s' "$h" | json_get /slots/1/state)" = idle
check "health says READY with idle slots" test "$(printf '%s' "$h" | json_get /status)" = READY
check "slot 1 is pinned to the second --gpus device" \
    test "$(printf '%s' "$h" | json_get /slots/1/device)" = 5

post a '{"input":{"seconds":2}}'; pa=$!
post b '{"input":{"seconds":2}}'; pb=$!
sleep 0.5
post c '{"input":{"seconds":2}}'; pc=$!
sleep 0.5
h=$(health)
check "health says BUSY when both slots run" test "$(printf '%s' "$h" | json_get /status)" = BUSY
check "health shows the third one queued (queue_depth 1)" \
    test "$(printf '%s' "$h" | json_get /queue_depth)" = 1
check "both slots are active" test "$(printf '%s' "$h" | json_get /slots/0/state)$(printf '%s' "$h" | json_get /slots/1/state)" = activeactive
wait $pa $pb $pc
for n in a b c; do
    check "prediction $n succeeded" test "$(field $n /status)" = succeeded
done
ta=$(took a); tb=$(took b); tc=$(took c)
check "two ran at once (${ta}s, ${tb}s < 3 s)" awk -v a="$ta" -v b="$tb" 'BEGIN { exit !(a < 3 && b < 3) }'
check "the third waited for a slot (${tc}s >= 2.8 s incl. 2 s queued)" awk -v c="$tc" 'BEGIN { exit !(c >= 2.8) }'
check "the third's metrics say it queued" awk -v q="$(field c /metrics/queue_time)" 'BEGIN { exit !(q >= 1) }'
pids=$( (field a /output; field b /output) | sed 's/ .*//' | sort -u | wc -l)
check "the two ran in different worker processes" test "$pids" = 2
check "CUDA_VISIBLE_DEVICES per worker is 3 and 5" \
    test "$( (field a /output; field b /output) | sed 's/.*cuda=//' | sort | tr '\n' ' ')" = "3 5 "

# ---- one slot crashing leaves the other serving --------------------------------------
post long '{"input":{"seconds":2}}'; pl=$!
sleep 0.3
post crash '{"input":{"crash":true}}'; pcr=$!
wait $pcr
check "the crashing prediction failed" test "$(field crash /status)" = failed
post after '{"input":{"seconds":0}}'; pa2=$!
wait $pl $pa2
check "the prediction on the other slot still succeeded" test "$(field long /status)" = succeeded
check "a prediction right after the crash is served" test "$(field after /status)" = succeeded
for _ in $(seq 100); do
    [ "$(health | json_get /status 2>/dev/null)" = READY ] &&
        [ "$(health | json_get /slots/0/state)$(health | json_get /slots/1/state)" = idleidle ] && break
    sleep 0.2
done
check "the crashed slot restarts (both idle again)" \
    test "$(health | json_get /slots/0/state)$(health | json_get /slots/1/state)" = idleidle

# ---- SIGHUP reloads every slot through the same boot path -------------------------------
old=$(health | json_get /slots/0/pid)$(health | json_get /slots/1/pid)
kill -HUP "$FRONT_PID"
for _ in $(seq 150); do
    h=$(health)
    new=$(printf '%s' "$h" | json_get /slots/0/pid)$(printf '%s' "$h" | json_get /slots/1/pid)
    [ "$(printf '%s' "$h" | json_get /slots/0/state)$(printf '%s' "$h" | json_get /slots/1/state)" = idleidle ] &&
        [ "$new" != "$old" ] && [ "${new#"${old%??????}"}" != "" ] && break
    sleep 0.2
done
p0=$(health | json_get /slots/0/pid); p1=$(health | json_get /slots/1/pid)
check "SIGHUP: both slots have new workers" sh -c "case '$old' in *$p0*|*$p1*) exit 1;; esac"
post hup '{"input":{"seconds":0}}'; wait $!
check "SIGHUP: predictions are served after the reload" test "$(field hup /status)" = succeeded

# ---- usage log -------------------------------------------------------------------------
AUTH=bob:builder post bobs '{"input":{"seconds":0}}'; wait $!
lines=$(wc -l <"$T/state/usage.jsonl")
check "one usage line per finished prediction (8)" test "$lines" = 8
check "usage lines carry the auth_basic user" grep -q '"user":"bob"' "$T/state/usage.jsonl"
check "usage lines carry slot and device" grep -q '"slot":1,"device":"5"' "$T/state/usage.jsonl"
"$COG_FCGI" usage "$T/state" --by user >"$T/usage.txt" 2>&1
check "cog-fcgi usage sums per user (alice 7, bob 1)" \
    awk '$1=="alice" && $2==7 {a=1} $1=="bob" && $2==1 {b=1} END {exit !(a && b)}' "$T/usage.txt"
check "cog-fcgi usage: alice's predict seconds are about 8" \
    awk '$1=="alice" { exit !($4 >= 7.5 && $4 < 10) }' "$T/usage.txt"
# ---- /metrics ---------------------------------------------------------------------------
curl -s -u alice:wonderland "$BASE/metrics" >"$T/metrics.txt"
metric() { awk -v k="$1" 'index($0, k) == 1 { print $NF; exit }' "$T/metrics.txt"; }
# promtool comes with Debian's prometheus package (scripts/install-deps.sh installs it)
check "promtool is installed (Debian package prometheus)" sh -c 'command -v promtool >/dev/null'
check "/metrics passes promtool check metrics" sh -c "promtool check metrics <$T/metrics.txt"
check "cog_predictions_total succeeded = 7" test "$(metric 'cog_predictions_total{model="pool",status="succeeded"}')" = 7
check "cog_predictions_total failed = 1 (the crash)" test "$(metric 'cog_predictions_total{model="pool",status="failed"}')" = 1
check "predict histogram counts all 8" test "$(metric 'cog_predict_duration_seconds_count{model="pool"}')" = 8
check "queue histogram counts all 8" test "$(metric 'cog_queue_duration_seconds_count{model="pool"}')" = 8
check "seconds per user: bob's are counted" test -n "$(metric 'cog_user_predict_seconds_total{model="pool",user="bob"}')"
check "alice ran 7" test "$(metric 'cog_user_predictions_total{model="pool",user="alice"}')" = 7
check "slots by state: 2 idle" test "$(metric 'cog_slots{model="pool",state="idle"}')" = 2
check "boots: 5 (2 + the crash restart + 2 at SIGHUP)" test "$(metric 'cog_worker_boots_total{model="pool"}')" = 5
check "queue depth 0" test "$(metric 'cog_queue_depth{model="pool"}')" = 0
stop_front

# --metrics off: no route; --metrics HOST:PORT: its own listener, not through nginx
mport=$(free_port)
start_front "$proj" "$sock" --metrics "127.0.0.1:$mport" --state-dir "$T/state3" ||
    { fail "cog-fcgi --metrics HOST:PORT starts"; finish; }
wait_port "$mport" 20
check "--metrics HOST:PORT: served on its own listener" \
    sh -c "curl -s http://127.0.0.1:$mport/metrics | grep -q '^cog_queue_depth'"
check "--metrics HOST:PORT: not through the web server (404)" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -u alice:wonderland "$BASE/metrics")" = 404
stop_front
start_front "$proj" "$sock" --metrics off --state-dir "$T/state4" || fail "cog-fcgi --metrics off starts"
check "--metrics off: 404" test "$(curl -s -o /dev/null -w '%{http_code}' -u alice:wonderland "$BASE/metrics")" = 404
stop_front

# ---- idle timeout: offline, then a boot -------------------------------------------------
start_front "$proj" "$sock" --workers 2 --idle-timeout 1s --state-dir "$T/state2" ||
    { fail "cog-fcgi --idle-timeout starts"; finish; }
for _ in $(seq 300); do
    [ "$(health | json_get /slots/0/state 2>/dev/null)" = idle ] && break
    sleep 0.2
done
pid0=$(health | json_get /slots/0/pid)
check "with --idle-timeout only one worker boots at start (slot 1 offline)" \
    test "$(health | json_get /slots/1/state)" = offline
sleep 2
h=$(health)
check "after 1 s idle the worker is offline" test "$(printf '%s' "$h" | json_get /slots/0/state)" = offline
check "its process is gone" sh -c "! kill -0 $pid0 2>/dev/null"
check "health still says READY when offline (a request boots a worker)" \
    test "$(printf '%s' "$h" | json_get /status)" = READY
post boot '{"input":{"seconds":0}}'; wait $!
check "the next request is served after a boot" test "$(field boot /status)" = succeeded
check "its metrics have boot_time" awk -v b="$(field boot /metrics/boot_time)" 'BEGIN { exit !(b > 0) }'
check "its metrics have queue_time >= boot_time" \
    awk -v b="$(field boot /metrics/boot_time)" -v q="$(field boot /metrics/queue_time)" 'BEGIN { exit !(q >= b) }'
check "its metrics have total_time" awk -v t="$(field boot /metrics/total_time)" 'BEGIN { exit !(t > 0) }'
curl -s -u alice:wonderland "$BASE/metrics" >"$T/metrics.txt"
check "/metrics: the boot histogram counted it" test "$(metric 'cog_boot_duration_seconds_count{model="pool"}')" = 1
check "/metrics: 2 boots (start + scale from zero; got $(metric 'cog_worker_boots_total{model="pool"}'))" test "$(metric 'cog_worker_boots_total{model="pool"}')" = 2
stop_front

# ---- --min-workers keeps one up --------------------------------------------------------------
start_front "$proj" "$sock" --workers 2 --min-workers 1 --idle-timeout 0.5s --state-dir "$T/state5" ||
    { fail "cog-fcgi --min-workers starts"; finish; }
for _ in $(seq 300); do
    [ "$(health | json_get /slots/0/state 2>/dev/null)" = idle ] && break
    sleep 0.2
done
post m1 '{"input":{"seconds":0.5}}'; pm1=$!; post m2 '{"input":{"seconds":0.5}}'; wait $pm1 $!
sleep 2
h=$(health)
states=$(printf '%s' "$h" | json_get /slots/0/state)$(printf '%s' "$h" | json_get /slots/1/state)
check "--min-workers 1: both booted for two predictions, one stays up past the idle timeout ($states)" \
    sh -c "test '$states' = idleoffline || test '$states' = offlineidle"
stop_front
finish
