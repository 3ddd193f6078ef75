"""async_webhooks.py - async predictions and their webhooks through nginx (driver of async-webhooks.sh).

What a user checks: `Prefer: respond-async` gives 202 and a pollable id; the webhook sequence of
an iterator model (start, outputs, logs, completed) with throttling at 0.1 s, 0 s and the
default 0.5 s; every body carries the full state and the terminal one is last and unique;
webhook_events_filter; the bearer token and traceparent/tracestate reach the receiver; a
receiver that answers 503 five times still gets exactly one successful terminal delivery.
"""

import re
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from async_lib import Suite  # noqa: E402

S = Suite("async-webhooks")
TOKEN = "sekrit-token"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACESTATE = "congo=t61rcWkgMzE"
FINAL_OUT = ["item 0", "item 1", "item 2"]
FINAL_LOGS = "log 0\nlog 1\nlog 2\n"


def is_prefix(part, whole):
    return isinstance(part, list) and part == whole[:len(part)]


def check_sequence(label, hooks, final_out, final_logs, expect_start):
    """The common assertions on one prediction's webhook deliveries."""
    terminal = [h for h in hooks if h.terminal]
    S.expect(f"{label}: exactly one terminal webhook", len(terminal), 1, "terminal deliveries:")
    if not hooks:
        return
    last = hooks[-1]
    S.check(f"{label}: the terminal webhook is the last", last.terminal,
            f"last delivery has status {last.status}, deliveries: {[h.status for h in hooks]}")
    S.expect(f"{label}: terminal status", last.status, "succeeded")
    S.expect(f"{label}: terminal output is every item", last.body.get("output"), final_out)
    S.expect(f"{label}: terminal logs are every line", last.body.get("logs"), final_logs)
    S.check(f"{label}: terminal carries completed_at and metrics.predict_time",
            last.body.get("completed_at") and isinstance((last.body.get("metrics") or {}).get("predict_time"), (int, float)),
            f"got {last.body}")
    S.check(f"{label}: unset keys are omitted (no version, no error)",
            all("version" not in h.body and "error" not in h.body for h in hooks),
            f"bodies: {[sorted(h.body) for h in hooks]}")
    full = all((h.body.get("input") or {}).get("n") == len(final_out)
               and h.body.get("id") and h.body.get("started_at") for h in hooks)
    S.check(f"{label}: every body carries input, id and started_at", full,
            f"bodies: {[h.body for h in hooks][:3]}")
    grows = all(h.body.get("output") in (None, []) or is_prefix(h.body.get("output"), final_out)
                for h in hooks)
    grows = grows and all(final_logs.startswith(h.body.get("logs") or "") for h in hooks)
    S.check(f"{label}: every non-terminal body is a prefix of the final state", grows,
            f"outputs/logs: {[(h.body.get('output'), h.body.get('logs')) for h in hooks]}")
    first = hooks[0]
    bare = first.status == "processing" and not first.body.get("output") and not first.body.get("logs")
    if expect_start:
        S.check(f"{label}: the first webhook is `start` (processing, no output, no logs)", bare,
                f"first body: {first.body}")
    else:
        S.check(f"{label}: no `start` webhook (throttle < 0.1 s, as Cog)", not bare,
                f"first body: {first.body}")


def run_iter(path, n=3, delay=0.3, events=None, headers=None):
    """One async iterator prediction with a webhook; returns (202 response, deliveries, polls)."""
    r = S.predict({"n": n, "delay": delay}, webhook=S.receiver.url(path), events=events,
                  asynch=True, headers=headers)
    pid = r.get("id")
    polls = []
    end = time.monotonic() + 15
    while pid and time.monotonic() < end:
        g = S.get_prediction(pid)
        polls.append(g)
        if g.get("status") in ("succeeded", "failed", "canceled"):
            break
        time.sleep(0.1)
    if events is None or "completed" in events:
        S.receiver.wait_terminal(path, timeout=10)
    time.sleep(0.3)  # a late non-terminal delivery would show up now
    return r, S.receiver.got(path), polls


