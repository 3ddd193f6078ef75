#!/usr/bin/env bash
# async-restart.sh - durable state: 50 async predictions survive kill -9 of every cog-fcgi process and a restart with the same --state-dir.
#
# The driver is tests/integration/async_restart.py (standard-library Python); it prints
# PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/async_restart.py" "$@"
