#!/usr/bin/env bash
# run.sh - `make bench`: what cog-fcgi costs per request beside its peers, all measured in this
# run on this machine with wrk on loopback (every ratio printed divides figures of this run).
#
#   no-op prediction (tests/projects/noop), at 1 and 8 connections:
#     cog-fcgi through nginx (also with fastcgi_keep_conn), nginx serving a static file,
#     the Python peer under uWSGI through nginx, Cog's own server (at 1 and 4);
#   1 MB file in and out (tests/projects/copyfile: a 1 MiB data URI in, the model copies the
#   file, a 1 MiB data URI out; 1.4 MB request, 2.8 MB response), at 1 and 4 connections:
#     cog-fcgi, the Python peer under uWSGI, Cog's server;
#   the same handler as the peer's in-process, no server (the "python loop" rows);
#   the front's peak RSS (VmHWM) across one prediction with a 50 MiB file input;
#   the base64 decoder's MB/s beside memcpy's (build/tests/bench_base64).
#
# The Python peer (tests/bench/peer_app.py) is a plain WSGI app: json.loads the body, check the
# input, decode the data URI into a temp file, call the same predict(), read and encode the
# output, json.dumps the answer. It runs in uWSGI (Debian's uwsgi-core, uwsgi-plugin-python3),
# one process, one thread (one model instance, like cog-fcgi's one worker), behind nginx with
# uwsgi_pass and the same buffer sizes as nginx/cog-fcgi.conf.
#
# Cog's server is measured only when COG_PYTHON_TREE names Cog's python/ directory (a checkout
# of github.com/replicate/cog at v0.15.5, e.g. COG_PYTHON_TREE=~/cog/python, with its Python
# dependencies importable by /usr/bin/python3); it is started as
# `python3 -m cog.server.http` in the project directory and talked to directly (it is its own
# HTTP server). Without it the run says so and prints no Cog ratio.
#
# Environment: CF_BENCH_SECONDS (default 5, per wrk run; CF_BENCH_FILE_SECONDS, default 3, for
# each round of the file rows), COG_FCGI (default build/cog-fcgi),
# COG_PYTHON_TREE (see above). About 3 minutes on 2 cores.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
need_binary
# Temp files of every server and model (the copyfile model keeps its last outputs) go under T,
# which the exit trap removes.
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
secs=${CF_BENCH_SECONDS:-5}
file_secs=${CF_BENCH_FILE_SECONDS:-3}
lua=$ROOT/tests/bench/count.lua
cog_tree=${COG_PYTHON_TREE:-}
BUILD_DIR=$(dirname "$COG_FCGI")
noop=$ROOT/tests/projects/noop
copyfile=$ROOT/tests/projects/copyfile

# The request bodies: a no-op prediction, and a 1 MiB file (fixed pseudo-random bytes).
noop_body=$T/noop.json
file_body=$T/file1m.json
printf '{"input":{}}' >"$noop_body"
"$PY" - "$file_body" 1048576 <<'PY'
import base64, json, random, sys
data = random.Random(7).randbytes(int(sys.argv[2]))
uri = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
open(sys.argv[1], "w").write(json.dumps({"input": {"source": uri}}))
PY

