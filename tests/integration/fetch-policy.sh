#!/usr/bin/env bash
# fetch-policy.sh - URL inputs are fetched under the policy: cloud metadata and denied
# addresses fail the prediction with a clear error and are never connected to (redirects
# too), allowed ones work, --fetch-allow makes an allow list, --fetch-max-bytes and
# --fetch-timeout bound a download, --fetch-min-rate ends one that trickles.
# shellcheck disable=SC2034  # HTTP_BODY is read by lib.sh's expect_json
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

# A file server on 127.0.0.1 (/small 100 bytes, /big 5000 bytes with a Content-Length,
# /big-nolen 5000 without one, /slow 20 bytes over 6 s, /trickle 1 byte/s for 60 s, /to?URL a
# 302 to URL) and a trap on
# 127.0.0.2 that records every connection it gets in $T/trap.log.
cat >"$T/servers.py" <<'PY'
import http.server, socket, sys, threading, time

class Files(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/to":
            self.send_response(302)
            self.send_header("Location", query)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        sizes = {"/small": 100, "/big": 5000, "/big-nolen": 5000, "/slow": 20, "/trickle": 60}
        if path not in sizes:
            self.send_error(404)
            return
        self.send_response(200)
        if path != "/big-nolen":
            self.send_header("Content-Length", str(sizes[path]))
        self.end_headers()
        if path in ("/slow", "/trickle"):
            for _ in range(sizes[path]):
                time.sleep(0.3 if path == "/slow" else 1.0)
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return  # the client gave up
        else:
            self.wfile.write(b"x" * sizes[path])

def trap(sock, log):
    while True:
        conn, peer = sock.accept()
        with open(log, "a") as f:
            f.write(f"connection from {peer}\n")
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\ntrap")
        conn.close()

files = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Files)
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.2", int(sys.argv[2])))
t.listen(16)
threading.Thread(target=trap, args=(t, sys.argv[3]), daemon=True).start()
files.serve_forever()
PY
fport=$(free_port)
tport=$(free_port)
FILES=http://127.0.0.1:$fport
TRAP=http://127.0.0.2:$tport
start_bg "$T/servers.log" "$PY" "$T/servers.py" "$fport" "$tport" "$T/trap.log"
wait_port "$fport" 10 || { fail "file server starts"; finish; }
: >"$T/trap.log"

# The trap does see a connection when nothing stops it: its silence below means something.
curl -s -o /dev/null --max-time 5 "$TRAP/probe"
check "the trap on 127.0.0.2 records connections" grep -q connection "$T/trap.log"
: >"$T/trap.log"
trap_silent() { [ ! -s "$T/trap.log" ]; }

sock=$T/cog.sock
port=$(free_port)
start_nginx "$T/nginx" "$port" "$sock" || { fail "nginx starts"; finish; }

# predict_url NAME URL: one prediction with source=URL.
predict_url() {
    http POST "$BASE/predictions" "{\"input\": {\"source\": \"$1\"}}"
}

