#!/usr/bin/env bash
# async-crash.sh - worker segfault, os._exit, SIGKILL, crash loop (DEFUNCT) and failed setup: health answers throughout, the server recovers.
#
# The driver is tests/integration/async_crash.py (standard-library Python); it prints
# PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/async_crash.py" "$@"
