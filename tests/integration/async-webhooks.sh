#!/usr/bin/env bash
# async-webhooks.sh - async predictions, polling and webhooks (sequence, throttle, filter, auth, retries) through nginx.
#
# The driver is tests/integration/async_webhooks.py (standard-library Python); it prints
# PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/async_webhooks.py" "$@"
