# lib.sh - shared helpers for the integration tests: temp dir, servers, checks, the summary line.
#
# Source it from a bash test script:   . "$(dirname "$0")/lib.sh"
# It sets ROOT (the repository), COG_FCGI (the front binary; override with the environment,
# e.g. COG_FCGI=build-san/cog-fcgi), T (a private temp dir), and a trap that stops every server
# started through it and removes T on exit (KEEP_TMP=1 keeps T for a post-mortem).
# Checks count into PASSED/FAILED; `finish` prints "N passed, M failed" and exits accordingly.
# shellcheck shell=bash disable=SC2034

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
COG_FCGI=${COG_FCGI:-$ROOT/build/cog-fcgi}
case $COG_FCGI in /*) ;; *) COG_FCGI=$ROOT/$COG_FCGI ;; esac
PY=/usr/bin/python3
PASSED=0
FAILED=0
CF_PIDS=""
# Short path: unix socket paths must fit in 108 bytes.
T=$(mktemp -d /tmp/cf-test.XXXXXX)
# Fronts started other ways (spawners, systemd) keep their state here too.
export COG_FCGI_STATE_DIR=${COG_FCGI_STATE_DIR:-$T/state}
chmod 755 "$T"

cf_cleanup() {
    local pid
    for pid in $CF_PIDS; do
        stop_pid "$pid"
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "kept $T" >&2
    else
        rm -rf "$T"
    fi
}
trap cf_cleanup EXIT
trap 'exit 130' INT TERM

pass() {
    PASSED=$((PASSED + 1))
    echo "PASS $1"
}

# fail NAME [DETAIL]
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $1${2:+: $2}"
}

# check NAME COMMAND...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# need_binary: fails the whole script (one failure) when the front is not built.
need_binary() {
    if [ ! -x "$COG_FCGI" ]; then
        fail "binary $COG_FCGI exists" "run make first"
        finish
    fi
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL; children it leaves behind (the
# worker of a front) get the same treatment.
stop_pid() {
    local pid=$1 kids i
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    for pid in $kids; do
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    return 0
}

forget_pid() {
    local p out=""
    for p in $CF_PIDS; do
        [ "$p" = "$1" ] || out="$out $p"
    done
    CF_PIDS=$out
}

# mount_args MOUNT: the front's flag for a prefix mount, if it has one (otherwise it is
# expected to find the prefix itself from the FastCGI parameters).
mount_args() {
    [ -n "$1" ] || return 0
    if "$COG_FCGI" --help 2>&1 | grep -q -- '--mount'; then
        printf '%s\n' --mount "$1"
    fi
}

# start_front PROJECT SOCKET [FLAG...]: starts `cog-fcgi serve` on a unix socket and waits
# (up to 60 s) for the socket to appear. Sets FRONT_PID and FRONT_LOG.
FRONT_N=0
start_front() {
    local project=$1 sock=$2 i
    shift 2
    FRONT_N=$((FRONT_N + 1))
    FRONT_LOG=$T/front.$FRONT_N.log
    rm -f "$sock"
    # shellcheck disable=SC2046
    # Each front gets its own state directory unless the caller passes one
    # (later flags win): a test never sees another test's predictions.
    "$COG_FCGI" serve "$project" --listen "unix:$sock" $(sh "$ROOT/scripts/nginx-conf.sh" --socket-flags) \
        --state-dir "$T/state.$FRONT_N" "$@" 2>"$FRONT_LOG" &
    FRONT_PID=$!
    CF_PIDS="$CF_PIDS $FRONT_PID"
    for i in $(seq 600); do
        [ -S "$sock" ] && return 0
        if ! kill -0 "$FRONT_PID" 2>/dev/null; then
            echo "cog-fcgi exited before listening; its log:" >&2
            tail -n 20 "$FRONT_LOG" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "cog-fcgi did not create $sock in 60 s" >&2
    return 1
}

stop_front() {
    stop_pid "$FRONT_PID"
    forget_pid "$FRONT_PID"
}

# start_nginx PREFIX PORT SOCKET [MOUNT]: renders the test config and starts nginx in the
# foreground of a background job; waits until it answers. Sets NGINX_PID, BASE.
start_nginx() {
    local prefix=$1 port=$2 sock=$3 mount=${4:-} i
    mkdir -p "$prefix"
    sh "$ROOT/scripts/nginx-conf.sh" "$prefix" "$port" "$sock" "$mount" >/dev/null || return 1
    nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>>"$prefix/error.log" &
    NGINX_PID=$!
    CF_PIDS="$CF_PIDS $NGINX_PID"
    BASE=http://127.0.0.1:$port${mount%/}
    for i in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && return 0
        if ! kill -0 "$NGINX_PID" 2>/dev/null; then
            echo "nginx exited; its log:" >&2
            tail -n 20 "$prefix/error.log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "nginx did not answer on port $port" >&2
    return 1
}

stop_nginx() {
    stop_pid "$NGINX_PID"
    forget_pid "$NGINX_PID"
}

# wait_ready URL_BASE [SECONDS]: polls /health-check until its status is READY.
wait_ready() {
    local base=$1 limit=${2:-120} i s
    for i in $(seq $((limit * 5))); do
        s=$(curl -s --max-time 2 "$base/health-check" | json_get /status 2>/dev/null)
        [ "$s" = READY ] && return 0
        case $s in SETUP_FAILED|DEFUNCT) echo "health-check says $s" >&2; return 1 ;; esac
        sleep 0.2
    done
    echo "not READY after $limit s (last status: ${s:-none})" >&2
    return 1
}

# json_get POINTER: reads JSON on stdin, prints the value at a JSON pointer (strings bare,
# everything else as JSON). Fails if the input is not JSON or the pointer is absent.
json_get() {
    "$PY" -c '
import json, sys
v = json.load(sys.stdin)
for tok in [t for t in sys.argv[1].split("/")[1:]]:
    v = v[int(tok)] if isinstance(v, list) else v[tok]
print(v if isinstance(v, str) else json.dumps(v))
' "$1"
}

# http METHOD URL [BODY]: sets HTTP_CODE, HTTP_TIME (seconds) and HTTP_BODY.
http() {
    local out
    out=$T/http.$$.$RANDOM
    if [ $# -ge 3 ]; then
        HTTP_CODE=$(curl -s -o "$out" -w '%{http_code} %{time_total}' --max-time 120 -X "$1" \
            -H 'Content-Type: application/json' --data-binary "$3" "$2")
    else
        HTTP_CODE=$(curl -s -o "$out" -w '%{http_code} %{time_total}' --max-time 120 -X "$1" "$2")
    fi
    HTTP_TIME=${HTTP_CODE#* }
    HTTP_CODE=${HTTP_CODE%% *}
    HTTP_BODY=$(cat "$out" 2>/dev/null)
    rm -f "$out"
}

# expect_code NAME CODE: checks the last http call's status.
expect_code() {
    if [ "$HTTP_CODE" = "$2" ]; then
        pass "$1"
    else
        fail "$1" "expected HTTP $2, got $HTTP_CODE: $(printf '%s' "$HTTP_BODY" | head -c 300)"
    fi
}

# expect_json NAME POINTER VALUE: checks a value in the last http body.
expect_json() {
    local got
    got=$(printf '%s' "$HTTP_BODY" | json_get "$2" 2>/dev/null)
    if [ "$got" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "$2 expected $3, got ${got:-<none>} in $(printf '%s' "$HTTP_BODY" | head -c 300)"
    fi
}

# ---- Helpers for the deployment tests (tests/integration/deploy-*.sh) ----

# start_bg LOG COMMAND...: starts a command in the background with its output in LOG; it is
# stopped by the exit trap like the servers above. Sets BG_PID.
start_bg() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    BG_PID=$!
    CF_PIDS="$CF_PIDS $BG_PID"
}

# wait_port PORT [SECONDS]: waits until something accepts TCP connections on 127.0.0.1:PORT.
wait_port() {
    local port=$1 limit=${2:-60} i
    for i in $(seq $((limit * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$port after $limit s" >&2
    return 1
}

# wait_socket PATH [SECONDS]: waits until a unix socket file exists.
wait_socket() {
    local path=$1 limit=${2:-60} i
    for i in $(seq $((limit * 10))); do
        [ -S "$path" ] && return 0
        sleep 0.1
    done
    echo "no socket $path after $limit s" >&2
    return 1
}

# http_opts METHOD URL [BODY]: like http, with the extra curl options of the array HTTP_OPTS
# (e.g. HTTP_OPTS=(--cacert ca.pem -u alice:secret)). Sets HTTP_CODE, HTTP_TIME, HTTP_BODY.
HTTP_OPTS=()
http_opts() {
    local out
    out=$T/http.$$.$RANDOM
    if [ $# -ge 3 ]; then
        HTTP_CODE=$(curl -s -o "$out" -w '%{http_code} %{time_total}' --max-time 120 \
            "${HTTP_OPTS[@]}" -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$2")
    else
        HTTP_CODE=$(curl -s -o "$out" -w '%{http_code} %{time_total}' --max-time 120 \
            "${HTTP_OPTS[@]}" -X "$1" "$2")
    fi
    HTTP_TIME=${HTTP_CODE#* }
    HTTP_CODE=${HTTP_CODE%% *}
    HTTP_BODY=$(cat "$out" 2>/dev/null)
    rm -f "$out"
}

# wait_ready_opts URL_BASE [SECONDS]: wait_ready with the curl options of HTTP_OPTS.
wait_ready_opts() {
    local base=$1 limit=${2:-120} i s=""
    for i in $(seq $((limit * 5))); do
        http_opts GET "$base/health-check"
        s=$(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null)
        [ "$s" = READY ] && return 0
        case $s in SETUP_FAILED|DEFUNCT) echo "health-check says $s" >&2; return 1 ;; esac
        sleep 0.2
    done
    echo "$base not READY after $limit s (last: HTTP $HTTP_CODE ${s:-})" >&2
    return 1
}

# check_hello LABEL BASE: what a user checks on a deployment of examples/hello-world: one
# prediction (200, succeeded, "hello world") and one 422 (the required input missing, with
# Cog's detail entry). Uses HTTP_OPTS.
check_hello() {
    local label=$1 base=$2
    http_opts POST "$base/predictions" '{"input": {"text": "world"}}'
    expect_code "$label: prediction 200" 200
    expect_json "$label: prediction succeeded" /status succeeded
    expect_json "$label: prediction output" /output "hello world"
    http_opts POST "$base/predictions" '{"input": {}}'
    expect_code "$label: missing input 422" 422
    expect_json "$label: 422 names the input" /detail/0/loc '["body", "input", "text"]'
}

# nginx_render PREFIX FILE [PORT]: writes PREFIX/nginx.conf for a private nginx (loopback
# only, pid, logs and temp paths in PREFIX, foreground) that includes FILE: inside a
# `server { listen 127.0.0.1:PORT; }` when PORT is given (a snippet such as
# nginx/cog-fcgi-tcp.conf), else at the http level (a file of whole server/upstream blocks,
# whose listen lines the caller already pointed at 127.0.0.1). Access log: PREFIX/access.log,
# one line per request: status "upstream addresses" "upstream statuses" uri end-time duration.
nginx_render() {
    local prefix=$1 file=$2 port=${3:-} user_line="" body
    mkdir -p "$prefix/tmp/body" "$prefix/tmp/fastcgi" "$prefix/tmp/proxy" \
             "$prefix/tmp/scgi" "$prefix/tmp/uwsgi"
    cp /etc/nginx/fastcgi_params "$prefix/fastcgi_params"
    # As root, workers as in scripts/nginx-conf.sh (nobody nogroup): production-like.
    [ "$(id -u)" -eq 0 ] && user_line="user ${CF_NGINX_USER:-nobody nogroup};"
    if [ -n "$port" ]; then
        body="server {
        listen 127.0.0.1:$port;
        server_name localhost;
        include $file;
    }"
    else
        body="include $file;"
    fi
    cat >"$prefix/nginx.conf" <<CONF
# Generated by tests/integration/lib.sh nginx_render: loopback only, everything in $prefix.
$user_line
daemon off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events {
    worker_connections 1024;
}
http {
    default_type application/octet-stream;
    log_format cf '\$status "\$upstream_addr" "\$upstream_status" \$request_uri \$msec \$request_time';
    access_log $prefix/access.log cf;
    client_body_temp_path $prefix/tmp/body;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    proxy_temp_path $prefix/tmp/proxy;
    scgi_temp_path $prefix/tmp/scgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    $body
}
CONF
}

# nginx_run PREFIX PORT: starts nginx on PREFIX/nginx.conf, waits for PORT. Sets NGINX_PID.
nginx_run() {
    local prefix=$1 port=$2
    nginx -t -q -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" 2>&1 |
        grep -v 'the "user" directive' >&2
    start_bg "$prefix/stderr.log" nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log"
    NGINX_PID=$BG_PID
    if ! wait_port "$port" 20; then
        tail -n 20 "$prefix/error.log" "$prefix/stderr.log" >&2
        return 1
    fi
}

# apache_render PREFIX PORT MPM FILE MODULE...: writes PREFIX/httpd.conf for a private Apache
# (`apache2 -d PREFIX -f PREFIX/httpd.conf -DFOREGROUND`): Listen 127.0.0.1:PORT only, pid
# file, logs, runtime and lock files in PREFIX, the MPM (event or prefork) and the modules
# named (mod_NAME.so from /usr/lib/apache2/modules), then FILE included in the server config.
# As root, Apache's children run as www-data (Apache refuses to serve as root): the caller
# makes what they must reach readable by that user.
APACHE_MODULES=/usr/lib/apache2/modules
APACHE2=${APACHE2:-$(command -v apache2 || echo /usr/sbin/apache2)}
apache_render() {
    local prefix=$1 port=$2 mpm=$3 file=$4 m user_lines="" loads=""
    shift 4
    mkdir -p "$prefix/run" "$prefix/logs"
    loads="LoadModule mpm_${mpm}_module $APACHE_MODULES/mod_mpm_$mpm.so"
    for m in "$@"; do
        loads="$loads
LoadModule ${m}_module $APACHE_MODULES/mod_$m.so"
    done
    if [ "$(id -u)" -eq 0 ]; then
        user_lines="User www-data
Group www-data"
        chown www-data "$prefix/run"
    fi
    cat >"$prefix/httpd.conf" <<CONF
# Generated by tests/integration/lib.sh apache_render: loopback only, everything in $prefix.
ServerRoot $prefix
ServerName localhost
Listen 127.0.0.1:$port
PidFile $prefix/run/httpd.pid
DefaultRuntimeDir $prefix/run
Mutex file:$prefix/run default
ErrorLog $prefix/logs/error.log
LogLevel warn
$loads
$user_lines
TypesConfig /etc/mime.types
LogFormat "%>s %U %{remote_user}e" cf
CustomLog $prefix/logs/access.log cf
StartServers 1
<Directory />
    AllowOverride None
    Require all denied
</Directory>
Include $file
CONF
}

# apache_run PREFIX PORT: starts Apache on PREFIX/httpd.conf in the foreground of a
# background job and waits for PORT. Sets APACHE_PID.
apache_run() {
    local prefix=$1 port=$2
    if ! "$APACHE2" -t -d "$prefix" -f "$prefix/httpd.conf" >"$prefix/configtest.log" 2>&1; then
        cat "$prefix/configtest.log" >&2
        return 1
    fi
    start_bg "$prefix/stderr.log" "$APACHE2" -d "$prefix" -f "$prefix/httpd.conf" -DFOREGROUND
    APACHE_PID=$BG_PID
    if ! wait_port "$port" 20; then
        tail -n 20 "$prefix/logs/error.log" "$prefix/stderr.log" >&2
        return 1
    fi
}

# kill_strays DIR: stops, by pid, every process still running whose command line mentions
# DIR (a private temp dir): servers that a spawner (Apache mod_fcgid) started and that are
# not our children.
kill_strays() {
    local dir=$1 p cmd
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] && continue
        cmd=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
        case $cmd in *"$dir"*) kill -KILL "$p" 2>/dev/null ;; esac
    done
    return 0
}