# expect_failed NAME TEXT: the last prediction answered 200 with status failed and an error
# that contains TEXT.
expect_failed() {
    local status error
    status=$(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null)
    error=$(printf '%s' "$HTTP_BODY" | json_get /error 2>/dev/null)
    if [ "$HTTP_CODE" = 200 ] && [ "$status" = failed ] && [[ $error == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1" "HTTP $HTTP_CODE, status ${status:-none}, error: ${error:-none}"
    fi
}

# --- Default policy plus a denial, a size and a time limit.
start_front "$ROOT/tests/projects/fetch" "$sock" --fetch-deny 127.0.0.2/32 \
    --fetch-max-bytes 4096 --fetch-timeout 2 \
    || { fail "cog-fcgi starts with --fetch-deny, --fetch-max-bytes, --fetch-timeout"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

predict_url "$FILES/small"
expect_code "an allowed 127.0.0.1 URL: 200" 200
expect_json "an allowed 127.0.0.1 URL is downloaded" /output "100 bytes"
predict_url " $FILES/small\\n"
expect_json "whitespace around a URL is stripped, as validation and urllib do" /output "100 bytes"

predict_url "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
expect_failed "cloud metadata (169.254.169.254) is denied by default" \
    "failed to download http://169.254.169.254/latest/meta-data/iam/security-credentials/: address 169.254.169.254 is denied by the fetch policy (link-local/cloud metadata)"
check "the denial is immediate (no connect attempt, no timeout)" \
    awk -v t="$HTTP_TIME" 'BEGIN { exit !(t < 2) }'
predict_url "http://[::ffff:169.254.169.254]/latest/"
expect_failed "cloud metadata as IPv4-mapped IPv6 is denied" \
    "address 169.254.169.254 is denied by the fetch policy (link-local/cloud metadata)"
predict_url "http://metadata.google.internal/computeMetadata/v1/"
expect_failed "metadata.google.internal is denied by name" \
    "host metadata.google.internal is denied by the fetch policy (GCP cloud metadata)"

predict_url "$TRAP/secret"
expect_failed "a --fetch-deny address fails the prediction" \
    "address 127.0.0.2 is denied by the fetch policy (--fetch-deny 127.0.0.2/32)"
check "a --fetch-deny address is never connected to" trap_silent
predict_url "$FILES/to?$TRAP/secret"
expect_failed "a redirect to a denied address fails" \
    "address 127.0.0.2 is denied by the fetch policy (--fetch-deny 127.0.0.2/32)"
check "a redirect to a denied address is never connected to" trap_silent
predict_url "$FILES/to?http://169.254.169.254/latest/"
expect_failed "a redirect to cloud metadata fails" \
    "address 169.254.169.254 is denied by the fetch policy (link-local/cloud metadata)"

predict_url "$FILES/big"
expect_failed "a file over --fetch-max-bytes fails (Content-Length)" \
    "is larger than the limit of 4096 bytes"
predict_url "$FILES/big-nolen"
expect_failed "a file over --fetch-max-bytes fails (no Content-Length)" \
    "is larger than the limit of 4096 bytes"
predict_url "$FILES/slow"
expect_failed "a download slower than --fetch-timeout fails" "not done within the time limit of 2 s"
check "--fetch-timeout is kept to" awk -v t="$HTTP_TIME" 'BEGIN { exit !(t < 5) }'
predict_url "$FILES/small"
expect_json "the model still serves after refused fetches" /output "100 bytes"
stop_front

# --- A low-speed limit: 100 bytes/s over 2 s, the total timeout left at its 300 s default.
start_front "$ROOT/tests/projects/fetch" "$sock" --fetch-min-rate 100 --fetch-min-rate-window 2 \
    || { fail "cog-fcgi starts with --fetch-min-rate"; finish; }
wait_ready "$BASE" || { fail "model becomes READY (min rate)"; finish; }
predict_url "$FILES/trickle"
expect_failed "a URL trickling 1 byte/s fails with the low-speed limit" \
    "failed to download $FILES/trickle: slower than the minimum rate of 100 bytes/s over 2 s (--fetch-min-rate, --fetch-min-rate-window)"
check "the trickling URL fails after the 2 s window, not the 300 s timeout ($HTTP_TIME s)" \
    awk -v t="$HTTP_TIME" 'BEGIN { exit !(t >= 1.5 && t < 6) }'
predict_url "$FILES/small"
expect_json "a normal download still works under --fetch-min-rate" /output "100 bytes"
stop_front

# --- Allow-list mode: only 127.0.0.1.
start_front "$ROOT/tests/projects/fetch" "$sock" --fetch-allow 127.0.0.1 \
    || { fail "cog-fcgi starts with --fetch-allow"; finish; }
wait_ready "$BASE" || { fail "model becomes READY (allow list)"; finish; }
predict_url "$FILES/small"
expect_json "allow list: an allowed address is downloaded" /output "100 bytes"
predict_url "$TRAP/secret"
expect_failed "allow list: another address fails" \
    "address 127.0.0.2 is not allowed by the fetch policy (no --fetch-allow rule matches)"
predict_url "$FILES/to?$TRAP/secret"
expect_failed "allow list: a redirect to another address fails" \
    "address 127.0.0.2 is not allowed by the fetch policy"
check "allow list: other addresses are never connected to" trap_silent
predict_url "http://169.254.169.254/latest/"
expect_failed "allow list: cloud metadata stays denied" "is denied by the fetch policy"
stop_front

# --- A bad rule stops the server at start-up with a clear message.
out=$("$COG_FCGI" serve "$ROOT/tests/projects/fetch" --listen "unix:$sock" \
    --fetch-deny 10.0.0.0/33 2>&1)
rc=$?
check "a bad --fetch-deny rule exits 2" test "$rc" = 2
check "a bad --fetch-deny rule is named" \
    grep -qF -- "--fetch-deny 10.0.0.0/33: the prefix length must be 0 to 32" <<<"$out"
out=$("$COG_FCGI" serve "$ROOT/tests/projects/fetch" --listen "unix:$sock" \
    --fetch-min-rate 10x 2>&1)
rc=$?
check "a bad --fetch-min-rate exits 2" test "$rc" = 2
check "a bad --fetch-min-rate is named" grep -qF -- '--fetch-min-rate: ' <<<"$out"
out=$("$COG_FCGI" serve "$ROOT/tests/projects/fetch" --listen "unix:$sock" \
    --fetch-min-rate-window 0 2>&1)
rc=$?
check "a bad --fetch-min-rate-window exits 2" test "$rc" = 2
check "--help documents --fetch-min-rate" \
    sh -c "'$COG_FCGI' --help | grep -q -- '--fetch-min-rate BYTES'"
check "--help documents the fetch flags" \
    sh -c "'$COG_FCGI' --help | grep -q -- '--fetch-allow RULE'"
finish
