#!/usr/bin/env bash
# cog-fixtures.sh - real Cog models load unchanged.
#
# 1. `cog-fcgi schema` gives Cog 0.15.5's /openapi.json, on Cog's own server-test fixtures
#    (read from COG_SOURCE_TREE, a replicate/cog v0.15.5 checkout; skipped without one) and
#    on tests/projects/cogmodel-* (always): cog_fixtures.py.
# 2. The schema comes from the predictor's declarations: `schema` never runs setup() nor the
#    module's import-time code, and `serve` answers /openapi.json and 422s during setup().
# shellcheck disable=SC2034  # HTTP_BODY is read by lib.sh's expect_json
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

"$PY" "$ROOT/tests/integration/cog_fixtures.py" "$COG_FCGI" "$T" >"$T/fixtures.out" 2>&1
sed '$d' "$T/fixtures.out"
last=$(tail -n 1 "$T/fixtures.out")
case $last in
    *" passed, "*" failed")
        PASSED=$((PASSED + ${last%% passed*}))
        f=${last#*passed, }
        FAILED=$((FAILED + ${f%% failed*})) ;;
    *) fail "cog_fixtures.py reports" "$last" ;;
esac

# -- schema without running the module ------------------------------------------------------
cp -r "$ROOT/tests/projects/cogmodel-slow-setup" "$T/slow"
cp -r "$ROOT/tests/projects/cogmodel-import-side-effect" "$T/side"
timeout 60 "$COG_FCGI" schema "$T/side" >"$T/side.json" 2>"$T/side.err"
check "schema of a module that fails at import time exits 0" test $? = 0
HTTP_BODY=$(cat "$T/side.json")
expect_json "that schema has the inputs" /components/schemas/Input/required '["prompt"]'
expect_json "that schema has the choices" /components/schemas/size/enum '[256, 512]'
timeout 60 "$COG_FCGI" schema "$T/slow" >"$T/slow.json" 2>"$T/slow.err"
check "schema of a slow setup exits 0" test $? = 0
check "schema does not run setup()" test ! -e "$T/slow/setup-ran"

# -- serve: the early schema frame ------------------------------------------------------------
port=$(free_port)
start_front "$T/slow" "$T/slow.sock"
start_nginx "$T/nginx" "$port" "$T/slow.sock"
# the worker's schema frame arrives within moments; setup() then sleeps 6 s
for i in $(seq 50); do
    http GET "$BASE/openapi.json"
    [ "$HTTP_CODE" = 200 ] && break
    sleep 0.1
done
health=$(curl -s "$BASE/health-check" | json_get /status)
expect_code "/openapi.json answered during setup()" 200
expect_json "  with the inputs" /components/schemas/Input/properties/n/maximum 10.0
check "  while health-check says STARTING" test "$health" = STARTING
http POST "$BASE/predictions" '{"input": {"n": 0}}'
health=$(curl -s "$BASE/health-check" | json_get /status)
expect_code "an invalid input gets its 422 during setup()" 422
expect_json "  in Cog's words" /detail/0/msg "ensure this value is greater than or equal to 1"
check "  still during setup" test "$health" = STARTING
http POST "$BASE/predictions" '{"input": {"n": 3}}'
expect_code "a valid input made during setup() waits for it" 200
expect_json "  and runs" /output 6
check "setup() ran in serve" test -e "$T/slow/setup-ran"
stop_nginx
stop_front

# a module that fails at import time: schema served, setup failed
start_front "$T/side" "$T/side.sock"
start_nginx "$T/nginx2" "$(free_port)" "$T/side.sock"
for i in $(seq 100); do
    s=$(curl -s "$BASE/health-check" | json_get /status)
    [ "$s" = SETUP_FAILED ] && break
    sleep 0.1
done
check "a module failing at import time: SETUP_FAILED" test "$s" = SETUP_FAILED
http GET "$BASE/openapi.json"
expect_code "  and /openapi.json is still served" 200
expect_json "  with its inputs" /components/schemas/Input/required '["prompt"]'
stop_nginx
stop_front
finish
