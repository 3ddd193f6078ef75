#!/usr/bin/env bash
# deploy-spawn-fcgi.sh - cog-fcgi started by spawn-fcgi (the socket on fd 0), behind nginx.
#
#   spawn-fcgi -s SOCK -M 0660 -n -- cog-fcgi serve PROJECT     (nginx/cog-fcgi.conf)
#   spawn-fcgi -a 127.0.0.1 -p PORT -n -- cog-fcgi serve PROJECT (nginx/cog-fcgi-tcp.conf)
#
# -n keeps spawn-fcgi in the foreground: it opens the socket and execs cog-fcgi in its own
# process, which is what a supervisor (runit, s6, daemontools) wants. Checks one prediction
# and one 422 through nginx for each.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
if ! command -v spawn-fcgi >/dev/null; then
    fail "spawn-fcgi installed" "apt-get install spawn-fcgi (scripts/install-deps.sh)"
    finish
fi

project=$T/hello
cp -r "$ROOT/examples/hello-world" "$project"

# fd0_is_socket PID: the process is cog-fcgi (spawn-fcgi -n execs it) and its fd 0 a socket.
fd0_is_socket() {
    [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$COG_FCGI")" ] &&
        readlink "/proc/$1/fd/0" | grep -q '^socket:'
}

# Unix socket, behind the shipped nginx/cog-fcgi.conf.
sock=$T/cog.sock
port=$(free_port)
# As root, nginx's workers are not root (scripts/nginx-conf.sh): the socket's group is theirs.
group_flags=()
grp=$(sh "$ROOT/scripts/nginx-conf.sh" --socket-flags | sed -n 's/.*--socket-group \([^ ]*\).*/\1/p')
[ -n "$grp" ] && group_flags=(-G "$grp")
start_bg "$T/spawn-unix.log" spawn-fcgi -s "$sock" -M 0660 "${group_flags[@]}" -n -- \
    "$COG_FCGI" serve "$project"
check "spawn-fcgi -s: socket created" wait_socket "$sock" 20
if start_nginx "$T/nginx-unix" "$port" "$sock"; then
    check "spawn-fcgi unix: READY" wait_ready "$BASE" 30
    check_hello "spawn-fcgi unix" "$BASE"
    check "spawn-fcgi exec'd cog-fcgi with the listening socket on fd 0" fd0_is_socket "$BG_PID"
    stop_nginx
else
    fail "nginx starts (unix)"
fi
stop_pid "$BG_PID"
forget_pid "$BG_PID"

# TCP, behind nginx/cog-fcgi-tcp.conf.
fport=$(free_port)
port=$(free_port)
start_bg "$T/spawn-tcp.log" spawn-fcgi -a 127.0.0.1 -p "$fport" -n -- "$COG_FCGI" serve "$project"
check "spawn-fcgi -p: listening on 127.0.0.1:$fport" wait_port "$fport" 20
pre=$T/nginx-tcp
mkdir -p "$pre"
sed "s|127\.0\.0\.1:9000|127.0.0.1:$fport|g" "$ROOT/nginx/cog-fcgi-tcp.conf" >"$pre/cog-fcgi-tcp.conf"
nginx_render "$pre" "$pre/cog-fcgi-tcp.conf" "$port"
if nginx_run "$pre" "$port"; then
    check "spawn-fcgi tcp: READY" wait_ready "http://127.0.0.1:$port" 30
    check_hello "spawn-fcgi tcp" "http://127.0.0.1:$port"
else
    fail "nginx starts (tcp)"
fi
finish
