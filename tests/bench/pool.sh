#!/usr/bin/env bash
# pool.sh - `make bench`, the worker pool's part (issue 11); tests/bench/run.sh calls it.
#
# 1. No-op predictions/s at 8 connections through nginx: cog-fcgi --workers 2 beside uWSGI with
#    2 processes running a WSGI app that parses, checks and calls the same predict()
#    (tests/bench/uwsgi_app.py, behind the same kind of nginx with uwsgi_pass). Target: at
#    least uWSGI's rate.
# 2. A CPU-bound model (tests/bench/projects/cpu, ~20 ms of Python per prediction) with
#    --workers 2 against --workers 1, 4 connections, in alternating turns. Target: at least
#    1.8x on 2 cores.
# 3. Scale from zero: --idle-timeout 1s, the worker goes offline, then one request; the time
#    it takes beyond the model's own setup() and predict() (tests/bench/projects/zero reports
#    its setup time), once the spare worker (Python and cog loaded) is ready. Target: under
#    50 ms.
#
# Environment: CF_BENCH_SECONDS (default 5; the untimed warm-up runs), CF_BENCH_TURNS (no-op turns,
# default 7), CF_BENCH_CPU_TURNS (CPU-bound turns, default 7), COG_FCGI (default build/cog-fcgi).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
need_binary
secs=${CF_BENCH_SECONDS:-5}
lua=$ROOT/tests/bench/count.lua
body='{"input":{}}'

# wrk_rps CONNECTIONS URL BODY: requests/s (non-2xx counted as failures of the check).
wrk_rps() {
    local out=$T/wrk.$RANDOM.txt threads=1
    [ "$1" -gt 1 ] && threads=2
    CF_BENCH_BODY=$3 timeout $((secs + 30)) wrk -t"$threads" -c"$1" -d"${secs}s" -s "$lua" "$2" \
        >"$out" 2>&1
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    NON2XX=$(awk '/^non-2xx:/ { print $2 }' "$out")
    RPS=${RPS:-0}
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }'; }

# ---- 1. no-op at 8 connections: cog-fcgi --workers 2 vs uWSGI 2 processes -------------------
# Both stacks are up at once (the one not measured is idle) and measured in turns of 2 s, so
# that a change in the machine's speed during the run (a shared VM) falls on both alike: the
# median of each and the median of the turn-by-turn ratios are reported (CF_BENCH_TURNS, 7).
sock=$T/cog.sock
start_front "$ROOT/tests/projects/noop" "$sock" --workers 2 --queue 64 || { fail "cog-fcgi starts"; finish; }
CF_NGINX_KEEPALIVE=1 start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "noop becomes READY"; finish; }
sleep 1 # the second worker's setup
have_uwsgi=0
if command -v uwsgi >/dev/null && [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ]; then
    have_uwsgi=1
    uport=$(free_port)
    CF_BENCH_PATH=$ROOT/build/python:$ROOT/tests/projects/noop start_bg "$T/uwsgi.log" \
        uwsgi --plugin python3 --master --processes 2 --socket "127.0.0.1:$uport" \
        --wsgi-file "$ROOT/tests/bench/uwsgi_app.py" --disable-logging --die-on-term
    uwsgi_pid=$BG_PID
    wait_port "$uport" 20
    cat >"$T/uwsgi.locations" <<CONF
location / {
    include $T/nginx-u/uwsgi_params;
    uwsgi_pass 127.0.0.1:$uport;
}
CONF
    nport=$(free_port)
    nginx_render "$T/nginx-u" "$T/uwsgi.locations" "$nport"
    cp /etc/nginx/uwsgi_params "$T/nginx-u/uwsgi_params"
    nginx_run "$T/nginx-u" "$nport" || fail "nginx for uWSGI starts"
    unginx_pid=$NGINX_PID
else
    echo "uWSGI or its python3 plugin is missing (uwsgi-core, uwsgi-plugin-python3)" >&2
fi
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
turns=${CF_BENCH_TURNS:-7}
secs_total=$secs
: >"$T/cog8" >"$T/uw8" >"$T/ratio8"
cog_bad=0 uw_bad=0
# One untimed run of each first: cog-fcgi is measured once its record budget (--keep-memory,
# 64 MiB) is full and every new prediction spills one and forgets one, as on a server that has
# run for a while, not in the cheaper first seconds; uWSGI's processes are warm too.
secs=$secs_total
wrk_rps 8 "$BASE/keepalive/predictions" "$body"
[ "$have_uwsgi" = 1 ] && wrk_rps 8 "http://127.0.0.1:$nport/predictions" "$body"
secs=2
cog_turn() {
    wrk_rps 8 "$BASE/keepalive/predictions" "$body"
    c=$RPS
    [ "${NON2XX:-x}" = 0 ] || cog_bad=1
    echo "$c" >>"$T/cog8"
}
uw_turn() {
    wrk_rps 8 "http://127.0.0.1:$nport/predictions" "$body"
    u=$RPS
    [ "${NON2XX:-x}" = 0 ] || uw_bad=1
    echo "$u" >>"$T/uw8"
}
# The order alternates, so that a drift in the machine's speed favours neither.
for turn in $(seq "$turns"); do
    u=
    if [ "$have_uwsgi" = 1 ] && [ $((turn % 2)) = 0 ]; then
        uw_turn
        cog_turn
    else
        cog_turn
        [ "$have_uwsgi" = 1 ] && uw_turn
    fi
    [ -n "$u" ] && { ratio "$c" "$u" >>"$T/ratio8"; echo >>"$T/ratio8"; }
    printf 'turn %d: cog-fcgi %s req/s, uWSGI %s req/s\n' "$turn" "$c" "$u"
