#!/usr/bin/env bash
# s3.sh - s3:// file inputs and outputs against a real S3-compatible server on 127.0.0.1.
#
# The store is s3rver (npm, tests/s3/package.json, installed here by `npm ci` into the ignored
# tests/s3/node_modules) behind tests/s3/sigv4_gate.py: s3rver 3.7 does NOT check Signature V4
# (it only looks the access key up; shown below: it accepts a wrong secret), so the gate
# computes every request's signature itself, header-signed and presigned, and answers
# SignatureDoesNotMatch when it differs. Shown: an s3:// input read and an output written
# by output_file_prefix (path-style --s3-endpoint, credentials from a shared credentials file
# and AWS_PROFILE); --upload-url s3://... with --s3-presign (virtual-host style) answered as a
# presigned URL that a plain curl can GET; a 200 MB file in and out (the upload by multipart, 8 MiB parts) with the
# front's peak RSS printed; a wrong secret and a missing bucket fail the prediction naming
# the bucket and S3's code; the fetch policy applies to the endpoint.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

HERE=$ROOT/tests/s3
for tool in node npm; do
    command -v "$tool" >/dev/null || { fail "$tool is installed" "run scripts/install-deps.sh"; finish; }
done
if [ ! -f "$HERE/node_modules/s3rver/package.json" ] ||
    [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
        { fail "npm ci in tests/s3" "$(tail -n 3 "$T/npm.log")"; finish; }
fi

KEY=AKIDCOGFCGITEST SECRET=cog-fcgi-test-secret
raw_port=$(free_port)
mkdir -p "$T/s3data"
# s3rver's own account is S3RVER:S3RVER (its secret is not checked: the gate checks ours).
# Its service endpoint "localhost" makes BUCKET.s3.localhost a virtual host, which curl
# resolves to 127.0.0.1 by itself (as it does every *.localhost name).
start_bg "$T/s3rver.log" node "$HERE/node_modules/.bin/s3rver" -d "$T/s3data" -a 127.0.0.1 \
    -p "$raw_port" --service-endpoint localhost --configure-bucket bkt
wait_port "$raw_port" || { fail "s3rver starts" "$(tail -n 5 "$T/s3rver.log")"; finish; }
s3_port=$(free_port)
start_bg "$T/gate.log" "$PY" "$HERE/sigv4_gate.py" "$s3_port" "$raw_port" S3RVER "$SECRET" "$T/gate.access.log"
wait_port "$s3_port" || { fail "the SigV4 gate starts" "$(tail -n 5 "$T/gate.log")"; finish; }
EP=http://127.0.0.1:$s3_port
signed() { # signed SECRET CURL-ARGS...: a request signed as AWS's CLI would
    local secret=$1
    shift
    curl -s --aws-sigv4 "aws:amz:us-east-1:s3" -u "S3RVER:$secret" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

# The store itself: what it accepts and refuses.
code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" -u S3RVER:wrong \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "http://127.0.0.1:$raw_port/bkt/none")
check "s3rver alone does not check V4 signatures (a wrong secret gets $code, not 403)" test "$code" != 403
printf 'hello from s3\n' >"$T/in.txt"
check "a signed PUT to the gate is stored" test "$(signed "$SECRET" -o /dev/null -w '%{http_code}' \
    -T "$T/in.txt" "$EP/bkt/inputs/in.txt")" = 200
check "the gate refuses a wrong secret" sh -c "curl -s --aws-sigv4 aws:amz:us-east-1:s3 -u S3RVER:wrong \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' '$EP/bkt/inputs/in.txt' | grep -q SignatureDoesNotMatch"
check "the gate refuses an unsigned GET" sh -c "curl -s '$EP/bkt/inputs/in.txt' | grep -q AccessDenied"

# Credentials from a shared credentials file and a profile (the environment has none).
cat >"$T/credentials" <<EOF
[default]
aws_access_key_id = S3RVER
aws_secret_access_key = not-this-one

[cogtest]
aws_access_key_id = S3RVER
aws_secret_access_key = $SECRET
EOF
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export AWS_REGION=us-east-1
project=$ROOT/tests/projects/copyfile
sock=$T/cog.sock
AWS_SHARED_CREDENTIALS_FILE=$T/credentials AWS_PROFILE=cogtest \
    start_front "$project" "$sock" --s3-endpoint "$EP" --s3-path-style \
    || { fail "cog-fcgi starts"; finish; }
front=$FRONT_PID
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

http POST "$BASE/predictions" '{"input":{"source":"s3://bkt/inputs/in.txt"},"output_file_prefix":"s3://bkt/out/"}'
expect_json "an s3:// input is read and the output written to output_file_prefix" /status succeeded
out=$(printf '%s' "$HTTP_BODY" | json_get /output 2>/dev/null)
case $out in s3://bkt/out/*.txt) pass "the output is its s3:// URL ($out)" ;;
    *) fail "the output is its s3:// URL" "got $out" ;; esac
check "the stored output has the input's bytes" sh -c \
    "curl -s --aws-sigv4 aws:amz:us-east-1:s3 -u 'S3RVER:$SECRET' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    '$EP/bkt/${out#s3://bkt/}' | grep -qx 'hello from s3'"
check "the requests were signed with the profile's secret (none refused)" \
    sh -c "! grep -q REFUSED.*/out/ '$T/gate.access.log'"

# 200 MB in and out: the input downloaded to disk, the output up by multipart.
head -c $((200 << 20)) /dev/urandom >"$T/big.bin"
signed "$SECRET" -o /dev/null -T "$T/big.bin" "$EP/bkt/inputs/big.bin"
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$front/status")
http POST "$BASE/predictions" '{"input":{"source":"s3://bkt/inputs/big.bin"},"output_file_prefix":"s3://bkt/out/"}'
expect_json "a 200 MB s3:// input and output" /status succeeded
hwm_after=$(awk '/VmHWM/ {print $2}' "/proc/$front/status")
echo "front peak RSS (VmHWM): ${hwm_before} KiB before, ${hwm_after} KiB after the 200 MB prediction"
check "the front's peak RSS grew by less than 32 MiB ($((hwm_after - hwm_before)) KiB)" \
    test $((hwm_after - hwm_before)) -lt 32768
parts=$(grep -c 'PUT /bkt/out/[0-9]*\.bin?partNumber=' "$T/gate.access.log")
check "the output went up by multipart ($parts parts of 8 MiB)" test "$parts" -eq 25
big_out=$(printf '%s' "$HTTP_BODY" | json_get /output 2>/dev/null)
signed "$SECRET" -o "$T/big.back" "$EP/bkt/${big_out#s3://bkt/}"
check "the 200 MB output has the input's bytes" cmp -s "$T/big.bin" "$T/big.back"
rm -f "$T/big.bin" "$T/big.back"

http POST "$BASE/predictions" '{"input":{"source":"s3://bkt/inputs/in.txt"},"output_file_prefix":"s3://bkt/flaky/"}'
expect_json "a 503 SlowDown from the store is retried" /status succeeded
check "(the gate answered 503 once, then 200)" sh -c "grep -q 'PUT /bkt/flaky/.* 503' '$T/gate.access.log' &&
    grep -q 'PUT /bkt/flaky/.* 200' '$T/gate.access.log'"

http POST "$BASE/predictions" '{"input":{"source":"s3://nobucket/inputs/in.txt"}}'
expect_json "a missing bucket fails the prediction" /status failed
err=$(printf '%s' "$HTTP_BODY" | json_get /error 2>/dev/null)
case $err in *NoSuchBucket*nobucket*) pass "naming the bucket and S3's code ($err)" ;;
    *) fail "naming the bucket and S3's code" "got $err" ;; esac
