#!/usr/bin/env bash
# stream.sh - the event-stream part of `make bench` (run.sh calls it): through nginx on
# loopback, the time from a model's yield to the first byte of its event at the client (median
# and p99 over 1000 events, one yield every 2 ms; the model writes its yield time into each
# chunk), the events/s of a model yielding as fast as it can, and beside it the rate of no-op
# predictions (sync, one connection, the same model yielding nothing).
#
# Environment: CF_BENCH_EVENTS (default 1000), CF_BENCH_FAST (default 20000 yields).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
need_binary
sock=$T/cog.sock
start_front "$ROOT/tests/projects/stream" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" || { fail "the stream model becomes READY"; finish; }
port=${BASE##*:}
out=$("$PY" - "$ROOT/tests/integration" "$port" "${CF_BENCH_EVENTS:-1000}" "${CF_BENCH_FAST:-20000}" <<'PY'
import sys
import time

sys.path.insert(0, sys.argv[1])
import stream_client as sc

port, n, fast = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = sc.Stream("127.0.0.1", port, "POST", "/predictions", {"input": {"n": n, "delay": 0.002}})
lags = sorted(t - float(d["chunk"].split("@")[1]) for name, d, t in sc.CogReader(s) if name == "output")
s.close()
med, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
print(f"yield -> first byte of its event at the client, {len(lags)} events: "
      f"median {med * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms")
def fast_rate(total):
    s = sc.Stream("127.0.0.1", port, "POST", "/predictions", {"input": {"n": total, "delay": 0}})
    count, t0, t1 = 0, None, None
    for name, d, t in sc.CogReader(s):
        if name == "start":
            t0 = t
        elif name == "output":
            count += 1
        elif name == "completed":
            t1 = t
    s.close()
    print(f"a model yielding as fast as it can: {count} events in {t1 - t0:.2f} s = "
          f"{count / (t1 - t0):.0f} events/s")
    return count


fast_rate(max(1, fast // 10))
count = fast_rate(fast)
k, start = 0, time.perf_counter()
while time.perf_counter() - start < 3.0:
    st, _h, _b = sc.request("127.0.0.1", port, "POST", "/predictions", {"input": {"n": 0, "delay": 0}})
    k += st == 200
print(f"no-op predictions (sync JSON, 1 connection): {k / (time.perf_counter() - start):.0f} /s")
print(f"RESULT {med * 1000:.3f} {count}")
PY
)
echo "$out" | grep -v '^RESULT'
res=$(echo "$out" | awk '/^RESULT/ { print $2, $3 }')
check "stream benchmark: events measured" test -n "$res"
finish
