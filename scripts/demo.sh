#!/usr/bin/env bash
# demo.sh - `make demo`: serves a project (default examples/hello-world) behind nginx on
# 127.0.0.1:8080 until Ctrl-C, and prints curl lines that work when pasted as they are.
#
# Environment: PORT (default 8080), PROJECT (default examples/hello-world), COG_FCGI.
#
# Everything the demo writes is under build/demo/ (nginx's config, logs and temp files, the
# state directory, the example inputs), so a demo run as root leaves nothing in /var/lib or
# elsewhere. Only when build/ is not reachable by nginx's unprivileged workers (a checkout in
# /root) do the socket and nginx's files go to a private directory in /tmp, removed at exit.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
port=${PORT:-8080}
project=${PROJECT:-$ROOT/examples/hello-world}
case $project in /*) ;; *) project=$ROOT/$project ;; esac
front=${COG_FCGI:-$ROOT/build/cog-fcgi}
demo=$ROOT/build/demo
PY=/usr/bin/python3
pids=""
tmpdir=""

stop() {
    local pid
    trap - EXIT INT TERM
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $pids; do
        wait "$pid" 2>/dev/null
    done
    [ -n "$tmpdir" ] && rm -rf "$tmpdir"
    rm -f "$sock"
    echo "demo stopped"
}

if [ ! -x "$front" ]; then
    echo "no $front: run make first" >&2
    exit 1
fi
if [ ! -f "$project/cog.yaml" ]; then
    echo "no cog.yaml in $project: PROJECT=examples/digits make demo" >&2
    exit 1
fi
if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    echo "port $port is taken: PORT=8081 make demo" >&2
    exit 1
fi

rm -rf "$demo"
mkdir -p "$demo"
# nginx's workers run unprivileged (nobody) when the demo runs as root: they must be able to
# walk to the socket and to nginx's temp files. Every directory above build/demo must let
# others through (o+x), and a unix socket path must fit in 108 bytes.
here=$demo
reachable=1
while [ "$here" != / ]; do
    [ "$(( 0$(stat -c %a "$here") & 1 ))" -eq 1 ] || reachable=0
    here=$(dirname "$here")
done
run=$demo
if [ "$reachable" = 0 ] || [ ${#demo} -gt 90 ]; then
    tmpdir=$(mktemp -d /tmp/cf-demo.XXXXXX)
    chmod 755 "$tmpdir"
    run=$tmpdir
fi
chmod 755 "$demo"
sock=$run/cog.sock
trap stop EXIT
trap 'exit 0' INT TERM

# The web server's user that cog-fcgi's start-up check looks at: the demo's nginx runs its
# workers as nobody when started as root (scripts/nginx-conf.sh), else as us.
if [ "$(id -u)" -eq 0 ]; then
    export COG_FCGI_WEB_USER=nobody
else
    export COG_FCGI_WEB_USER=
fi
# shellcheck disable=SC2046
"$front" serve "$project" --listen "unix:$sock" $(sh scripts/nginx-conf.sh --socket-flags) \
    --state-dir "$demo/state" 2> >(sed -u 's/^/  [cog-fcgi] /' >&2) &
pids="$pids $!"
for _ in $(seq 300); do
    [ -S "$sock" ] && break
    sleep 0.1
done
[ -S "$sock" ] || { echo "cog-fcgi did not start" >&2; exit 1; }

sh scripts/nginx-conf.sh "$run/nginx" "$port" "$sock" >/dev/null || exit 1
nginx -p "$run/nginx/" -c "$run/nginx/nginx.conf" -e "$run/nginx/error.log" &
pids="$pids $!"
base=http://127.0.0.1:$port
for _ in $(seq 600); do
    s=$(curl -s --max-time 2 "$base/health-check" 2>/dev/null)
    case $s in *'"READY"'*|*SETUP_FAILED*|*DEFUNCT*) break ;; esac
    sleep 0.2
done
case $s in *'"READY"'*) ;; *) echo "the model did not become ready: $s" >&2; exit 1 ;; esac

# An example input for every input without a default, from the schema: a string, a number,
# a file (a small PNG made here, sent as a data URI).
curl -s "$base/openapi.json" >"$demo/openapi.json"
"$PY" - "$demo/openapi.json" "$demo" >"$demo/example.sh" <<'PYEOF'
import json, os, struct, sys, zlib

doc = json.load(open(sys.argv[1]))
out_dir = sys.argv[2]
comp = doc["components"]["schemas"]
inp = comp.get("Input", {})
required = set(inp.get("required", []))


def png(path):
    # 64x64 gray, a dark stroke on white: enough for an image model (digits reads it).
    w = h = 64
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            ink = (14 <= y <= 20 and 16 <= x <= 48) or (abs((48 - x) - (y - 20) * 0.6) < 4 and 20 < y < 56)
            row.append(30 if ink else 255)
        rows.append(bytes(row))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
    open(path, "wb").write(data)


def example(name, prop):
    for key in ("allOf", "anyOf"):
        for ref in prop.get(key, []):
            if "$ref" in ref:
                target = comp.get(ref["$ref"].split("/")[-1], {})
                if target.get("enum"):
                    return target["enum"][0], None
    t = prop.get("type")
    if prop.get("format") == "uri" or (t == "array" and prop.get("items", {}).get("format") == "uri"):
        path = os.path.join(out_dir, "example.png")
        png(path)
        return None, path
    if t == "integer":
        return prop.get("minimum", 1), None
    if t == "number":
        return prop.get("minimum", 0.5), None
    if t == "boolean":
        return True, None
    if t == "array":
        return ["world"], None
    return "world", None


parts, files, values = [], [], []
for name, prop in inp.get("properties", {}).items():
    if name not in required and "default" in prop:
        continue
    value, path = example(name, prop)
    if path:
        parts.append('\\"%s\\": \\"data:image/png;base64,$(base64 -w0 %s)\\"' % (name, path))
        files.append(path)
    else:
        values.append((name, value))
        parts.append(json.dumps(name).replace('"', '\\"') + ": " + json.dumps(value).replace('"', '\\"'))
if files:
    print('-d "{\\"input\\": {%s}}"' % ", ".join(parts))
else:
    # no shell expansion needed: plain JSON in single quotes
    print("-d '%s'" % json.dumps({"input": {k: v for k, v in values}}))
PYEOF
data=$(cat "$demo/example.sh")
predict_line="curl -s -X POST $base/predictions -H 'Content-Type: application/json' $data"
# The line printed below is the line checked here, as a shell would run it when pasted.
code=$(bash -c "$predict_line -o $demo/example-answer.json -w '%{http_code}'")
status=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("status"))' "$demo/example-answer.json" 2>/dev/null)

cat <<MSG

cog-fcgi is serving $(basename "$project") on $base (nginx config: $run/nginx/nginx.conf)
Try (checked just now: HTTP $code, ${status:-no status}):

  curl -s $base/health-check
  $predict_line
  curl -s $base/openapi.json

The model's output and cog-fcgi's log appear here, marked [cog-fcgi]. Ctrl-C stops both servers.

MSG
# Until Ctrl-C, or until either server stops. (On Ctrl-C both servers get the SIGINT too and
# stop cleanly, so wait returns 0; the EXIT trap stops whichever is left.)
wait -n
rc=$?
[ $rc -eq 0 ] || echo "a server exited with status $rc" >&2
exit $rc
