#!/usr/bin/env bash
# deploy-nginx-tcp.sh - nginx in front of cog-fcgi listening on TCP (nginx/cog-fcgi-tcp.conf).
#
# cog-fcgi serve examples/hello-world --listen 127.0.0.1:PORT; nginx includes the shipped
# snippet with its port replaced. Checks one prediction and one 422 through nginx.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

project=$T/hello
cp -r "$ROOT/examples/hello-world" "$project"
fport=$(free_port)
nport=$(free_port)

start_bg "$T/front.log" "$COG_FCGI" serve "$project" --listen "127.0.0.1:$fport"
check "cog-fcgi listens on 127.0.0.1:$fport" wait_port "$fport"

mkdir -p "$T/nginx"
sed "s|127\.0\.0\.1:9000|127.0.0.1:$fport|g" "$ROOT/nginx/cog-fcgi-tcp.conf" >"$T/nginx/cog-fcgi-tcp.conf"
nginx_render "$T/nginx" "$T/nginx/cog-fcgi-tcp.conf" "$nport"
if nginx_run "$T/nginx" "$nport"; then
    pass "nginx starts with nginx/cog-fcgi-tcp.conf"
    base=http://127.0.0.1:$nport
    check "model READY" wait_ready "$base"
    check_hello "nginx tcp" "$base"
else
    fail "nginx starts with nginx/cog-fcgi-tcp.conf"
fi
finish
