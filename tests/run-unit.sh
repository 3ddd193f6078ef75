#!/bin/sh
# run-unit.sh - runs cmocka unit test binaries, each in its own process with a timeout.
#
#   tests/run-unit.sh BINARY...              counts cmocka's tests
#   CF_VALGRIND=1 tests/run-unit.sh BINARY... each binary under valgrind counts as one test,
#                                             passing only with no errors and no definite leaks
#
# Prints each binary's result and ends with "N passed, M failed"; exits 1 on any failure.
# A binary that crashes, hangs, or prints no cmocka summary counts as one failure.
passed=0
failed=0
log=$(mktemp /tmp/cf-unit.XXXXXX)
trap 'rm -f "$log"' EXIT
# cmocka's summary goes to stdout and stderr; keep its standard format.
unset CMOCKA_MESSAGE_OUTPUT

for bin in "$@"; do
    name=$(basename "$bin")
    if [ "${CF_VALGRIND:-0}" = 1 ]; then
        timeout 600 valgrind -q --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite \
            "$bin" >"$log" 2>&1
        rc=$?
        if [ $rc -eq 0 ]; then
            passed=$((passed + 1))
            echo "PASS valgrind $name"
        else
            failed=$((failed + 1))
            echo "FAIL valgrind $name (exit $rc)"
            grep -E '^==[0-9]+==|FAILED|ERROR' "$log" | head -n 40 | sed 's/^/    /'
        fi
        continue
    fi
    timeout 120 "$bin" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        f=1   # no summary at all: it crashed or hung before cmocka could report
    elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1   # a summary, then a crash (at exit, in a teardown, ...)
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -eq 0 ]; then
        echo "PASS $name ($p tests)"
    else
        echo "FAIL $name ($p passed, $f failed, exit $rc)"
        grep -vE '^\[ (RUN|      OK) ' "$log" | tail -n 40 | sed 's/^/    /'
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
