#!/usr/bin/env bash
# faults.sh - fault-injection loop: 100+ crashes, cancels, hang-ups, deadlines and bad requests; no front crash, no lost prediction.
#
# The driver is tests/integration/async_faults.py (standard-library Python); it prints
# PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/async_faults.py" "$@"
