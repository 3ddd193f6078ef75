#!/usr/bin/env bash
# multipart.sh - multipart/form-data prediction requests through a real nginx.
#
# `curl -F image=@file -F prompt=hi`: each part an input; text parts typed by the schema
# (integer, number, boolean, a choice of integers, List[str] by repeated parts or a JSON array),
# then validated exactly like JSON inputs (the same 422s); file parts spooled to disk as they
# arrive and handed to the model as a Path; a 50 MB file part with the front's peak RSS
# printed (below the file's size); request fields (id, webhook...) as parts; a malformed body
# is a 400; no spool directory is left behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

sock=$T/kitchen.sock
start_front "$ROOT/tests/browser/projects/kitchen" "$sock" || { fail "cog-fcgi starts"; finish; }
front=$FRONT_PID
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }

form() { # form CURL-F-ARGS...: POSTs a form; sets HTTP_CODE and HTTP_BODY
    HTTP_BODY=$(curl -s -w '\n%{http_code}' "$@" "$BASE/predictions")
    HTTP_CODE=${HTTP_BODY##*$'\n'}
    HTTP_BODY=${HTTP_BODY%$'\n'*}
}
got() { printf '%s' "$HTTP_BODY" | json_get /output | json_get "$1"; }

printf 'PNGDATA12' >"$T/photo.png"
form -F prompt=hi -F steps=5 -F scale=2.5 -F flag=false -F count=4 -F tags=x -F tags=y \
    -F key=s3cret -F "image=@$T/photo.png"
check "a form prediction succeeds (HTTP $HTTP_CODE)" test "$HTTP_CODE" = 200
check "a text part is a str" test "$(got /prompt)" = hi
check "an int input gets an integer" test "$(got /steps)" = 5
check "a float input gets a number" test "$(got /scale)" = 2.5
check "a bool input gets a boolean" test "$(got /flag)" = false
check "a choice of integers gets an integer" test "$(got /count)" = 4
check "repeated parts make a List[str]" test "$(got /tags)" = '["x", "y"]'
check "a Secret part reaches the model" test "$(got /key_reversed)" = terc3s
check "a file part is the model's Path (its bytes)" test "$(got /image_bytes)" = 9
masked=$(printf '%s' "$HTTP_BODY" | json_get /input/key)
check "the secret is masked in the answer ($masked)" test "$masked" = '**********'

form -F 'tags=["p","q"]'
check "a JSON array part makes a List[str]" test "$(got /tags)" = '["p", "q"]'

form -F steps=abc
check "an int that does not parse is Cog's 422 (HTTP $HTTP_CODE)" test "$HTTP_CODE" = 422
check "with pydantic's message" sh -c "printf '%s' '$HTTP_BODY' | grep -q 'value is not a valid integer'"
form -F steps=99 -F "image=@$T/photo.png"
check "an int out of bounds is the same 422 as in JSON ($HTTP_CODE)" test "$HTTP_CODE" = 422
json422=$(curl -s -H 'Content-Type: application/json' -d '{"input":{"steps":99}}' "$BASE/predictions")
check "byte for byte" test "$HTTP_BODY" = "$json422"
form -F color=purple
check "a choice not among them is 422" test "$HTTP_CODE" = 422

form -F id=form1 -F prompt=async -H 'Prefer: respond-async'
check "request fields as parts: id, async (HTTP $HTTP_CODE)" test "$HTTP_CODE" = 202
check "the id is the part's" test "$(printf '%s' "$HTTP_BODY" | json_get /id)" = form1

code=$(curl -s -o "$T/bad.out" -w '%{http_code}' -H 'Content-Type: multipart/form-data; boundary=XYZ' \
    --data-binary $'--XYZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nunterminated' "$BASE/predictions")
check "a body without its closing boundary is a 400 ($code)" test "$code" = 400
check "saying so" grep -q 'closing boundary' "$T/bad.out"

# 50 MB by curl -F: spooled to disk as it comes, the front's memory does not hold it
head -c $((50 << 20)) /dev/urandom >"$T/big.bin"
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$front/status")
form -F "image=@$T/big.bin" -F prompt=big
check "a 50 MB file part (HTTP $HTTP_CODE)" test "$HTTP_CODE" = 200
check "reaches the model whole" test "$(got /image_bytes)" = $((50 << 20))
hwm_after=$(awk '/VmHWM/ {print $2}' "/proc/$front/status")
echo "front peak RSS (VmHWM): ${hwm_before} KiB before, ${hwm_after} KiB after a 50 MB file part"
check "the front's peak RSS stays below the file's size ($hwm_after KiB)" test "$hwm_after" -lt 51200
sleep 0.5
left=$(find "$TMPDIR" -maxdepth 1 -name 'cog-fcgi-form-*' | wc -l)
check "no spool directory is left behind ($left)" test "$left" = 0
finish
