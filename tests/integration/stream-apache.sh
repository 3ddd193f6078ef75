#!/usr/bin/env bash
# stream-apache.sh - event streams through Apache mod_proxy_fcgi (apache/cog-fcgi-proxy.conf, as
# shipped, with the socket path replaced): a generator yielding every 200 ms read as it streams
# (each event within 50 ms of its yield), re-attach with replay, cancel when the client hangs
# up, and Replicate's stream with Last-Event-ID resume. Then Apache mod_fcgid
# (apache/cog-fcgi-fcgid.conf, FcgidOutputBufferSize 0) starting cog-fcgi itself: the same
# latency bound, and cancel on hang-up. The scenarios are stream_client.py's, the same that
# stream.sh runs through nginx.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
if [ ! -x "$APACHE2" ] || [ ! -f "$APACHE_MODULES/mod_proxy_fcgi.so" ]; then
    fail "apache2 with mod_proxy_fcgi installed" "scripts/install-deps.sh"
    finish
fi
CLIENT=$ROOT/tests/integration/stream_client.py
trap 'kill_strays "$T"; cf_cleanup' EXIT

# client SCENARIO: runs one stream_client.py scenario; its PASS/FAIL lines count here.
client() {
    local out=$T/client.out rc p f
    timeout 120 "$PY" "$CLIENT" "$1" 127.0.0.1 "$port" "$client_label" >"$out" 2>&1
    rc=$?
    cat "$out"
    p=$(grep -c '^PASS ' "$out")
    f=$(grep -c '^FAIL ' "$out")
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "stream_client.py $1" "exit $rc"
    fi
}

client_label=apache
sock_flags=()
[ "$(id -u)" -eq 0 ] && sock_flags=(--socket-mode 0660 --socket-group www-data)
pre=$T/apache
mkdir -p "$pre"
port=$(free_port)
start_bg "$T/front.log" "$COG_FCGI" serve "$ROOT/tests/projects/stream" \
    --listen "unix:$T/cog.sock" --state-dir "$T/state" "${sock_flags[@]}"
front=$BG_PID
check "cog-fcgi listens" wait_socket "$T/cog.sock" 20
sed "s|unix:/run/cog-fcgi/cog.sock|unix:$T/cog.sock|" \
    "$ROOT/apache/cog-fcgi-proxy.conf" >"$pre/cog-fcgi-proxy.conf"
apache_render "$pre" "$port" event "$pre/cog-fcgi-proxy.conf" authz_core mime proxy proxy_fcgi
if ! apache_run "$pre" "$port"; then
    fail "apache2 starts with apache/cog-fcgi-proxy.conf"
    finish
fi
base=http://127.0.0.1:$port
check "READY through Apache" wait_ready "$base" 60

# What curl -N shows: the head, then events as they come.
curl -sN -D "$T/head" -o "$T/body" --max-time 20 -H 'Accept: text/event-stream' \
    -H 'Content-Type: application/json' -d '{"input": {"n": 2, "delay": 0.1}}' "$base/predictions"
check "curl -N: text/event-stream" grep -qi '^content-type: text/event-stream' "$T/head"
check "curl -N: X-Accel-Buffering: no reaches the client through Apache" \
    grep -qi '^x-accel-buffering: no' "$T/head"
check "curl -N: the stream ends with completed" grep -q '^event: completed' "$T/body"

client latency
client reattach
client cancel-disconnect
client replicate
stop_pid "$APACHE_PID"
forget_pid "$APACHE_PID"
stop_pid "$front"
forget_pid "$front"

if [ ! -f "$APACHE_MODULES/mod_fcgid.so" ]; then
    fail "mod_fcgid installed" "scripts/install-deps.sh (libapache2-mod-fcgid)"
    finish
fi
project=$T/stream
cp -r "$ROOT/tests/projects/stream" "$project"
pre=$T/fcgid
mkdir -p "$pre/fcgid"
[ "$(id -u)" -eq 0 ] && chown www-data "$pre/fcgid"
port=$(free_port)
sed -e "s|/usr/local/bin/cog-fcgi|$COG_FCGI|g" -e "s|/srv/models/hello|$project|g" \
    "$ROOT/apache/cog-fcgi-fcgid.conf" >"$pre/cog-fcgi-fcgid.conf"
cat >"$pre/site.conf" <<CONF
FcgidIPCDir $pre/fcgid
FcgidProcessTableFile $pre/fcgid/shm
Include $pre/cog-fcgi-fcgid.conf
CONF
apache_render "$pre" "$port" event "$pre/site.conf" authz_core mime fcgid
if ! apache_run "$pre" "$port"; then
    fail "apache2 starts with apache/cog-fcgi-fcgid.conf"
    finish
fi
check "mod_fcgid: READY" wait_ready "http://127.0.0.1:$port" 60
client_label=fcgid
client latency
client cancel-disconnect
finish
