#!/usr/bin/env bash
# files-dir.sh - --files-dir / --files-url: file outputs written to a directory and sent by
# nginx (X-Accel-Redirect to an internal location), never as base64 through the responder.
#
# Through a real nginx (scripts/nginx-conf.sh with CF_NGINX_FILES_DIR, the location that
# nginx/cog-fcgi.conf documents): a 50 MB input by curl -F (multipart, spooled), the
# same 50 MB output answered as a /files/ URL and downloaded through nginx, byte for byte;
# cog-fcgi answers the GET with X-Accel-Redirect only; names outside the directory are 404;
# the internal location is not reachable directly; the front's peak RSS is printed. Then the
# same through Apache (mod_proxy_fcgi, mod_xsendfile) with --files-sendfile.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

files=$T/files static=$T/static
mkdir -p "$files" "$static"
chmod 755 "$files" "$static"
sock=$T/cog.sock
project=$ROOT/tests/projects/copyfile
start_front "$project" "$sock" --files-dir "$files" --files-url /files/ \
    || { fail "cog-fcgi starts"; finish; }
front=$FRONT_PID
CF_NGINX_FILES_DIR=$files CF_NGINX_STATIC=$static start_nginx "$T/nginx" "$(free_port)" "$sock" \
    || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

printf 'small\n' >"$static/small.txt"
http POST "$BASE/predictions" "{\"input\":{\"source\":\"$BASE/static/small.txt\"}}"
expect_json "a prediction with --files-dir succeeds" /status succeeded
out=$(printf '%s' "$HTTP_BODY" | json_get /output 2>/dev/null)
case $out in /files/[0-9a-f]*-*.txt) pass "its output is a /files/ URL ($out)" ;;
    *) fail "its output is a /files/ URL" "got $out" ;; esac
check "nginx sends the file" sh -c "curl -sf '$BASE$out' | grep -qx small"
check "the file is in --files-dir" test -f "$files/${out#/files/}"
check "with the type from its name" sh -c \
    "curl -s -D - -o /dev/null '$BASE$out' | grep -qi '^content-type: text/plain'"
# cog-fcgi's own answer, without nginx's redirect: headers only
direct=$("$PY" -c '
import sys
sys.path.insert(0, sys.argv[1])
from fcgi_client import Conn
status, headers, body = Conn("unix:" + sys.argv[2], keep=False).request("GET", sys.argv[3])
print(status, headers, len(body))
' "$ROOT/tests/integration" "$sock" "$out" 2>&1 | head -c 2000)
case $direct in *"'x-accel-redirect': '/cog-fcgi-files/${out#/files/}'"*" 0") pass "cog-fcgi answers X-Accel-Redirect" ;;
    *) fail "cog-fcgi answers X-Accel-Redirect" "got ${direct:0:300}" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/files/../../etc/passwd")
check "a name outside the directory is not served ($code)" test "$code" = 404 -o "$code" = 400
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/files/nonexistent.txt")
check "an unknown name is 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/cog-fcgi-files/${out#/files/}")
check "the internal location is not reachable directly ($code)" test "$code" != 200
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE$out")
check "POST to a file URL is 405" test "$code" = 405

head -c $((50 << 20)) /dev/urandom >"$static/big.bin"
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$front/status")
HTTP_BODY=$(curl -s -F "source=@$static/big.bin" "$BASE/predictions")
expect_json "a 50 MB input by curl -F, a 50 MB output" /status succeeded
check "the answer is small (${#HTTP_BODY} bytes, no base64)" test "${#HTTP_BODY}" -lt 4096
out=$(printf '%s' "$HTTP_BODY" | json_get /output 2>/dev/null)
curl -sf -o "$T/big.back" "$BASE$out"
check "nginx sends the 50 MB output byte for byte" cmp -s "$static/big.bin" "$T/big.back"
hwm_after=$(awk '/VmHWM/ {print $2}' "/proc/$front/status")
echo "front peak RSS (VmHWM): ${hwm_before} KiB before, ${hwm_after} KiB after the 50 MB input (-F) and output"
check "the front's peak RSS stays below the file's size ($hwm_after KiB)" test "$hwm_after" -lt 51200
stop_nginx
stop_front

# Apache: mod_proxy_fcgi (apache/cog-fcgi-proxy.conf) and mod_xsendfile, --files-sendfile.
if [ -x "$APACHE2" ] && [ -f "$APACHE_MODULES/mod_xsendfile.so" ]; then
    asock=$T/apache.sock
    sock_flags=()
    [ "$(id -u)" -eq 0 ] && sock_flags=(--socket-mode 0660 --socket-group www-data)
    start_bg "$T/front-apache.log" "$COG_FCGI" serve "$project" --listen "unix:$asock" \
        "${sock_flags[@]}" --state-dir "$T/state.apache" --files-dir "$files" --files-url /files/ --files-sendfile
    check "cog-fcgi listens for Apache" wait_socket "$asock" 20
    pre=$T/apache
    mkdir -p "$pre"
    { sed "s|unix:/run/cog-fcgi/cog.sock|unix:$asock|" "$ROOT/apache/cog-fcgi-proxy.conf"
      printf 'XSendFile On\nXSendFilePath %s\n' "$files"; } >"$pre/site.conf"
    aport=$(free_port)
    apache_render "$pre" "$aport" event "$pre/site.conf" authz_core mime proxy proxy_fcgi xsendfile
    if apache_run "$pre" "$aport"; then
        abase=http://127.0.0.1:$aport
        check "READY through Apache" wait_ready "$abase" 60
        HTTP_BODY=$(curl -s -F "source=@$static/big.bin" "$abase/predictions")
        expect_json "Apache: a 50 MB input by curl -F, a 50 MB output" /status succeeded
        out=$(printf '%s' "$HTTP_BODY" | json_get /output 2>/dev/null)
        curl -s -o "$T/big.apache" "$abase$out"
        check "Apache sends the output by X-Sendfile, byte for byte" cmp -s "$static/big.bin" "$T/big.apache"
        code=$(curl -s -o /dev/null -w '%{http_code}' "$abase/files/nonexistent.txt")
        check "Apache: an unknown name is 404" test "$code" = 404
    else
        fail "apache2 starts with mod_xsendfile"
    fi
else
    echo "SKIP Apache X-Sendfile: libapache2-mod-xsendfile is not installed (scripts/install-deps.sh)"
fi
finish
