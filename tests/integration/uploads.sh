#!/usr/bin/env bash
# uploads.sh - file outputs sent to storage (COG-API.md §8.2, §16).
#
# --upload-url: an async prediction's files are PUT raw to URL/NAME (X-Prediction-ID, a
# Content-Type from the name, retried on 5xx) and the output is the storage's Location without
# its query; a failed upload ends the prediction failed with Cog's error. output_file_prefix:
# a sync prediction's files are PUT as multipart to PREFIX+NAME and the output is that URL.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

store_port=$(free_port)
mkdir -p "$T/store"
start_bg "$T/store.log" /usr/bin/python3 "$ROOT/tests/integration/upload_receiver.py" "$store_port" "$T/store" 1
wait_port "$store_port" || { fail "the storage stand-in starts"; finish; }
STORE=http://127.0.0.1:$store_port

sock=$T/cog.sock
project=$ROOT/tests/conformance/cases/10-output-list-path
start_front "$project" "$sock" --upload-url "$STORE/bucket/" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

poll_done() {
    local id=$1 i s
    for i in $(seq 100); do
        http GET "$BASE/predictions/$id"
        s=$(printf '%s' "$HTTP_BODY" | json_get /status 2>/dev/null)
        case $s in succeeded|failed|canceled) return 0 ;; esac
        sleep 0.1
    done
    return 1
}

curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Prefer: respond-async' \
    --data-binary '{"id":"up1","input":{"lines":2}}' "$BASE/predictions"
poll_done up1
expect_json "async prediction with --upload-url succeeds" /status succeeded
expect_json "first output is the storage's Location without the query" /output/0 \
    "$STORE/stored/bucket/line0.txt"
expect_json "second output too" /output/1 "$STORE/stored/bucket/line1.txt"
uploaded=$(grep -l '"path": "/bucket/line' "$T"/store/*.json | wc -l)
check "each file was PUT (one 503 retried: $uploaded PUTs)" test "$uploaded" -eq 3
check "the upload carries X-Prediction-ID" grep -q '"X-Prediction-ID": "up1"' "$T"/store/2.json
check "the upload's Content-Type comes from the name" grep -q '"content_type": "text/plain"' "$T"/store/2.json
check "the bytes arrived raw" grep -qx 'line 0' "$T/store/2.body"

# a sync prediction on the same server still gets data URIs (as Cog 0.15.5)
http POST "$BASE/predictions" '{"input":{"lines":1}}'
expect_json "a sync prediction still answers a data URI" /output/0 "data:text/plain;base64,bGluZSAwCg=="

# output_file_prefix: multipart PUT, output = prefix + name
http POST "$BASE/predictions" "{\"input\":{\"lines\":1},\"output_file_prefix\":\"$STORE/prefix/\"}"
expect_json "output_file_prefix gives exactly prefix+name" /output/0 "$STORE/prefix/line0.txt"
last=$(ls "$T"/store/*.json | sort -t/ -k2 -V | tail -n 1)
check "output_file_prefix uploads multipart/form-data" grep -q '"content_type": "multipart/form-data' "$last"

http POST "$BASE/predictions" "{\"input\":{\"lines\":1},\"output_file_prefix\":\"$STORE/broken/\"}"
expect_json "a failed upload fails the prediction" /status failed
expect_json "with Cog's error" /error "Cog: Got error trying to upload output files"
http GET "$BASE/health-check"
expect_json "health stays READY after a failed upload" /status READY
finish