def main():
    S.start_receiver()
    env = {"WEBHOOK_AUTH_TOKEN": TOKEN, "COG_THROTTLE_RESPONSE_INTERVAL": "0.1"}
    front = S.setup("async-iter", env=env)

    # --- Throttle 0.1 s: every event, start included. ---
    hdrs = {"traceparent": TRACEPARENT, "tracestate": TRACESTATE}
    r, hooks, polls = run_iter("/seq/t01", headers=hdrs)
    S.expect("respond-async answers 202", r.status, 202, str(r))
    S.expect("the 202 body says processing", r.get("status"), "processing")
    pid = r.get("id") or ""
    S.check("a generated id is pred_ + 26 base32 chars", re.fullmatch(r"pred_[a-z2-7]{26}", pid),
            f"id {pid!r}")
    S.check("the 202 body has every key (Cog's full response object)",
            isinstance(r.json, dict) and {"input", "output", "id", "version", "created_at", "started_at",
                                          "logs", "error", "status", "metrics"} <= set(r.json),
            str(r))
    running = [p for p in polls if p.get("status") == "processing"]
    S.check("GET while running answers 200 processing", running and all(p.status == 200 for p in running),
            f"polls: {[str(p) for p in polls[:3]]}")
    S.check("GET while running shows output growing",
            any(p.get("output") and is_prefix(p.get("output"), FINAL_OUT) for p in running),
            f"outputs while running: {[p.get('output') for p in running]}")
    g = S.get_prediction(pid)
    S.expect("GET after completion: succeeded", g.get("status"), "succeeded", str(g))
    S.expect("GET after completion: every item", g.get("output"), FINAL_OUT)
    S.expect("GET after completion: the logs", g.get("logs"), FINAL_LOGS)
    check_sequence("throttle 0.1", hooks, FINAL_OUT, FINAL_LOGS, expect_start=True)
    nonterm_fast = len([h for h in hooks if not h.terminal])
    # Each step prints then yields at once (one coalesced event), 0.3 s apart: start + 2 more.
    S.check("throttle 0.1: start + an event per 0.3 s step (>= 3 non-terminal webhooks)", nonterm_fast >= 3,
            f"{nonterm_fast} non-terminal deliveries: {[h.body for h in hooks]}")
    S.check("webhooks carry Authorization: Bearer $WEBHOOK_AUTH_TOKEN",
            hooks and all(h.headers.get("authorization") == f"Bearer {TOKEN}" for h in hooks),
            f"got {[h.headers.get('authorization') for h in hooks]}")
    S.check("webhooks carry the request's traceparent and tracestate",
            hooks and all(h.headers.get("traceparent") == TRACEPARENT and h.headers.get("tracestate") == TRACESTATE
                          for h in hooks),
            f"got {[(h.headers.get('traceparent'), h.headers.get('tracestate')) for h in hooks][:2]}")
    S.check("webhooks are JSON POSTs",
            hooks and all((h.headers.get("content-type") or "").startswith("application/json") for h in hooks),
            f"content types {[h.headers.get('content-type') for h in hooks]}")
    if hooks:
        S.expect("the terminal webhook and GET agree", {k: hooks[-1].body.get(k) for k in ("id", "status", "output", "logs")},
                 {k: g.get(k) for k in ("id", "status", "output", "logs")})

    # Events filter (same front): only what was asked for.
    _, hooks, _ = run_iter("/filter/completed", events=["completed"])
    S.expect("filter [completed]: exactly one delivery", len(hooks), 1, f"statuses {[h.status for h in hooks]}:")
    S.check("filter [completed]: it is the terminal one", hooks and hooks[0].terminal, "")
    _, hooks, _ = run_iter("/filter/start-completed", events=["start", "completed"])
    S.expect("filter [start, completed]: two deliveries", len(hooks), 2, f"bodies {[h.body for h in hooks]}:")
    if len(hooks) == 2:
        S.check("filter [start, completed]: start first (no output, no logs)",
                hooks[0].status == "processing" and not hooks[0].body.get("output") and not hooks[0].body.get("logs"),
                f"first body {hooks[0].body}")
        S.check("filter [start, completed]: completed last", hooks[1].terminal, f"{hooks[1].body}")
    _, hooks, _ = run_iter("/filter/output", events=["output"])
    S.check("filter [output]: some deliveries, none terminal",
            hooks and not any(h.terminal for h in hooks), f"statuses {[h.status for h in hooks]}")
    S.check("filter [output]: each one carries a new item",
            hooks and all(h.body.get("output") for h in hooks), f"outputs {[h.body.get('output') for h in hooks]}")

    # Retries: five 503s on the terminal delivery, then success.
    _, _, _ = run_iter("/flaky5/x", n=1, delay=0.0)
    hooks = S.receiver.wait_terminal("/flaky5/x", timeout=15)
    time.sleep(0.5)
    hooks = S.receiver.got("/flaky5/x")
    term = [h for h in hooks if h.terminal]
    S.expect("503 x5: six terminal delivery attempts", len(term), 6, "attempts:")
    S.expect("503 x5: exactly one successful terminal delivery",
             len([h for h in term if h.answered == 200]), 1, "successes:")
    if len(term) >= 2:
        gaps = [round(b.t - a.t, 2) for a, b in zip(term, term[1:])]
        S.check("503 x5: retries back off (each gap >= the one before, roughly)",
                all(g2 >= g1 * 0.8 for g1, g2 in zip(gaps, gaps[1:])) and gaps[0] >= 0.05,
                f"gaps {gaps}")

    # A sync prediction with a webhook gets its webhooks too (Cog section 6).
    r = S.predict({"n": 2, "delay": 0.0}, webhook=S.receiver.url("/sync/1"))
    S.expect("sync with webhook answers 200", r.status, 200, str(r))
    hooks = S.receiver.wait_terminal("/sync/1", timeout=10)
    S.check("sync with webhook: terminal webhook delivered", any(h.terminal for h in hooks),
            f"deliveries {[h.status for h in hooks]}")

    # Prefer parsed as RFC 7240, PUT of a running id, unknown id.
    r = S.predict({"n": 2, "delay": 0.5}, headers={"Prefer": "wait=5, RESPOND-ASYNC"})
    S.expect("Prefer: wait=5, RESPOND-ASYNC answers 202", r.status, 202, str(r))
    pid2 = r.get("id")
    if pid2:
        p = S.http("PUT", f"/predictions/{pid2}", {"input": {"n": 2, "delay": 0.5}})
        S.expect("PUT of a running id answers 202", p.status, 202, str(p))
        S.expect("PUT of a running id gives its state", p.get("id"), pid2)
        S.poll(pid2)
    u = S.get_prediction("no-such-prediction")
    S.expect("GET of an unknown id answers 404", u.status, 404, str(u))
    S.expect("GET of an unknown id: detail", u.json, {"detail": "Not Found"})

    # --- Throttle 0 (< 0.1): no start webhook. ---
    S.stop(front.proc)
    S.forget(front.proc)
    front = S.setup("async-iter", env={"COG_THROTTLE_RESPONSE_INTERVAL": "0"})
    _, hooks, _ = run_iter("/seq/t0")
    check_sequence("throttle 0", hooks, FINAL_OUT, FINAL_LOGS, expect_start=False)
    S.check("no Authorization header without WEBHOOK_AUTH_TOKEN",
            hooks and all("authorization" not in h.headers for h in hooks),
            f"got {[h.headers.get('authorization') for h in hooks]}")

    # --- Default throttle (0.5 s): fewer non-terminal webhooks, terminal always last. ---
    S.stop(front.proc)
    S.forget(front.proc)
    S.setup("async-iter")
    _, hooks, _ = run_iter("/seq/default")
    check_sequence("default throttle", hooks, FINAL_OUT, FINAL_LOGS, expect_start=True)
    nonterm = [h for h in hooks if not h.terminal]
    S.check("default throttle: fewer non-terminal webhooks than at 0.1 s",
            len(nonterm) < nonterm_fast, f"{len(nonterm)} at 0.5 s vs {nonterm_fast} at 0.1 s")
    gaps = [round(b.t - a.t, 2) for a, b in zip(nonterm, nonterm[1:])]
    S.check("default throttle: non-terminal webhooks >= ~0.5 s apart", all(gp >= 0.4 for gp in gaps),
            f"gaps {gaps}")
    S.finish()


if __name__ == "__main__":
    main()
