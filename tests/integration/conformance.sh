#!/usr/bin/env bash
# conformance.sh - replays the conformance kit's recorded Cog exchanges against cog-fcgi behind nginx.
#
# Every case gets a fresh `cog-fcgi serve` (the kit expects a freshly started server); one
# nginx per pass forwards to the same socket path. Two passes: the model at the root location
# (nginx/cog-fcgi.conf as shipped) and under the prefix /models/hello/.
#
#   tests/integration/conformance.sh [--root-only] [CASE_NAME...]
#
# Environment: COG_FCGI (default build/cog-fcgi), CF_CONFORMANCE_DIR (the kit: default
# tests/conformance, the copy the repository carries; `make conformance-refresh` updates it).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

passes="root mount"
if [ "${1:-}" = --root-only ]; then
    passes=root
    shift
fi

kit=${CF_CONFORMANCE_DIR:-}
if [ -z "$kit" ]; then
    for d in "$ROOT/tests/conformance"; do
        if [ -x "$d/run" ] && [ -d "$d/cases" ]; then kit=$d; break; fi
    done
fi
if [ -z "$kit" ] || [ ! -d "$kit/cases" ]; then
    fail "conformance kit found" "set CF_CONFORMANCE_DIR"
    finish
fi
kit=$(cd "$kit" && pwd)
need_binary

cases=""
if [ $# -gt 0 ]; then
    for c in "$@"; do cases="$cases $kit/cases/${c%/}"; done
else
    cases=$(ls -d "$kit"/cases/*/)
fi

steps_passed=0
steps_failed=0
sock=$T/cog.sock
port=$(free_port)

for pass_name in $passes; do
    mount=""
    [ "$pass_name" = mount ] && mount=/models/hello
    if ! start_nginx "$T/nginx-$pass_name" "$port" "$sock" "$mount"; then
        fail "$pass_name: nginx starts"
        continue
    fi
    for case_dir in $cases; do
        name=$(basename "$case_dir")
        label="$pass_name/$name"
        # Serve a private copy: the kit may be read-only, and the front and Python write
        # (state, __pycache__) next to the project.
        work=$T/cases/$pass_name/$name
        mkdir -p "$(dirname "$work")"
        cp -r "$case_dir" "$work"
        project=$(timeout 30 "$PY" "$kit/run" --list "$work" 2>/dev/null | head -n 1)
        project=${project:-$work}
        # shellcheck disable=SC2046
        if ! start_front "$project" "$sock" $(mount_args "$mount"); then
            fail "$label" "cog-fcgi did not start"
            steps_failed=$((steps_failed + 1))
            continue
        fi
        log=$T/$pass_name-$name.log
        timeout 300 "$PY" "$kit/run" --timeout 60 --ready-timeout 120 "$BASE" "$work" >"$log" 2>&1
        rc=$?
        last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
        if [ -n "$last" ]; then
            p=${last%% passed*}
            f=${last#*passed, }
            f=${f%% failed*}
        else
            p=0
            f=1
        fi
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1   # a runner that died still fails
        steps_passed=$((steps_passed + p))
        steps_failed=$((steps_failed + f))
        if [ "$f" -eq 0 ]; then
            pass "$label ($p steps)"
        else
            fail "$label" "$p passed, $f failed"
            grep -v '^PASS' "$log" | head -n 40 | sed 's/^/    /'
            if ! kill -0 "$FRONT_PID" 2>/dev/null; then
                echo "    cog-fcgi died; its log:"
                tail -n 15 "$FRONT_LOG" | sed 's/^/    /'
            fi
        fi
        stop_front
    done
    stop_nginx
done

echo "conformance steps: $steps_passed passed, $steps_failed failed (cases: $PASSED passed, $FAILED failed)"
# The suite's count is the steps: that is what the kit measures.
PASSED=$steps_passed
FAILED=$steps_failed
finish