done
secs=$secs_total
check "cog-fcgi --workers 2: no non-2xx answers" test "$cog_bad" = 0
[ "$have_uwsgi" = 1 ] && check "uWSGI: no non-2xx answers" test "$uw_bad" = 0
cog8=$(median <"$T/cog8")
uw8=$(median <"$T/uw8")
r8=$(grep . "$T/ratio8" | median)
stop_front
stop_nginx
if [ "$have_uwsgi" = 1 ]; then
    stop_pid "$unginx_pid"
    stop_pid "$uwsgi_pid"
fi
printf '%-44s %10.1f req/s (median of %d turns)\n' "cog-fcgi --workers 2, no-op, 8 conn" "$cog8" "$turns" \
    "uWSGI 2 processes, no-op, 8 conn" "$uw8" "$turns"
printf '%-44s %10s (target >= 1; median of the turns)\n' "cog-fcgi / uWSGI" "${r8:-0}"

# ---- 2. CPU-bound: 2 workers vs 1 -----------------------------------------------------------
# Both fronts up at once (the idle one's workers only wait), measured in alternating turns of
# 3 s as above; the median of the turn ratios is the figure.
cpu=$ROOT/tests/bench/projects/cpu
for n in 1 2; do
    start_front "$cpu" "$T/cpu$n.sock" --workers "$n" --queue 64 ||
        { fail "cog-fcgi --workers $n starts"; finish; }
    eval "cpu_front$n=\$FRONT_PID"
    CF_NGINX_KEEPALIVE=1 start_nginx "$T/nginx-c$n" "$(free_port)" "$T/cpu$n.sock" || fail "nginx starts"
    eval "cpu_nginx$n=\$NGINX_PID cpu_base$n=\$BASE"
    wait_ready "$BASE"
done
sleep 1 # the second worker's setup
: >"$T/cpu1" >"$T/cpu2" >"$T/ratio_cpu"
secs=3
cpu_turns=${CF_BENCH_CPU_TURNS:-7}
for turn in $(seq "$cpu_turns"); do
    order="1 2"
    [ $((turn % 2)) = 0 ] && order="2 1"
    for n in $order; do
        eval "wrk_rps 4 \"\$cpu_base$n/keepalive/predictions\" \"\$body\""
        eval "r$n=\$RPS"
        echo "$RPS" >>"$T/cpu$n"
    done
    # shellcheck disable=SC2154
    ratio "$r2" "$r1" >>"$T/ratio_cpu"
    echo >>"$T/ratio_cpu"
    printf 'CPU-bound turn %d: --workers 1 %s req/s, --workers 2 %s req/s\n' "$turn" "$r1" "$r2"
done
secs=$secs_total
for n in 1 2; do
    eval "stop_pid \$cpu_nginx$n; stop_pid \$cpu_front$n"
done
printf '%-44s %10.1f req/s (median of %d turns)\n' "CPU-bound model, --workers 1, 4 conn" \
    "$(median <"$T/cpu1")" "$cpu_turns" "CPU-bound model, --workers 2, 4 conn" "$(median <"$T/cpu2")" "$cpu_turns"
printf '%-44s %10s (target >= 1.8 on 2 cores; median of the turns)\n' "2 workers / 1 worker" \
    "$(grep . "$T/ratio_cpu" | median)"

# ---- 3. scale from zero ----------------------------------------------------------------------
start_front "$ROOT/tests/bench/projects/zero" "$sock" --idle-timeout 1s || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx-z" "$(free_port)" "$sock" || fail "nginx starts"
wait_ready "$BASE"
best=""
for i in 1 2 3; do
    # offline, and (as after any real idle period) the spare is ready
    for _ in $(seq 100); do
        h=$(curl -s "$BASE/health-check")
        [ "$(printf '%s' "$h" | json_get /slots/0/state 2>/dev/null)" = offline ] &&
            [ "$(printf '%s' "$h" | json_get /spare 2>/dev/null)" = ready ] && break
        sleep 0.1
    done
    curl -s -o "$T/zero.json" -w '%{time_total}' -X POST -H 'Content-Type: application/json' \
        --data-binary "$body" "$BASE/predictions" >"$T/zero.time"
    t=$(cat "$T/zero.time")
    setup=$(json_get /output <"$T/zero.json")
    predict=$(json_get /metrics/predict_time <"$T/zero.json")
    boot=$(json_get /metrics/boot_time <"$T/zero.json")
    extra=$(awk -v t="$t" -v s="$setup" -v p="$predict" 'BEGIN { printf "%.1f", (t - s - p) * 1000 }')
    printf 'scale from zero #%d: %.3f s in all, setup() %.3f s, boot_time %.3f s: %s ms beyond setup()\n' \
        "$i" "$t" "$setup" "$boot" "$extra"
    if [ -z "$best" ] || awk -v a="$extra" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$extra; fi
done
printf '%-44s %10s ms (target < 50; the model import included)\n' \
    "scale from zero beyond setup(), best of 3" "$best"
stop_front
stop_nginx
finish
