#!/usr/bin/env bash
# cog-fixtures.sh - `cog-fcgi schema` gives Cog 0.15.5's /openapi.json, on Cog's own server-test
# fixtures (read from COG_SOURCE_TREE, skipped without one) and on tests/projects/cogmodel-*.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
"$PY" "$ROOT/tests/integration/cog_fixtures.py" "$COG_FCGI" "$T"