http POST "$BASE/predictions" '{"input":{"source":"s3://bkt/inputs/in.txt"},"output_file_prefix":"s3://nobucket/out/"}'
expect_json "an output to a missing bucket fails the prediction" /status failed
check "and the front logs the bucket and code" grep -q 'NoSuchBucket for bucket nobucket' "$FRONT_LOG"
stop_nginx
stop_front

# --upload-url s3:// with --s3-presign: an async prediction's output is a presigned URL.
# This front addresses the store by virtual host (BUCKET.s3.localhost), not path style.
VEP=http://s3.localhost:$s3_port
sock1=$T/presign.sock
AWS_SHARED_CREDENTIALS_FILE=$T/credentials AWS_PROFILE=cogtest \
    start_front "$project" "$sock1" --s3-endpoint "$VEP" \
    --upload-url s3://bkt/async/ --s3-presign 1h || { fail "cog-fcgi starts (presign)"; finish; }
start_nginx "$T/nginx1" "$(free_port)" "$sock1" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary '{"id":"s3async","input":{"source":"s3://bkt/inputs/in.txt"}}' "$BASE/predictions"
for i in $(seq 100); do
    http GET "$BASE/predictions/s3async"
    case $(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null) in succeeded|failed) break ;; esac
    sleep 0.1
