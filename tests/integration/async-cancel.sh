#!/usr/bin/env bash
# async-cancel.sh - cancel (cooperative, stubborn, queued), Cancel-After, --predict-timeout and client hang-up through nginx.
#
# The driver is tests/integration/async_cancel.py (standard-library Python); it prints
# PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/async_cancel.py" "$@"
