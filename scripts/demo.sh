#!/usr/bin/env bash
# demo.sh - `make demo`: serves examples/hello-world behind nginx on 127.0.0.1:8080 until Ctrl-C.
#
# Environment: PORT (default 8080), PROJECT (default examples/hello-world), COG_FCGI.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
port=${PORT:-8080}
project=${PROJECT:-$ROOT/examples/hello-world}
front=${COG_FCGI:-$ROOT/build/cog-fcgi}
dir=$(mktemp -d /tmp/cf-demo.XXXXXX)
chmod 755 "$dir"
sock=$dir/cog.sock
pids=""

stop() {
    local pid
    trap - EXIT INT TERM
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $pids; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$dir"
    echo "demo stopped"
}
trap stop EXIT
trap 'exit 0' INT TERM

if [ ! -x "$front" ]; then
    echo "no $front: run make first" >&2
    exit 1
fi
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    echo "port $port is taken: PORT=8081 make demo" >&2
    exit 1
fi

# shellcheck disable=SC2046
"$front" serve "$project" --listen "unix:$sock" $(sh scripts/nginx-conf.sh --socket-flags) &
pids="$pids $!"
for _ in $(seq 300); do
    [ -S "$sock" ] && break
    kill -0 $pids 2>/dev/null || { echo "cog-fcgi did not start" >&2; exit 1; }
    sleep 0.1
done

sh scripts/nginx-conf.sh "$dir/nginx" "$port" "$sock" >/dev/null || exit 1
nginx -p "$dir/nginx/" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" &
pids="$pids $!"

input='{"input": {"text": "world"}}'
[ "$(basename "$project")" = hello-world ] || input='{"input": {...}}   (the inputs are in /openapi.json)'
cat <<MSG

cog-fcgi is serving $(basename "$project") on http://127.0.0.1:$port (nginx config: $dir/nginx/nginx.conf)
Try:

  curl -s http://127.0.0.1:$port/health-check
  curl -s -X POST http://127.0.0.1:$port/predictions -H 'Content-Type: application/json' -d '$input'
  curl -s http://127.0.0.1:$port/openapi.json

Ctrl-C stops both servers.

MSG
# Until Ctrl-C, or until either server stops. (On Ctrl-C both servers get the SIGINT too and
# stop cleanly, so wait returns 0; the EXIT trap stops whichever is left.)
wait -n
rc=$?
[ $rc -eq 0 ] || echo "a server exited with status $rc" >&2
exit $rc