# bench NAME CONNECTIONS URL BODY_FILE: sets RPS (2xx answers per second), ALL (answers per
# second) and NON2XX; prints one row.
bench() {
    local name=$1 conns=$2 url=$3 threads=1 out=$T/wrk.$RANDOM.txt n t
    [ "$conns" -gt 1 ] && threads=2
    CF_BENCH_BODY_FILE=${4:-} timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" \
        -s "$lua" "$url" >"$out" 2>&1
    n=$(awk '/ requests in / { print $1 }' "$out")
    t=$(awk '/ requests in / { sub(/s,$/, "", $4); print $4 }' "$out")
    NON2XX=$(awk '/^non-2xx:/ { print $2 }' "$out")
    NON2XX=${NON2XX:-0}
    ALL=$(awk -v n="${n:-0}" -v t="${t:-0}" 'BEGIN { printf "%.1f", (t > 0 ? n / t : 0) }')
    RPS=$(awk -v n="${n:-0}" -v b="$NON2XX" -v t="${t:-0}" 'BEGIN { printf "%.1f", (t > 0 ? (n - b) / t : 0) }')
    printf '%-34s %2d conn  %9.1f 2xx/s  non-2xx %s\n' "$name" "$conns" "$RPS" "$NON2XX"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

rss_of() { awk '/^VmRSS:/ { print $2, $3 }' /proc/"$1"/status 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }

# start_pair PROJECT: a front and nginx (cog-fcgi.conf as shipped, plus keep_conn and static
# locations); sets BASE.
start_pair() {
    local sock=$T/cog.$RANDOM.sock
    start_front "$1" "$sock" --queue 64 || return 1
    mkdir -p "$T/static"
    printf '{"status":"ok"}\n' >"$T/static/ok.json"
    CF_NGINX_KEEPALIVE=1 CF_NGINX_STATIC=$T/static start_nginx "$T/nginx.$RANDOM" "$(free_port)" \
        "$sock" || return 1
    wait_ready "$BASE"
}
stop_pair() { stop_nginx; stop_front; }

# start_uwsgi PROJECT: the Python peer in uWSGI behind its own nginx; sets UBASE.
start_uwsgi() {
    local dir=$T/uwsgi.$RANDOM port i
    mkdir -p "$dir/tmp"
    port=$(free_port)
    CF_PEER_PATHS=$BUILD_DIR/python CF_PEER_PROJECT=$1 uwsgi --plugin python3 \
        --socket "$dir/app.sock" --chmod-socket=666 --wsgi-file "$ROOT/tests/bench/peer_app.py" \
        --master --processes 1 --threads 1 --disable-logging --die-on-term --need-app \
        --buffer-size 32768 >"$dir/uwsgi.log" 2>&1 &
    UWSGI_PID=$!
    CF_PIDS="$CF_PIDS $UWSGI_PID"
    cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    client_max_body_size 100m;
    client_body_buffer_size 4m;
    uwsgi_buffer_size 64k;
    uwsgi_buffers 64 64k;
    server {
        listen 127.0.0.1:$port;
        location / {
            include /etc/nginx/uwsgi_params;
            uwsgi_pass unix:$dir/app.sock;
            uwsgi_read_timeout 3600s;
        }
    }
}
CONF
    nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/error.log" &
    UNGINX_PID=$!
    CF_PIDS="$CF_PIDS $UNGINX_PID"
    UBASE=http://127.0.0.1:$port
    for i in $(seq 300); do
        curl -s --max-time 2 "$UBASE/health-check" | grep -q READY && return 0
        sleep 0.1
    done
    echo "the uWSGI peer did not start; its log:" >&2
    tail -n 20 "$dir/uwsgi.log" "$dir/error.log" >&2
    return 1
}
stop_uwsgi() {
    stop_pid "$UNGINX_PID"; forget_pid "$UNGINX_PID"
    stop_pid "$UWSGI_PID"; forget_pid "$UWSGI_PID"
}

# start_cog PROJECT: Cog's own server for the project; sets CBASE.
start_cog() {
    local port i
    port=$(free_port)
    (cd "$1" && PYTHONPATH=$cog_tree PORT=$port exec "$PY" -m cog.server.http --host 127.0.0.1) \
        >"$T/cog.$port.log" 2>&1 &
    COG_PID=$!
    CF_PIDS="$CF_PIDS $COG_PID"
    CBASE=http://127.0.0.1:$port
    for i in $(seq 600); do
        curl -s --max-time 2 "$CBASE/health-check" | grep -q READY && return 0
        kill -0 "$COG_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "Cog's server did not become READY; its log:" >&2
    tail -n 20 "$T/cog.$port.log" >&2
    return 1
}
stop_cog() { stop_pid "$COG_PID"; forget_pid "$COG_PID"; }

