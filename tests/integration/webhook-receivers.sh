#!/usr/bin/env bash
# webhook-receivers.sh - per-receiver webhook queues (a dead receiver delays only its own), a 12 s receiver
# delivered once, --webhook-timeout, and Standard Webhooks signatures (--webhook-secret) verified by the receiver.
#
# The driver is tests/integration/webhook_receivers.py (standard-library Python); it prints
# PASS/FAIL lines and ends with "N passed, M failed".
exec /usr/bin/python3 "$(dirname "$0")/webhook_receivers.py" "$@"
