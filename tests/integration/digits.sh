#!/usr/bin/env bash
# digits.sh - the digits example classifies pictures of digits sent through nginx as data URIs.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

sock=$T/cog.sock
start_front "$ROOT/examples/digits" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
# setup() imports torch and trains the network: allow for a slow machine.
wait_ready "$BASE" 180 || { fail "digits becomes READY"; tail -n 20 "$FRONT_LOG"; finish; }

http GET "$BASE/health-check"
if printf '%s' "$HTTP_BODY" | json_get /setup/logs | grep -q 'training accuracy'; then
    pass "setup logs reach /health-check"
else
    fail "setup logs reach /health-check" "$(printf '%s' "$HTTP_BODY" | head -c 300)"
fi

http GET "$BASE/openapi.json"
expect_json "the image input is a uri" /components/schemas/Input/properties/image/format uri
expect_json "the output is an object with a digit" /components/schemas/Output/properties/digit/type integer

for index in 0 11 22 33 44 55 66 77 88 99; do
    label=$("$PY" "$ROOT/tests/integration/digit_image.py" "$index" "$T/digit.png") \
        || { fail "make the picture of sample $index"; continue; }
    body=$("$PY" -c '
import base64, json, sys
data = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
print(json.dumps({"id": "digit-" + sys.argv[2], "input": {"image": "data:image/png;base64," + data}}))
' "$T/digit.png" "$index")
    http POST "$BASE/predictions" "$body"
    got=$(printf '%s' "$HTTP_BODY" | json_get /output/digit 2>/dev/null)
    if [ "$HTTP_CODE" = 200 ] && [ "$got" = "$label" ]; then
        pass "sample $index is read as a $label"
    else
        fail "sample $index is read as a $label" "HTTP $HTTP_CODE, digit ${got:-none}: $(printf '%s' "$HTTP_BODY" | head -c 300)"
    fi
done

n=$(printf '%s' "$HTTP_BODY" | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["output"]["probabilities"]
print(len(p) if abs(sum(p) - 1.0) < 1e-3 else "bad sum %r" % sum(p))' 2>&1)
check "ten probabilities that sum to 1 ($n)" test "$n" = 10

http POST "$BASE/predictions" '{"input":{"image":"data:image/png;base64,bm90IGFuIGltYWdl"}}'
expect_json "a file that is not an image fails the prediction" /status failed
finish