have_uwsgi=0
if command -v uwsgi >/dev/null 2>&1 && [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ]; then
    have_uwsgi=1
else
    echo "uWSGI with its python3 plugin is missing (make deps installs it): no uWSGI rows"
fi
have_cog=0
if [ -n "$cog_tree" ] && [ -f "$cog_tree/cog/server/http.py" ]; then
    have_cog=1
    echo "Cog's server: from COG_PYTHON_TREE=$cog_tree"
else
    echo "Cog's server: not measured (set COG_PYTHON_TREE to Cog 0.15.5's python/ directory)"
fi
echo

# ---- No-op prediction.
start_pair "$noop" || { fail "cog-fcgi (noop) starts"; finish; }
http POST "$BASE/predictions" '{"input":{}}'
expect_json "a no-op prediction succeeds before the benchmark" /status succeeded
bench "cog-fcgi no-op" 1 "$BASE/predictions" "$noop_body"; cog1=$RPS
bench "cog-fcgi no-op" 8 "$BASE/predictions" "$noop_body"; cog8=$RPS; cog8_non2xx=$NON2XX
bench "cog-fcgi no-op, fastcgi_keep_conn" 1 "$BASE/keepalive/predictions" "$noop_body"; ka1=$RPS
bench "cog-fcgi no-op, fastcgi_keep_conn" 8 "$BASE/keepalive/predictions" "$noop_body"; ka8=$RPS
front_rss=$(rss_of "$FRONT_PID")
worker_rss=""
for kid in $(cat /proc/"$FRONT_PID"/task/*/children 2>/dev/null); do
    worker_rss="$worker_rss $(rss_of "$kid")"
done
bench "nginx static file" 1 "$BASE/static/ok.json"; static1=$RPS
bench "nginx static file" 8 "$BASE/static/ok.json"; static8=$RPS
stop_pair

uw_noop1=0 uw_noop8=0 uw_file1=0 uw_file4=0
if [ $have_uwsgi = 1 ]; then
    if start_uwsgi "$noop"; then
        bench "uWSGI peer no-op" 1 "$UBASE/predictions" "$noop_body"; uw_noop1=$RPS
        bench "uWSGI peer no-op" 8 "$UBASE/predictions" "$noop_body"; uw_noop8=$RPS
        stop_uwsgi
    else
        fail "the uWSGI peer (noop) starts"
    fi
fi
cog_noop1=0 cog_noop8=0 cog_file1=0 cog_file4=0
if [ $have_cog = 1 ]; then
    if start_cog "$noop"; then
        bench "Cog's server no-op" 1 "$CBASE/predictions" "$noop_body"; cog_noop1=$RPS
        bench "Cog's server no-op" 8 "$CBASE/predictions" "$noop_body"; cog_noop8=$RPS
        cog_noop8_non2xx=$NON2XX
        stop_cog
    else
        fail "Cog's server (noop) starts"
    fi
fi
loop_noop=$(CF_PEER_PATHS=$BUILD_DIR/python "$PY" "$ROOT/tests/bench/peer_app.py" "$noop" "" 2)
printf '%-34s          %9.1f calls/s\n' "python loop no-op, in-process" "${loop_noop:-0}"
echo

# ---- 1 MB file in and out. The three servers are up together and measured in turns, five rounds
# of CF_BENCH_FILE_SECONDS (default 3) each, each server keeping its best round: load from other
# jobs on the machine then weighs on all of them alike instead of on whichever ran during it.
start_pair "$copyfile" || { fail "cog-fcgi (copyfile) starts"; finish; }
code=$(curl -s -o "$T/file.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$file_body" "$BASE/predictions")
check "a 1 MB file prediction returns the same bytes" "$PY" - "$file_body" "$T/file.out" "$code" <<'PY'
import json, sys
req, resp = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
src = req["input"]["source"].split(",", 1)[1]
sys.exit(not (sys.argv[3] == "200" and resp["status"] == "succeeded"
              and resp["output"].split(",", 1)[1] == src))
PY
uw_up=0
if [ $have_uwsgi = 1 ]; then
    if start_uwsgi "$copyfile"; then uw_up=1; else fail "the uWSGI peer (copyfile) starts"; fi
fi
cog_up=0
if [ $have_cog = 1 ]; then
    if start_cog "$copyfile"; then cog_up=1; else fail "Cog's server (copyfile) starts"; fi
fi
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0 ? a : b) }'; }
file1=0 file4=0 file4_non2xx=0 cog_file4_non2xx=0
for conns in 1 4; do
    for round in 1 2 3 4 5; do
        secs=$file_secs bench "cog-fcgi 1 MB file in+out ($round)" "$conns" "$BASE/predictions" "$file_body"
        if [ "$conns" = 1 ]; then file1=$(best "$file1" "$RPS"); else file4=$(best "$file4" "$RPS"); fi
        [ "$conns" = 4 ] && file4_non2xx=$((file4_non2xx + NON2XX))
        if [ $uw_up = 1 ]; then
            secs=$file_secs bench "uWSGI peer 1 MB file in+out ($round)" "$conns" "$UBASE/predictions" "$file_body"
            if [ "$conns" = 1 ]; then uw_file1=$(best "$uw_file1" "$RPS"); else uw_file4=$(best "$uw_file4" "$RPS"); fi
        fi
        if [ $cog_up = 1 ]; then
            secs=$file_secs bench "Cog's server 1 MB file in+out ($round)" "$conns" "$CBASE/predictions" "$file_body"
            if [ "$conns" = 1 ]; then cog_file1=$(best "$cog_file1" "$RPS"); else cog_file4=$(best "$cog_file4" "$RPS"); fi
            [ "$conns" = 4 ] && cog_file4_non2xx=$((cog_file4_non2xx + NON2XX))
        fi
    done
done
file_front_rss=$(rss_of "$FRONT_PID")
stop_pair
[ $uw_up = 1 ] && stop_uwsgi
[ $cog_up = 1 ] && stop_cog
printf '%-34s %2d conn  %9.1f 2xx/s (best of 5)\n' "cog-fcgi 1 MB file in+out" 1 "$file1" \
    "cog-fcgi 1 MB file in+out" 4 "$file4"
[ $uw_up = 1 ] && printf '%-34s %2d conn  %9.1f 2xx/s (best of 5)\n' \
    "uWSGI peer 1 MB file in+out" 1 "$uw_file1" "uWSGI peer 1 MB file in+out" 4 "$uw_file4"
[ $cog_up = 1 ] && printf '%-34s %2d conn  %9.1f 2xx/s (best of 5)\n' \
    "Cog's server 1 MB file in+out" 1 "$cog_file1" "Cog's server 1 MB file in+out" 4 "$cog_file4"
loop_file=$(CF_PEER_PATHS=$BUILD_DIR/python "$PY" "$ROOT/tests/bench/peer_app.py" "$copyfile" \
    "$file_body" 2)
printf '%-34s          %9.1f calls/s\n' "python loop 1 MB file, in-process" "${loop_file:-0}"
echo

# ---- The front's peak memory across one 50 MiB file input (67 MB data URI, 140 MB response).
big_body=$T/file50m.json
"$PY" - "$big_body" $((50 << 20)) <<'PY'
import base64, json, os, sys
data = os.urandom(int(sys.argv[2]))
uri = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
open(sys.argv[1], "w").write(json.dumps({"input": {"source": uri}}))
PY
start_pair "$copyfile" || { fail "cog-fcgi (50 MB) starts"; finish; }
hwm0=$(hwm_kb "$FRONT_PID")
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 120 -H 'Content-Type: application/json' \
    --data-binary @"$big_body" "$BASE/predictions")
hwm1=$(hwm_kb "$FRONT_PID")
check "the 50 MiB file prediction answers 200" test "$code" = 200
stop_pair
rm -f "$big_body"
printf 'front peak RSS (VmHWM): %s MB before, %s MB after one 50 MiB input (+%s MB; the body is 67 MB)\n' \
    "$((hwm0 / 1024))" "$((hwm1 / 1024))" "$(((hwm1 - hwm0) / 1024))"
echo

# ---- The base64 decoder beside memcpy.
if [ -x "$BUILD_DIR/tests/bench_base64" ]; then
    "$BUILD_DIR/tests/bench_base64" 8 0.3
else
    echo "base64: $BUILD_DIR/tests/bench_base64 is not built (make bench builds it)"
fi
echo

bash "$ROOT/tests/bench/files_large.sh" | grep -v "^PASS "; [ "${PIPESTATUS[0]}" = 0 ] || fail "tests/bench/files_large.sh"; echo
echo "Ratios, all from this run:"
echo "  no-op   cog-fcgi / nginx static    1 conn: $(ratio "$cog1" "$static1")   8 conn: $(ratio "$cog8" "$static8")"
echo "  no-op   keep_conn / nginx static   1 conn: $(ratio "$ka1" "$static1")   8 conn: $(ratio "$ka8" "$static8")"
echo "  no-op   cog-fcgi / python loop     1 conn: $(ratio "$cog1" "$loop_noop")"
[ $have_uwsgi = 1 ] &&
    echo "  no-op   cog-fcgi / uWSGI peer      1 conn: $(ratio "$cog1" "$uw_noop1")   8 conn: $(ratio "$cog8" "$uw_noop8")"
[ $have_cog = 1 ] &&
    echo "  no-op   cog-fcgi / Cog's server    1 conn: $(ratio "$cog1" "$cog_noop1")   8 conn (2xx): $(ratio "$cog8" "$cog_noop8") (Cog refused ${cog_noop8_non2xx:-?} with 409)"
echo "  1 MB    cog-fcgi / python loop     1 conn: $(ratio "$file1" "$loop_file")"
[ $have_cog = 0 ] && echo "  (no ratio to Cog's server: COG_PYTHON_TREE is not set)"
[ $have_uwsgi = 1 ] &&
    echo "  1 MB    cog-fcgi / uWSGI peer      1 conn: $(ratio "$file1" "$uw_file1")   4 conn: $(ratio "$file4" "$uw_file4")"
if [ $have_cog = 1 ]; then
    echo "  1 MB    cog-fcgi / Cog's server    1 conn: $(ratio "$file1" "$cog_file1")   4 conn (2xx): $(ratio "$file4" "$cog_file4") (Cog refused ${cog_file4_non2xx:-?} with 409)"
    awk -v r="$(ratio "$file1" "$cog_file1")" 'BEGIN { printf "  target: 1 MB file at 1 conn >= 5x Cog: %s\n", (r + 0 >= 5 ? "met" : "not met") }'
fi
echo "non-2xx: cog-fcgi no-op 8 conn $cog8_non2xx, 1 MB file 4 conn $file4_non2xx"
echo "front RSS (VmRSS) after the no-op runs: ${front_rss:-?}; worker:${worker_rss:- ?}; after the 1 MB runs: ${file_front_rss:-?}"
echo

check "cog-fcgi served no-op predictions at 1 connection" awk -v r="$cog1" 'BEGIN { exit !(r > 0) }'
check "cog-fcgi served no-op predictions at 8 connections" awk -v r="$cog8" 'BEGIN { exit !(r > 0) }'
check "no non-2xx answers from cog-fcgi at 8 connections" test "$cog8_non2xx" = 0
check "cog-fcgi served 1 MB file predictions" awk -v r="$file1" 'BEGIN { exit !(r > 0) }'
check "no non-2xx answers from cog-fcgi for files at 4 connections" test "$file4_non2xx" = 0
check "event streams (tests/bench/stream.sh)" bash "$ROOT/tests/bench/stream.sh"
check "the pool benchmarks (tests/bench/pool.sh) ran" bash "$ROOT/tests/bench/pool.sh"
finish
