#!/usr/bin/env bash
# first-hour.sh - the README's "Serve your own model in five minutes", run as the README says.
#
# The blocks marked <!-- first-hour: run|serve|nginx --> in README.md are extracted and run in
# order, command by command (bash -e -x), on a fresh project in a private HOME: build, write
# the project, check, make the venv, predict, serve, nginx exactly as shown (wrapped in a
# private nginx.conf: pid, logs, temp paths), curl with a data URI. Only the port, /run and
# HOME are swapped for private ones; as root nginx's workers run as www-data, as on Debian,
# so the socket permissions the README gives are the ones tested. Nothing else is changed,
# so the README cannot drift from what works.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

port=$(free_port)
root_run=0
[ "$(id -u)" -eq 0 ] && root_run=1
mkdir -p "$T/home" "$T/ngx"

# Extract the blocks: one file per block, kinds in order in $T/blocks/kinds.
"$PY" - "$ROOT/README.md" "$T/blocks" <<'PYEOF'
import os, re, sys
text = open(sys.argv[1]).read()
out = sys.argv[2]
os.makedirs(out, exist_ok=True)
kinds = []
for m in re.finditer(r"<!-- first-hour: (\w+) -->\n```[a-z]*\n(.*?)\n```", text, re.S):
    kinds.append(m.group(1))
    with open(os.path.join(out, "%02d" % len(kinds)), "w") as f:
        f.write(m.group(2) + "\n")
with open(os.path.join(out, "kinds"), "w") as f:
    f.write("\n".join(kinds) + "\n")
PYEOF
kinds=$(cat "$T/blocks/kinds")
check "the README has the walkthrough's blocks (run, serve, nginx)" test "$(echo "$kinds" | grep -c run)" -ge 5 -a "$(echo "$kinds" | grep -c serve)" = 1 -a "$(echo "$kinds" | grep -c nginx)" = 1

# subst FILE: only the port, /run and the host name of the URLs are swapped.
subst() {
    sed -e "s|/run/cog-fcgi\([/ ]\)|$T/run/cog-fcgi\1|g" -e "s|/run/cog-fcgi\$|$T/run/cog-fcgi|" \
        -e "s|localhost:8080|127.0.0.1:$port|g" \
        -e "s|listen 8080;|listen 127.0.0.1:$port;|" "$1"
}

# Nothing the walkthrough does may touch the host's /run: every path there is swapped.
for b in "$T"/blocks/[0-9]*; do
    if subst "$b" | grep -qE '(^|[[:space:]":=])/run(/|$| )'; then
        fail "every /run path of the README is swapped for a private one" "$(subst "$b" | grep '/run/')"
        finish
    fi
done
script=$T/walkthrough.sh
{
    echo 'set -euo pipefail'
    echo "export HOME=$T/home"
    echo "cd $ROOT"
    echo 'set -x'
} >"$script"
n=0
for kind in $kinds; do
    n=$((n + 1))
    block=$T/blocks/$(printf '%02d' "$n")
    case $kind in
    run)
        subst "$block" >>"$script"
        ;;
    serve)
        # The last command in the background (the README says: a second terminal), the
        # others (making the socket's directory) first. sudo is who we are: root, or a user
        # who cannot give a directory to www-data, whose own group stands in for it then.
        subst "$block" | sed -e '$d' -e 's|^sudo ||' >"$T/serve.pre"
        [ "$root_run" = 1 ] || sed -i -e 's| -g www-data||' "$T/serve.pre"
        cat "$T/serve.pre" >>"$script"
        line=$(subst "$block" | sed -n '$p')
        printf '%s >%s 2>&1 &\necho $! >%s\n' "$line" "$T/serve.log" "$T/serve.pid" >>"$script"
        printf 'for i in $(seq 300); do [ -S %s/run/cog-fcgi/mymodel.sock ] && break; sleep 0.1; done\n' "$T" >>"$script"
        ;;
    nginx)
        user_line=""
        [ "$root_run" = 1 ] && user_line="user www-data;"
        {
            echo "# the README's server block, wrapped by first-hour.sh: pid, logs, temp paths here"
            echo "$user_line"
            echo "daemon off; worker_processes 1; pid $T/ngx/nginx.pid; error_log $T/ngx/error.log warn;"
            echo "events { worker_connections 64; }"
            echo "http {"
            echo "access_log off; client_body_temp_path $T/ngx/body; fastcgi_temp_path $T/ngx/fastcgi;"
            echo "proxy_temp_path $T/ngx/proxy; scgi_temp_path $T/ngx/scgi; uwsgi_temp_path $T/ngx/uwsgi;"
            subst "$block"
            echo "}"
        } >"$T/ngx/nginx.conf"
        printf 'nginx -p %s/ngx/ -c %s/ngx/nginx.conf -e %s/ngx/error.log >%s/ngx/stderr.log 2>&1 &\necho $! >%s/nginx.pid\n' \
            "$T" "$T" "$T" "$T" "$T" >>"$script"
        printf 'for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/%s) 2>/dev/null && break; sleep 0.1; done\n' "$port" >>"$script"
        ;;
    esac
    echo "echo FIRST-HOUR-STEP $n $kind done" >>"$script"
