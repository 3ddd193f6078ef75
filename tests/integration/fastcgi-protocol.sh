#!/usr/bin/env bash
# fastcgi-protocol.sh - cog-fcgi speaks FastCGI robustly: management records, kept connections,
# FCGI_WEB_SERVER_ADDRS, FCGI_ABORT_REQUEST, garbage, and nginx with fastcgi_keep_conn.
#
# A raw client (fcgi_client.py) talks to `cog-fcgi serve --threads 2` on TCP and on a unix
# socket: FCGI_GET_VALUES gets FCGI_GET_VALUES_RESULT; 6 connections that asked for
# FCGI_KEEP_CONN stay open and idle, yet a 7th connection is answered at once and the 6 still
# answer a second request (idle connections hold no thread); FCGI_WEB_SERVER_ADDRS refuses
# other TCP peers and does not apply to unix sockets; FCGI_ABORT_REQUEST cancels a running sync
# prediction; garbage and cut-off records close only their connection. Then nginx with
# `fastcgi_keep_conn on` and `keepalive 8` in front: 200 requests, its kept connections parked
# on the front without stopping other clients, and a client hang-up still cancels.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
CLIENT=$ROOT/tests/integration/fcgi_client.py
HELLO=$ROOT/examples/hello-world
SLOW=$ROOT/tests/projects/slow

# client COMMAND ARG...: runs fcgi_client.py; its PASS/FAIL lines count as checks here.
client() {
    local out=$T/client.out rc p f
    timeout 120 "$PY" "$CLIENT" "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "fcgi_client.py $1 $2" "exit $rc"
    fi
    return "$rc"
}

# start_tcp NAME PROJECT PORT [VAR=VALUE...]: cog-fcgi with 2 threads on 127.0.0.1:PORT, with
# the given environment. Sets BG_PID.
start_tcp() {
    local name=$1 project=$2 port=$3
    shift 3
    start_bg "$T/$name.log" env "$@" "$COG_FCGI" serve "$project" --listen "127.0.0.1:$port" \
        --threads 2 --state-dir "$T/state.$name"
    wait_port "$port" 60
}

# ---- TCP: management records, kept connections, garbage ----
ph=$(free_port)
if ! start_tcp hello "$HELLO" "$ph"; then
    fail "cog-fcgi listens on 127.0.0.1:$ph"
    finish
fi
pid_hello=$BG_PID
check "hello-world on TCP becomes READY" "$PY" "$CLIENT" wait-ready "127.0.0.1:$ph" 120
client get-values "127.0.0.1:$ph"
client keepalive "127.0.0.1:$ph" 6
client garbage "127.0.0.1:$ph"
check "the front survived all of it" kill -0 "$pid_hello"

# ---- unix socket: the same, and FCGI_WEB_SERVER_ADDRS does not apply ----
sock=$T/hello.sock
if FCGI_WEB_SERVER_ADDRS=10.1.2.3 start_front "$HELLO" "$sock" --threads 2; then
    check "hello-world on a unix socket becomes READY" "$PY" "$CLIENT" wait-ready "unix:$sock" 120
    client get-values "unix:$sock"
    client keepalive "unix:$sock" 6
    http_ok() { "$PY" "$CLIENT" request "unix:$sock" GET /health-check >/dev/null; }
    check "FCGI_WEB_SERVER_ADDRS=10.1.2.3 does not refuse unix socket peers" http_ok
    stop_front
else
    fail "cog-fcgi listens on a unix socket"
fi

# ---- FCGI_WEB_SERVER_ADDRS on TCP ----
pr=$(free_port)
if start_tcp refuse "$HELLO" "$pr" FCGI_WEB_SERVER_ADDRS=10.1.2.3; then
    client refused "127.0.0.1:$pr"
    check "the refusing front logs its list (CF0504)" grep -q 'CF0504.*10\.1\.2\.3' "$T/refuse.log"
    stop_pid "$BG_PID"
else
    fail "cog-fcgi with FCGI_WEB_SERVER_ADDRS=10.1.2.3 listens"
