#!/usr/bin/env bash
# full-disk.sh - a full state directory loses nothing that was accepted (issue 7).
#
# The state directory is a 4 MiB tmpfs in a mount namespace this test creates (unshare -m, as
# root; skipped otherwise). With the disk full:
# - a new async prediction gets 503 "state directory unavailable" (the path only in the log);
# - one accepted before that finishes and its end is saved (the 1 MiB reserve), so a SIGKILL
#   right after does not recover it as interrupted;
# - one whose 2 MB output does not fit even then is retried, and saved once space returns;
# after a restart both answer succeeded with their whole outputs. Prints the figures.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
    echo "SKIP: needs root and unshare -m"
    finish
fi
STATE=$T/fullstate
mkdir -p "$STATE"
# the namespace lives as long as this holder; the fronts join it
unshare -m --propagation private sh -c \
    "mount -t tmpfs -o size=4m,mode=0700 tmpfs '$STATE' && touch '$T/mounted' && exec sleep 600" &
HOLDER=$!
CF_PIDS="$CF_PIDS $HOLDER"
for _ in $(seq 50); do [ -e "$T/mounted" ] && break; sleep 0.1; done
inns() { nsenter -t "$HOLDER" -m -- "$@"; }
cat >"$T/front" <<SH
#!/bin/sh
exec nsenter -t $HOLDER -m -- $COG_FCGI "\$@"
SH
chmod +x "$T/front"
REAL_COG_FCGI=$COG_FCGI
COG_FCGI=$T/front

sock=$T/cog.sock
start_front "$ROOT/tests/projects/bigio" "$sock" --state-dir "$STATE" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY"; finish; }
check "the state directory keeps a reserve" inns test -f "$STATE/.reserve"

post_async() {
    curl -s -o "$T/$1.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H 'Prefer: respond-async' --data-binary "$2" "$BASE/predictions"
}
c1=$(post_async small '{"id":"small","input":{"size":1000,"sleep":1.5}}')
c2=$(post_async big '{"id":"big","input":{"size":2000000,"sleep":0.2}}')
check "two async predictions are accepted before the disk fills ($c1 $c2)" test "$c1$c2" = 202202
inns dd if=/dev/zero of="$STATE/fill" bs=64k 2>/dev/null
free_kb=$(inns df -k "$STATE" | awk 'NR == 2 { print $4 }')
echo "figure: state directory filled, ${free_kb} KiB free"

c3=$(post_async refused '{"id":"refused","input":{"size":10}}')
check "a new async prediction gets 503 on a full disk ($c3)" test "$c3" = 503
check "its detail says the state directory is unavailable" grep -q 'state directory unavailable' "$T/refused.json"
check "and does not show the path" sh -c "! grep -q '$STATE' '$T/refused.json'"
check "the server log names the path" grep -q "$STATE" "$FRONT_LOG"

for _ in $(seq 100); do
    http GET "$BASE/predictions/big"
    case $HTTP_BODY in *'"succeeded"'*) break ;; esac
    sleep 0.1
done
expect_json "the 2 MB prediction finishes on the full disk" /status succeeded
sleep 0.5
check "the small one's end was saved through the reserve" inns grep -q '"succeeded"' "$STATE/small.json"
check "the big one's end is not saved yet (no room)" sh -c "! nsenter -t $HOLDER -m -- grep -q '\"succeeded\"' '$STATE/big.json'"
check "the failed save is logged as retried" grep -q 'retrying' "$FRONT_LOG"

t0=$(date +%s%3N)
inns rm -f "$STATE/fill"
saved=0
for _ in $(seq 50); do
    if inns grep -q '"succeeded"' "$STATE/big.json"; then saved=1; break; fi
    sleep 0.1
done
t1=$(date +%s%3N)
check "the big one is saved once space returns" test "$saved" = 1
echo "figure: the retried save landed $((t1 - t0)) ms after space came back"

# a crash now, then a restart in the same namespace: nothing is interrupted, nothing lost
kill -KILL "$FRONT_PID"
wait "$FRONT_PID" 2>/dev/null
forget_pid "$FRONT_PID"
start_front "$ROOT/tests/projects/bigio" "$sock" --state-dir "$STATE" || { fail "cog-fcgi restarts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY again"; finish; }
http GET "$BASE/predictions/small"
expect_json "after the restart the small one is succeeded" /status succeeded
http GET "$BASE/predictions/big"
expect_json "after the restart the big one is succeeded" /status succeeded
len=$(printf '%s' "$HTTP_BODY" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["output"] or ""))')
check "its 2 MB output is whole ($len bytes)" test "$len" = 2000000

# full again, and a graceful stop before space returns: what finished is not interrupted
c4=$(post_async late '{"id":"late","input":{"size":100,"sleep":1}}')
check "an async prediction is accepted ($c4)" test "$c4" = 202
inns dd if=/dev/zero of="$STATE/fill" bs=64k 2>/dev/null
sleep 1.5
kill -TERM "$FRONT_PID"
wait "$FRONT_PID" 2>/dev/null
forget_pid "$FRONT_PID"
inns rm -f "$STATE/fill"
start_front "$ROOT/tests/projects/bigio" "$sock" --state-dir "$STATE" || { fail "cog-fcgi restarts"; finish; }
wait_ready "$BASE" || { fail "model becomes READY again"; finish; }
http GET "$BASE/predictions/late"
expect_json "one that finished on a full disk is not recovered as interrupted" /status succeeded
COG_FCGI=$REAL_COG_FCGI
finish
