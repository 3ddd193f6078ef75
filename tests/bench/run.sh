#!/usr/bin/env bash
# run.sh - `make bench`: how much cog-fcgi costs per request, measured with wrk on loopback.
#
# Four wrk runs of 5 s each against one nginx: a no-op prediction (tests/projects/noop) through
# nginx -> cog-fcgi, and a small static file served by nginx itself, each at 1 and at 8
# connections; then a plain Python loop calling the same predict() in-process. Prints
# requests/s, the ratios cog-fcgi/static and cog-fcgi/python-loop, the non-2xx answers (none
# expected: the queue is deep enough for 8 connections) and the memory of the front and worker.
#
# Environment: CF_BENCH_SECONDS (default 5), COG_FCGI (default build/cog-fcgi).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
need_binary
secs=${CF_BENCH_SECONDS:-5}
lua=$ROOT/tests/bench/count.lua

mkdir -p "$T/static"
printf '{"status":"ok"}\n' >"$T/static/ok.json"
sock=$T/cog.sock
start_front "$ROOT/tests/projects/noop" "$sock" --queue 64 || { fail "cog-fcgi starts"; finish; }
CF_NGINX_KEEPALIVE=1 CF_NGINX_STATIC=$T/static start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "noop becomes READY"; finish; }
http POST "$BASE/predictions" '{"input":{}}'
expect_json "a no-op prediction succeeds before the benchmark" /status succeeded

# bench NAME CONNECTIONS URL [BODY]: sets RPS and NON2XX.
bench() {
    local name=$1 conns=$2 url=$3 threads=1 out=$T/wrk.$1.$2.txt
    [ "$conns" -gt 1 ] && threads=2
    CF_BENCH_BODY=${4:-} timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" \
        -s "$lua" "$url" >"$out" 2>&1
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    NON2XX=$(awk '/^non-2xx:/ { print $2 }' "$out")
    RPS=${RPS:-0}
    NON2XX=${NON2XX:-?}
    printf '%-28s %2d conn  %10.1f req/s  non-2xx %s\n' "$name" "$conns" "$RPS" "$NON2XX"
}

bench "cog-fcgi no-op prediction" 1 "$BASE/predictions" '{"input":{}}'
cog1=$RPS
bench "cog-fcgi no-op prediction" 8 "$BASE/predictions" '{"input":{}}'
cog8=$RPS
cog8_non2xx=$NON2XX
bench "cog-fcgi, fastcgi_keep_conn" 1 "$BASE/keepalive/predictions" '{"input":{}}'
ka1=$RPS
bench "cog-fcgi, fastcgi_keep_conn" 8 "$BASE/keepalive/predictions" '{"input":{}}'
ka8=$RPS
front_rss=$(awk '/^VmRSS:/ { print $2, $3 }' /proc/"$FRONT_PID"/status 2>/dev/null)
worker_rss=""
for kid in $(cat /proc/"$FRONT_PID"/task/*/children 2>/dev/null); do
    worker_rss="$worker_rss $(awk '/^VmRSS:/ { print $2, $3 }' /proc/"$kid"/status 2>/dev/null)"
done
bench "nginx static file" 1 "$BASE/static/ok.json"
static1=$RPS
bench "nginx static file" 8 "$BASE/static/ok.json"
static8=$RPS

pyloop=$("$PY" - "$ROOT/build/python" "$ROOT/predictor/python" "$ROOT/tests/projects/noop" <<'PY'
# The same predict() with no server at all: the ceiling a server could reach.
import sys
import time

sys.path[:0] = sys.argv[1:]
import predict

p = predict.Predictor()
p.setup()
n, start = 0, time.perf_counter()
while time.perf_counter() - start < 2.0:
    for _ in range(1000):
        p.predict()
    n += 1000
print(f"{n / (time.perf_counter() - start):.1f}")
PY
)
printf '%-28s          %10.1f calls/s\n' "python loop, in-process" "${pyloop:-0}"

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "n/a" }'
}
echo
echo "cog-fcgi / static        1 conn: $(ratio "$cog1" "$static1")   8 conn: $(ratio "$cog8" "$static8")"
echo "keep_conn / static       1 conn: $(ratio "$ka1" "$static1")   8 conn: $(ratio "$ka8" "$static8")"
# Cog 0.15.5's own server for the same predictor on this machine class (issue #2): about 640/s
# at 1 connection, and 87% of requests refused with 409 at 4 connections.
echo "cog-fcgi / Cog's server  1 conn: $(ratio "$cog1" 640) (Cog: about 640 predictions/s)"
echo "cog-fcgi / python loop   1 conn: $(ratio "$cog1" "$pyloop")   8 conn: $(ratio "$cog8" "$pyloop")"
echo "non-2xx at 8 connections: $cog8_non2xx"
echo "front RSS (VmRSS): ${front_rss:-?}; worker RSS:${worker_rss:- ?}"
echo

check "cog-fcgi served requests at 1 connection" awk -v r="$cog1" 'BEGIN { exit !(r > 0) }'
check "cog-fcgi served requests at 8 connections" awk -v r="$cog8" 'BEGIN { exit !(r > 0) }'
check "no non-2xx answers at 8 connections" test "$cog8_non2xx" = 0
finish