fi
pa=$(free_port)
if start_tcp allow "$HELLO" "$pa" "FCGI_WEB_SERVER_ADDRS=10.1.2.3,127.0.0.1"; then
    check "FCGI_WEB_SERVER_ADDRS=10.1.2.3,127.0.0.1 lets 127.0.0.1 in (READY over it)" \
        "$PY" "$CLIENT" wait-ready "127.0.0.1:$pa" 120
    stop_pid "$BG_PID"
else
    fail "cog-fcgi with FCGI_WEB_SERVER_ADDRS=10.1.2.3,127.0.0.1 listens"
fi

# ---- FCGI_ABORT_REQUEST during a sync prediction ----
ps=$(free_port)
if ! start_tcp slow "$SLOW" "$ps"; then
    fail "the slow project listens on 127.0.0.1:$ps"
    finish
fi
check "the slow project becomes READY" "$PY" "$CLIENT" wait-ready "127.0.0.1:$ps" 120
client abort "127.0.0.1:$ps" abort-1
check "the front logged the client going away (CF0315)" grep -q 'CF0315.*abort-1' "$T/slow.log"

# ---- nginx with fastcgi_keep_conn on and upstream keepalive ----
pre=$T/nginx
n1=$(free_port)
n2=$(free_port)
mkdir -p "$pre"
cat >"$pre/keep.conf" <<CONF
upstream cog_hello {
    server 127.0.0.1:$ph;
    keepalive 8;
}
upstream cog_slow {
    server 127.0.0.1:$ps;
    keepalive 8;
}
server {
    listen 127.0.0.1:$n1;
    location / {
        include fastcgi_params;
        fastcgi_pass cog_hello;
        fastcgi_keep_conn on;
    }
}
server {
    listen 127.0.0.1:$n2;
    location / {
        include fastcgi_params;
        fastcgi_pass cog_slow;
        fastcgi_keep_conn on;
        fastcgi_read_timeout 3600s;
    }
}
CONF
nginx_render "$pre" "$pre/keep.conf"
if ! nginx_run "$pre" "$n1"; then
    fail "nginx starts with fastcgi_keep_conn on"
    finish
fi
pass "nginx starts with fastcgi_keep_conn on"
base=http://127.0.0.1:$n1
results=$T/results
seq 200 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
    -X POST -H 'Content-Type: application/json' --data-binary '{"input": {"text": "n{}"}}' \
    "$base/predictions" >"$results"
ok=$(grep -c '^200$' "$results")
check "200 predictions through nginx keep_conn, 8 at a time: $ok answered 200" [ "$ok" -eq 200 ]
check_hello "nginx keep_conn" "$base"
# nginx parks its idle connections on the front (more than its 2 threads)...
kept=$(ss -Htn state established "( sport = :$ph )" | wc -l)
echo "nginx keeps $kept idle connections open to the front"
kept_ok() { [ "$kept" -ge 1 ] && [ "$kept" -le 8 ]; }
check "nginx reuses kept connections ($kept open after 200 requests, 1..8)" kept_ok
# ...and they hold no thread: a direct client is still answered at once.
quick() {
    local t0 t1
    t0=$(date +%s%N)
    "$PY" "$CLIENT" request "127.0.0.1:$ph" GET /health-check >/dev/null || return 1
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -lt 1000 ]
}
check "with nginx's connections parked a direct FastCGI client is answered in < 1 s" quick
# The HTTP client hangs up during a sync prediction: nginx closes that kept connection and the
# prediction is canceled.
curl -s -o /dev/null --max-time 1.5 -X PUT -H 'Content-Type: application/json' \
    --data-binary '{"input": {"seconds": 30}}' "http://127.0.0.1:$n2/predictions/hangup-1"
state=""
for _ in $(seq 100); do
    http GET "http://127.0.0.1:$n2/predictions/hangup-1"
    state=$(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null)
    [ "$state" = canceled ] && break
    sleep 0.1
done
check "a client hang-up through nginx keep_conn cancels the sync prediction ($state)" \
    [ "$state" = canceled ]
check "the TCP front is still running" kill -0 "$pid_hello"
if grep -E ' (error|crit|alert) ' "$T/hello.log" >/dev/null; then
    fail "no errors in the front's log" "$(grep -E ' (error|crit|alert) ' "$T/hello.log" | head -3)"
else
    pass "no errors in the front's log"
fi
finish
