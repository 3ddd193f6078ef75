#!/usr/bin/env bash
# files.sh - file inputs and outputs through nginx: a 1 MiB data URI decoded once into its file
# and its copy encoded back byte for byte, in a streamed response whose Content-Length is right;
# a 12 MiB one too; Cog's rules for the URI (whitespace around it, URL-safe characters skipped,
# padding errors as 422 with base64's message), the same in validation and in the file; input
# directories reused, and removed at exit.
# shellcheck disable=SC2034  # HTTP_BODY is read by lib.sh's expect_json
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
# Temp files of every server and model (the copyfile model keeps its last outputs) go under T,
# which the exit trap removes.
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

sock=$T/cog.sock
start_front "$ROOT/tests/projects/copyfile" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "copyfile becomes READY"; finish; }

# round_trip NAME BYTES [PREFIX SUFFIX]: a random file of BYTES as a data URI (with PREFIX and
# SUFFIX around it) must come back as the same bytes, the response as long as it says.
round_trip() {
    local name=$1 n=$2
    "$PY" - "$T/req.json" "$n" "${3:-}" "${4:-}" <<'PY'
import base64, json, os, sys
data = os.urandom(int(sys.argv[2]))
open(sys.argv[1] + ".bin", "wb").write(data)
uri = sys.argv[3] + "data:application/octet-stream;base64," + base64.b64encode(data).decode() + sys.argv[4]
open(sys.argv[1], "w").write(json.dumps({"input": {"source": uri}}))
PY
    curl -s -D "$T/headers" -o "$T/resp.json" -H 'Content-Type: application/json' \
        --data-binary @"$T/req.json" "$BASE/predictions"
    if "$PY" - "$T/req.json.bin" "$T/resp.json" "$T/headers" <<'PY'
import base64, json, sys
want = open(sys.argv[1], "rb").read()
raw = open(sys.argv[2], "rb").read()
resp = json.loads(raw)
length = [l.split(":", 1)[1].strip() for l in open(sys.argv[3]).read().splitlines()
          if l.lower().startswith("content-length:")]
ok = resp["status"] == "succeeded" and base64.b64decode(resp["output"].split(",", 1)[1]) == want
ok = ok and (not length or int(length[0]) == len(raw))
sys.exit(0 if ok else 1)
PY
    then pass "$name"; else fail "$name" "$(head -c 300 "$T/resp.json")"; fi
}

round_trip "a 1 MiB file comes back byte for byte" 1048576
round_trip "a 12 MiB file comes back byte for byte" 12582912
round_trip "whitespace around the data URI is not data (as urlopen strips it)" 3000 '  ' $' \n\t'
round_trip "an odd size (no padding group) comes back" 100001

# Small URIs with Cog's answers (recorded from Cog 0.15.5's urlopen/base64.decodebytes).
http POST "$BASE/predictions" '{"input":{"source":"data:;base64,aGk-_-="}}'
expect_json "URL-safe characters are skipped as Cog skips them" /output "data:text/plain;base64,aGk="
http POST "$BASE/predictions" '{"input":{"source":"data:;base64,YWJj\nZGVm\n"}}'
expect_json "line breaks inside base64 are skipped" /output "data:text/plain;base64,YWJjZGVm"
http POST "$BASE/predictions" '{"input":{"source":"data:;base64,YWJjZA"}}'
expect_code "a truncated base64 group is refused before the model runs" 422
expect_json "with base64's message" /detail/0/msg "Incorrect padding"
http POST "$BASE/predictions" '{"input":{"source":"data:;base64,YWJjZ"}}'
expect_json "one character too many is named" /detail/0/msg \
    "Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4"
http POST "$BASE/predictions" '{"input":{"source":"data:text/plain,a%20b#"}}'
expect_json "a percent-encoded plain payload, empty fragment dropped" /output "data:text/plain;base64,YSBi"
http GET "$BASE/health-check"
expect_json "the server is still READY" /status READY
check "the front logged no sanitizer report" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$FRONT_LOG'"
# Input directories and their files are reused between predictions (a big file, then small
# ones in the same directory: a stale byte would show), and removed when the front stops.
round_trip "a small file after big ones in a reused directory" 10
check "input directories are kept for reuse while the front runs" \
    sh -c "ls -d '$TMPDIR'/cog-fcgi-input-* >/dev/null 2>&1"
stop_front
check "the front removes its input directories when it stops" \
    sh -c "! ls -d '$TMPDIR'/cog-fcgi-input-* >/dev/null 2>&1"
finish