done

timeout 300 bash "$script" >"$T/walkthrough.out" 2>"$T/walkthrough.err"
rc=$?
for f in serve nginx; do
    [ -s "$T/$f.pid" ] && CF_PIDS="$CF_PIDS $(cat "$T/$f.pid")"
done
n=0
for kind in $kinds; do
    n=$((n + 1))
    first=$(grep -v '^\s*$' "$T/blocks/$(printf '%02d' "$n")" | head -n 1)
    if grep -q "^FIRST-HOUR-STEP $n $kind done$" "$T/walkthrough.out"; then
        pass "README step $n ($kind): $first"
    else
        fail "README step $n ($kind): $first" "exit $rc; last commands: $(grep '^+' "$T/walkthrough.err" | tail -n 3 | tr '\n' ' ') stderr: $(grep -v '^+' "$T/walkthrough.err" | tail -n 8)"
        break
    fi
done

proj=$T/home/mymodel
check "check said ready to serve" grep -q 'ready to serve' "$T/walkthrough.out"
check "check saw the venv made by Debian's Python" grep -qE "^ok +venv: $proj/.venv was made by /usr/bin's Python" "$T/walkthrough.out"
size=$("$PY" -c 'import sys; from PIL import Image; print("%dx%d" % Image.open(sys.argv[1]).size)' "$proj/output.png" 2>&1)
check "predict wrote output.png, half the size ($size)" test "$size" = 32x24
check "the curl through nginx printed 'succeeded data:image/png;base64'" grep -qx 'succeeded data:image/png;base64' "$T/walkthrough.out"
check "the server's log has setup()'s print" grep -q 'CF0330: \[setup\] setup: nothing to load' "$T/serve.log"
check "the server's log has the prediction's print with its id" grep -qE 'CF0330: \[pred_[a-z0-9]+\] resizing \(64, 48\) by 0.5' "$T/serve.log"
check "start-up says FastCGI with the socket's mode" grep -qE "CF0004: serving $proj over FastCGI on unix:$T/run/cog-fcgi/mymodel.sock \(owner [^,]+, group [^,]+, mode 0660\)" "$T/serve.log"
if [ "$root_run" = 1 ]; then
    check "the socket is group www-data, from the setgid directory" grep -qE "CF0004: .* \(owner [^,]+, group www-data, mode 0660\)" "$T/serve.log"
fi
if [ "$root_run" = 1 ]; then
    if grep -q CF0016 "$T/serve.log"; then fail "www-data can open the socket: no warning" "$(grep CF0016 "$T/serve.log")"; else pass "www-data can open the socket: no warning"; fi
fi
if [ "$FAILED" -gt 0 ]; then
    echo "--- walkthrough stderr (tail)"; tail -n 25 "$T/walkthrough.err"
    echo "--- serve.log (tail)"; tail -n 15 "$T/serve.log" 2>/dev/null
    echo "--- nginx error.log (tail)"; tail -n 5 "$T/ngx/error.log" 2>/dev/null
fi
finish