done
expect_json "an async prediction with --upload-url s3:// succeeds" /status succeeded
url=$(printf '%s' "$HTTP_BODY" | json_get /output 2>/dev/null)
case $url in "http://bkt.s3.localhost:$s3_port/async/"*X-Amz-Signature=*) pass "its output is a presigned virtual-host URL" ;;
    *) fail "its output is a presigned URL" "got $url" ;; esac
check "the input was read by virtual host" grep -q '"GET /inputs/in.txt HTTP' "$T/gate.access.log"
check "a plain curl GETs the presigned URL (the gate checks its signature)" \
    sh -c "curl -sf '$url' | grep -qx 'hello from s3'"
check "a tampered presigned URL is refused" \
    sh -c "curl -s '${url/X-Amz-Expires=3600/X-Amz-Expires=7200}' | grep -q SignatureDoesNotMatch"

stop_nginx
stop_front

# A wrong secret (from the environment, which wins over the file): failed, bucket named.
sock2=$T/wrong.sock
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=wrong AWS_SHARED_CREDENTIALS_FILE=$T/credentials \
    start_front "$project" "$sock2" --s3-endpoint "$EP" --s3-path-style || { fail "cog-fcgi starts (wrong secret)"; finish; }
start_nginx "$T/nginx2" "$(free_port)" "$sock2" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
start=$(date +%s)
http POST "$BASE/predictions" '{"input":{"source":"s3://bkt/inputs/in.txt"}}'
expect_json "a wrong secret fails the prediction" /status failed
err=$(printf '%s' "$HTTP_BODY" | json_get /error 2>/dev/null)
case $err in *"HTTP 403 SignatureDoesNotMatch for bucket bkt"*) pass "naming the bucket and S3's code ($err)" ;;
    *) fail "naming the bucket and S3's code" "got $err" ;; esac
check "at once, no hang ($(($(date +%s) - start)) s)" test $(($(date +%s) - start)) -lt 10
stop_nginx
stop_front

# The fetch policy applies to the endpoint.
sock3=$T/deny.sock
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET start_front "$project" "$sock3" \
    --s3-endpoint "$EP" --s3-path-style --fetch-deny 127.0.0.0/8 || { fail "cog-fcgi starts (deny)"; finish; }
start_nginx "$T/nginx3" "$(free_port)" "$sock3" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
http POST "$BASE/predictions" '{"input":{"source":"s3://bkt/inputs/in.txt"}}'
err=$(printf '%s' "$HTTP_BODY" | json_get /error 2>/dev/null)
case $err in *"denied by the fetch policy"*) pass "a denied endpoint fails the input ($err)" ;;
    *) fail "a denied endpoint fails the input" "got $err" ;; esac

check "--help lists the S3 options" sh -c "'$COG_FCGI' serve --help 2>&1 | grep -q -- '--s3-presign DURATION'"
finish
