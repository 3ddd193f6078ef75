#!/usr/bin/env bash
# stream.sh - predictions as event streams through nginx: Cog 0.22's SSE (latency per event,
# re-attach with replay, truncated replay, cancel on hang-up, keep-alive, non-iterator models,
# SSE over respond-async, 406 on /trainings, x-cog-streaming), Replicate's urls and stream URL
# read by a parser written to the replicate library's documented behaviour (Last-Event-ID
# resume, error), Prefer: wait (with Cancel-After), outputs growing in polls and webhooks, and
# kill -9 with 20 streams open (every record kept, replayable, finished once).
#
# The driver is tests/integration/stream_suite.py (standard-library Python, the scenarios in
# stream_client.py); it prints PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/stream_suite.py" "$@"
