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
# prediction and one 422 through nginx.
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
check "ExecStart has no --listen (the socket comes from systemd)" \
    eval '! grep -q -- --listen <<<"$exec_line"'

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

finish
