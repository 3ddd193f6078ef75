#!/usr/bin/env bash
# deploy-nginx-upstream.sh - two cog-fcgi instances behind an nginx upstream with failover
# (nginx/cog-fcgi-upstream.conf).
#
# Both instances serve examples/hello-world on TCP; the shipped upstream/server blocks with
# their ports replaced. Checks: both instances answer; hello-world's prediction and 422;
# predictions created with PUT /predictions/{id} are found again by GET (routing by id);
# then twice 200 predictions, 4 at a time, with one instance stopped after about a third of
# them: SIGTERM (a graceful stop: nothing may fail) and SIGKILL of front and worker (a crash).
# Each round prints how many were sent and how many failed, and checks from nginx's access log
# that every failed request had been handed to the killed instance (a POST in flight there is
# not replayed: not idempotent) and that none of the requests nginx could not hand over failed
# (those must have gone to the other instance).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

TOTAL=${CF_FAILOVER_REQUESTS:-200}
PAR=4
port=$(free_port)
pa=$(free_port)
pb=$(free_port)
for p in a b; do
    cp -r "$ROOT/examples/hello-world" "$T/hello-$p"
done
# Each instance keeps its own async predictions: its own state directory.
start_bg "$T/front-a.log" "$COG_FCGI" serve "$T/hello-a" --listen "127.0.0.1:$pa" \
    --state-dir "$T/state-a"
pid_a=$BG_PID
start_bg "$T/front-b.log" "$COG_FCGI" serve "$T/hello-b" --listen "127.0.0.1:$pb" \
    --state-dir "$T/state-b"
check "instance a listens" wait_port "$pa"
check "instance b listens" wait_port "$pb"

pre=$T/nginx
mkdir -p "$pre"
sed -e "s|127\.0\.0\.1:9001|127.0.0.1:$pa|g" -e "s|127\.0\.0\.1:9002|127.0.0.1:$pb|g" \
    -e "s|listen 80;|listen 127.0.0.1:$port;|" \
    "$ROOT/nginx/cog-fcgi-upstream.conf" >"$pre/cog-fcgi-upstream.conf"
nginx_render "$pre" "$pre/cog-fcgi-upstream.conf"
if ! nginx_run "$pre" "$port"; then
    fail "nginx starts with nginx/cog-fcgi-upstream.conf"
    finish
fi
pass "nginx starts with nginx/cog-fcgi-upstream.conf"
base=http://127.0.0.1:$port

# Round robin: four health checks reach both instances; wait until both are READY.
ready=0
for _ in $(seq 4); do
    wait_ready "$base" 60 && ready=$((ready + 1))
done
check "both instances READY" [ "$ready" -eq 4 ]
both_used() {
    grep -q "\"127.0.0.1:$pa\".*health-check" "$pre/access.log" &&
        grep -q "\"127.0.0.1:$pb\".*health-check" "$pre/access.log"
}
check "round robin reaches both instances" both_used
check_hello "upstream" "$base"

# A prediction named by the client is found again on the instance that ran it.
HTTP_OPTS=(-H 'Prefer: respond-async')
http_opts PUT "$base/predictions/sticky-1" '{"input": {"text": "sticky"}}'
HTTP_OPTS=()
expect_code "PUT /predictions/sticky-1 202" 202
found=0
for _ in $(seq 6); do
    http GET "$base/predictions/sticky-1"
    [ "$HTTP_CODE" = 200 ] && found=$((found + 1))
    sleep 0.05
done
check "GET /predictions/sticky-1 reaches its instance 6 times of 6 (found $found)" [ "$found" -eq 6 ]

# failover_round SIGNAL: 200 predictions, 4 at a time, through a freshly started nginx (no
# memory of earlier failures); instance a gets SIGNAL after a third of them (with SIGKILL, its
# worker too: the whole service dies). Prints and checks the counts; instance a is gone after.
failover_round() {
    local sig=$1 results=$T/results.$1 load done_before kids sent failed log_failed retried reached_a
    stop_nginx
    : >"$pre/access.log"
    nginx_run "$pre" "$port" || { fail "$sig: nginx restarts"; return; }
    : >"$results"
    seq "$TOTAL" | xargs -P "$PAR" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 \
        -X POST -H 'Content-Type: application/json' --data-binary '{"input": {"text": "n{}"}}' \
        "$base/predictions" >>"$results" &
    load=$!
    for _ in $(seq 3000); do
        [ "$(wc -l <"$results")" -ge $((TOTAL / 3)) ] && break
        kill -0 $load 2>/dev/null || break
        sleep 0.01
    done
    done_before=$(wc -l <"$results")
    kids=""
    [ "$sig" = KILL ] && kids=$(cat /proc/"$pid_a"/task/*/children 2>/dev/null)
    # shellcheck disable=SC2086
    kill -"$sig" "$pid_a" $kids 2>/dev/null
    wait $load
    wait "$pid_a" 2>/dev/null
    forget_pid "$pid_a"
    sent=$(wc -l <"$results")
    failed=$(grep -vc '^200$' "$results")
    echo "failover SIG$sig: $sent requests sent, $failed failed; instance a (127.0.0.1:$pa) got SIG$sig after $done_before had completed"
    check "SIG$sig: all $TOTAL requests answered" [ "$sent" -eq "$TOTAL" ]
    sleep 0.3   # the access log is written after the response
    log_failed=$(grep -cv '^200 ' "$pre/access.log")
    retried=$(grep -c '^200 "[^"]*, ' "$pre/access.log")
    reached_a=$(grep -v '^200 ' "$pre/access.log" | grep -c "^[0-9]* \"127.0.0.1:$pa\" ")
    echo "failover SIG$sig: $retried requests refused by instance a went to b and succeeded;" \
         "$log_failed failed in nginx's log, $reached_a of them had been handed to a"
    grep -v '^200 ' "$pre/access.log" | head -n 5 | sed 's/^/    /'
    if [ "$sig" = KILL ]; then
        only_in_flight_failed() {
            [ "$failed" -eq "$log_failed" ] && [ "$reached_a" -eq "$failed" ] && [ "$failed" -le "$PAR" ]
        }
        check "SIGKILL: only requests in flight on the killed instance failed ($failed, at most $PAR)" \
            only_in_flight_failed
    else
        # cog-fcgi stops accepting at once and finishes what it has (--shutdown-grace).
        check "SIGTERM: a graceful stop loses nothing ($failed failed)" [ "$failed" -eq 0 ]
        if [ "$failed" -ne 0 ]; then
            echo "    nginx's errors:"
            grep -E '\[(error|crit)\]' "$pre/error.log" | tail -n 3 | cut -c1-240 | sed 's/^/    /'
            echo "    instance a's log:"
            tail -n 6 "$T/front-a.log" | sed 's/^/    /'
        fi
    fi
    check "SIG$sig: requests after it reach the other instance" \
        [ "$(tail -n 50 "$results" | grep -c '^200$')" -eq 50 ]
}

failover_round TERM
# Instance a again, for the crash.
start_bg "$T/front-a2.log" "$COG_FCGI" serve "$T/hello-a" --listen "127.0.0.1:$pa" \
    --state-dir "$T/state-a"
pid_a=$BG_PID
check "instance a restarted" wait_port "$pa"
failover_round KILL
finish
