#!/usr/bin/env bash
# memory-bound.sh - the front's memory is bounded by --keep-memory, not by how many predictions
# it has answered (issue 7).
#
# 200 sync predictions with 2 MB outputs, then 20 with 10 MB inputs, then 20000 small ones, one
# at a time through nginx; the front's RSS after each batch must stay under its RSS at READY plus
# the budget (16 MiB here) plus a stated constant (40 MiB: allocator slack, the request threads'
# stacks, the libraries' caches). Before the record table, the front kept every finished prediction
# whole: 557 MB after the first batch. The oldest predictions still answer GET, read back from
# their files. Prints the figures.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

BUDGET_MB=16
SLACK_MB=40
# AddressSanitizer keeps freed memory in quarantine (256 MB): RSS says nothing there
if ldd "$COG_FCGI" 2>/dev/null | grep -q libasan; then
    echo "note: a sanitizer build: RSS figures are not checked"
    SLACK_MB=100000
fi
rss_mb() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$FRONT_PID/status"; }

sock=$T/cog.sock
start_front "$ROOT/tests/projects/bigio" "$sock" --keep-memory "${BUDGET_MB}M" --threads 8 ||
    { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
base=$(rss_mb)

ok=0
for i in $(seq 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "{\"id\":\"out$i\",\"input\":{\"size\":2000000}}" "$BASE/predictions")
    [ "$code" = 200 ] && ok=$((ok + 1))
done
after_out=$(rss_mb)
check "200 predictions with 2 MB outputs answer 200 ($ok)" test "$ok" = 200
echo "figure: front RSS ${base} MB at READY, ${after_out} MB after 200 x 2 MB outputs (budget ${BUDGET_MB} MB)"
check "RSS after 2 MB outputs within READY + budget + ${SLACK_MB} MB (${after_out} MB)" \
    test "$after_out" -le $((base + BUDGET_MB + SLACK_MB))

"$PY" -c 'import json,sys; print(json.dumps({"input": {"data": "y" * 10_000_000}}))' >"$T/big.json"
ok=0
for i in $(seq 20); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary @"$T/big.json" "$BASE/predictions")
    [ "$code" = 200 ] && ok=$((ok + 1))
done
after_in=$(rss_mb)
check "20 predictions with 10 MB inputs answer 200 ($ok)" test "$ok" = 20
echo "figure: front RSS ${after_in} MB after 20 x 10 MB inputs (budget ${BUDGET_MB} MB)"
check "RSS after 10 MB inputs within READY + budget + ${SLACK_MB} MB (${after_in} MB)" \
    test "$after_in" -le $((base + BUDGET_MB + SLACK_MB))

# many small ones: the budget counts what a record really costs, not only its big values
"$PY" - "$BASE" <<'PY' >"$T/small.out"
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
ok = 0
for i in range(20000):
    c.request("POST", "/predictions", body='{"input":{"size":10}}',
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    ok += r.status == 200
print(ok)
PY
after_small=$(rss_mb)
check "20000 small predictions answer 200 ($(cat "$T/small.out"))" test "$(cat "$T/small.out")" = 20000
echo "figure: front RSS ${after_small} MB after 20000 small predictions (budget ${BUDGET_MB} MB)"
check "RSS after small predictions within READY + budget + ${SLACK_MB} MB (${after_small} MB)" \
    test "$after_small" -le $((base + BUDGET_MB + SLACK_MB))

# the oldest are out of memory but still answer, whole, from their files
http GET "$BASE/predictions/out1"
expect_code "the first prediction still answers GET" 200
out_len=$(printf '%s' "$HTTP_BODY" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["output"]))')
check "its 2 MB output is whole ($out_len bytes)" test "$out_len" = 2000000

# invalid UTF-8 from the model keeps `logs` (a string, with U+FFFD) and the valid lines
http POST "$BASE/predictions" '{"input":{"bad_log":true}}'
expect_code "a model printing invalid UTF-8 answers 200" 200
logs=$(printf '%s' "$HTTP_BODY" | "$PY" -c 'import json,sys; print(ascii(json.load(sys.stdin).get("logs")))')
check "logs keeps every line, bad bytes as U+FFFD ($logs)" \
    test "$logs" = "'before\\nbad \\ufffd\\ufffd bytes\\nafter\\n'"
finish
