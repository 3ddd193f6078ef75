#!/usr/bin/env bash
# deploy-systemd-socket.sh - systemd socket activation (systemd/cog-fcgi@.socket and
# cog-fcgi@.service), behind nginx on TCP (nginx/cog-fcgi-tcp.conf).
#
# No systemd as PID 1 here: systemd-socket-activate does what the .socket unit does. It holds
# 127.0.0.1:PORT, and at the first connection execs the unit's ExecStart (read from
# systemd/cog-fcgi@.service, binary and project path replaced) with LISTEN_FDS=1 and the
# socket on fd 3. Checks: nothing runs before the first request; the unit files pass
# `systemd-analyze verify` (paths replaced, instance "hello") and the hardened service scores
# OK in `systemd-analyze security --offline`; the activated process is cog-fcgi itself; one
# prediction and one 422 through nginx. Then, with a stand-in for systemd's socket keeping and
# Restart=, predictions sent while cog-fcgi is dead are answered after its restart.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
if ! command -v systemd-socket-activate >/dev/null; then
    fail "systemd-socket-activate installed" "it is in Debian's package systemd"
    finish
fi

project=$T/hello
cp -r "$ROOT/examples/hello-world" "$project"

# The unit files themselves.
units=$T/units
mkdir -p "$units"
for f in cog-fcgi.service cog-fcgi@.service cog-fcgi@.socket; do
    sed "s|/usr/local/bin/cog-fcgi|$COG_FCGI|g" "$ROOT/systemd/$f" >"$units/$f"
done
cp "$units/cog-fcgi@.service" "$units/cog-fcgi@hello.service"
cp "$units/cog-fcgi@.socket" "$units/cog-fcgi@hello.socket"
if command -v systemd-analyze >/dev/null; then
    out=$(cd "$units" && systemd-analyze verify cog-fcgi.service cog-fcgi@hello.socket \
          cog-fcgi@hello.service 2>&1)
    check "systemd-analyze verify: the units are clean${out:+ ($out)}" [ -z "$out" ]
    for u in cog-fcgi.service cog-fcgi@hello.service; do
        level=$(systemd-analyze security --offline=true "$units/$u" 2>/dev/null |
                sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
        check "systemd-analyze security $u: ${level:-?} (OK or better)" \
            grep -qE ' (OK|SAFE)$' <<<"$level"
    done
fi

# ExecStart of the socket-activated template, for instance "hello".
exec_line=$(sed -n 's/^ExecStart=//p' "$units/cog-fcgi@.service" | head -n 1)
exec_line=${exec_line//\/srv\/models\/%i/$project}
read -r -a cmd <<<"$exec_line"
no_listen() {
    ! grep -q -- --listen <<<"$exec_line"
}
check "ExecStart has no --listen (the socket comes from systemd)" no_listen

fport=$(free_port)
nport=$(free_port)
start_bg "$T/front.log" systemd-socket-activate -l "127.0.0.1:$fport" "${cmd[@]}"
act_pid=$BG_PID
check "systemd-socket-activate listens on 127.0.0.1:$fport" wait_port "$fport" 10
# wait_port connected once: that starts the service, as with systemd. A fresh
# systemd-socket-activate has not exec'd anything before.
pre=$T/nginx
mkdir -p "$pre"
sed "s|127\.0\.0\.1:9000|127.0.0.1:$fport|g" "$ROOT/nginx/cog-fcgi-tcp.conf" >"$pre/cog-fcgi-tcp.conf"
nginx_render "$pre" "$pre/cog-fcgi-tcp.conf" "$nport"
if ! nginx_run "$pre" "$nport"; then
    fail "nginx starts"
    finish
fi
base=http://127.0.0.1:$nport
check "socket-activated model READY" wait_ready "$base" 30
is_ours() {
    [ "$(readlink "/proc/$act_pid/exe")" = "$(readlink -f "$COG_FCGI")" ]
}
check "the activated process is cog-fcgi itself (pid $act_pid, socket on fd 3)" is_ours
check_hello "systemd socket" "$base"
stop_nginx
stop_pid "$act_pid"
forget_pid "$act_pid"

# What the .socket unit adds over a plain listener: systemd keeps the socket while the service
# is down and starts it again (Restart=on-failure), so requests sent meanwhile wait instead of
# being refused. systemd-socket-activate does not restart; this small stand-in does what
# systemd does: hold the socket, start ExecStart with LISTEN_FDS=1/LISTEN_PID on fd 3, restart
# it 0.5 s (RestartSec) after it dies.
cat >"$T/hold.py" <<'PY'
import os, signal, socket, sys, time
host, port, pidfile, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1024)
child = 0
def stop(*_):
    if child:
        os.kill(child, signal.SIGTERM)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    child = os.fork()
    if child == 0:
        if s.fileno() != 3:
            os.dup2(s.fileno(), 3)
        os.set_inheritable(3, True)
        os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
        os.execv(cmd[0], cmd)
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(child))
    os.rename(pidfile + ".tmp", pidfile)
    os.waitpid(child, 0)
    time.sleep(0.5)
PY
fport=$(free_port)
nport=$(free_port)
start_bg "$T/hold.log" "$PY" "$T/hold.py" 127.0.0.1 "$fport" "$T/front.pid" "${cmd[@]}"
check "socket holder listens on 127.0.0.1:$fport" wait_port "$fport" 10
pre=$T/nginx2
mkdir -p "$pre"
sed "s|127\.0\.0\.1:9000|127.0.0.1:$fport|g" "$ROOT/nginx/cog-fcgi-tcp.conf" >"$pre/cog-fcgi-tcp.conf"
nginx_render "$pre" "$pre/cog-fcgi-tcp.conf" "$nport"
if nginx_run "$pre" "$nport"; then
    base=http://127.0.0.1:$nport
    check "held socket: READY" wait_ready "$base" 15
    old=$(cat "$T/front.pid")
    # shellcheck disable=SC2046
    kill -KILL "$old" $(cat /proc/"$old"/task/*/children 2>/dev/null) 2>/dev/null
    for n in 1 2 3; do
        curl -s -o "$T/during.$n" -w '%{http_code}\n' --max-time 30 -X POST \
            -H 'Content-Type: application/json' --data-binary '{"input": {"text": "later"}}' \
            "$base/predictions" >"$T/during.$n.code" &
    done
    wait_jobs() {
        local n
        for n in 1 2 3; do
            for _ in $(seq 300); do
                [ -s "$T/during.$n.code" ] && break
                sleep 0.1
            done
        done
    }
    wait_jobs
    codes=$(cat "$T/during.1.code" "$T/during.2.code" "$T/during.3.code" | tr '\n' ' ')
    check "3 predictions sent while cog-fcgi was dead wait for its restart: 200 200 200 ($codes)" \
        [ "$codes" = "200 200 200 " ]
    new=$(cat "$T/front.pid")
    check "cog-fcgi was restarted (pid $old -> $new) on the same socket" [ "$new" != "$old" ]
else
    fail "nginx starts (held socket)"
fi
finish
