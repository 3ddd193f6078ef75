#!/usr/bin/env bash
# deploy-apache-proxy.sh - Apache mod_proxy_fcgi in front of cog-fcgi (apache/cog-fcgi-proxy.conf),
# over a unix socket and over TCP.
#
# A private Apache (mpm_event, loopback port, everything in the temp dir; as root its children
# run as www-data, so the socket gets mode 0660 and group www-data as the config file says)
# includes the shipped file with the backend replaced. Checks one prediction and one 422 for
# each backend, and that a model mounted under /models/hello/ answers there.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
if [ ! -x "$APACHE2" ] || [ ! -f "$APACHE_MODULES/mod_proxy_fcgi.so" ]; then
    fail "apache2 with mod_proxy_fcgi installed" "scripts/install-deps.sh"
    finish
fi

project=$T/hello
cp -r "$ROOT/examples/hello-world" "$project"
sock_flags=()
[ "$(id -u)" -eq 0 ] && sock_flags=(--socket-mode 0660 --socket-group www-data)

for backend in unix tcp; do
    pre=$T/apache-$backend
    mkdir -p "$pre"
    port=$(free_port)
    if [ $backend = unix ]; then
        start_bg "$T/front-$backend.log" "$COG_FCGI" serve "$project" \
            --listen "unix:$T/cog.sock" "${sock_flags[@]}"
        check "$backend: cog-fcgi listens" wait_socket "$T/cog.sock" 20
        sed "s|unix:/run/cog-fcgi/cog.sock|unix:$T/cog.sock|" \
            "$ROOT/apache/cog-fcgi-proxy.conf" >"$pre/cog-fcgi-proxy.conf"
    else
        fport=$(free_port)
        start_bg "$T/front-$backend.log" "$COG_FCGI" serve "$project" --listen "127.0.0.1:$fport"
        check "$backend: cog-fcgi listens" wait_port "$fport" 20
        # The commented TCP line becomes the backend.
        sed -e '/^Define COG_FCGI_BACKEND "unix:/d' \
            -e "s|^#Define COG_FCGI_BACKEND \"fcgi://127.0.0.1:9000\"|Define COG_FCGI_BACKEND \"fcgi://127.0.0.1:$fport\"|" \
            "$ROOT/apache/cog-fcgi-proxy.conf" >"$pre/cog-fcgi-proxy.conf"
    fi
    front=$BG_PID
    apache_render "$pre" "$port" event "$pre/cog-fcgi-proxy.conf" \
        authz_core mime proxy proxy_fcgi
    if apache_run "$pre" "$port"; then
        pass "$backend: apache2 starts with apache/cog-fcgi-proxy.conf"
        base=http://127.0.0.1:$port
        check "$backend: READY through Apache" wait_ready "$base" 30
        check_hello "apache proxy_fcgi $backend" "$base"
        http GET "$base/models/hello/health-check"
        expect_code "$backend: prefix /models/hello/ finds the model's routes" 200
        stop_pid "$APACHE_PID"
        forget_pid "$APACHE_PID"
    else
        fail "$backend: apache2 starts with apache/cog-fcgi-proxy.conf"
    fi
    stop_pid "$front"
    forget_pid "$front"
done
finish
