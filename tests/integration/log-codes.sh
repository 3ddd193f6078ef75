#!/usr/bin/env bash
# log-codes.sh - LOGCODES.md is the registry of log codes: every CFnnnn the source logs is listed,
# each logged only from the file(s) its row names (one meaning per code), at the level it says.
#
# The driver is tests/integration/log_codes.py (standard-library Python); it prints PASS/FAIL lines
# and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/log_codes.py" "$@"
