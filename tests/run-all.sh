#!/usr/bin/env bash
# run-all.sh - every test suite of cog-fcgi, summed into one last line "N passed, M failed".
#
# Suites: cmocka unit tests; the Python tests; every tests/integration/*.sh (conformance kit at
# the root and under a prefix, health while busy, limits, digits, CLI); the playground in a
# headless browser (tests/browser/run.sh); then the same unit tests
# and the conformance kit against the ASan+UBSan build (build-san/); then valgrind over the
# unit tests. Each suite prints its own "N passed, M failed"; those lines are shown indented
# here so that the only unindented one is the total at the end. Exits non-zero on any failure.
#
# CF_SKIP_SAN=1 / CF_SKIP_VALGRIND=1 leave those passes out (for a quick local run).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
MAKE=${MAKE:-make}
total_passed=0
total_failed=0
summary=""
LOGS=$(mktemp -d /tmp/cf-all.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
trap 'exit 130' INT TERM

# run_suite NAME COMMAND...: runs a suite, shows its output indented, adds its last
# "N passed, M failed" line to the total. No such line, or a non-zero exit with no failure
# counted, is one failure: a suite that cannot report has failed.
run_suite() {
    local name=$1 log=$LOGS/suite.log start rc last p f
    shift
    echo "== $name"
    start=$(date +%s)
    "$@" 2>&1 | tee "$log" | sed -u 's/^/  /'
    rc=${PIPESTATUS[0]}
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -n "$last" ]; then
        p=${last%% passed*}
        f=${last#*passed, }
        f=${f%% failed*}
    else
        p=0
        f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    line=$(printf '%-34s %4d passed, %d failed  (%ds)' "$name" "$p" "$f" $(($(date +%s) - start)))
    summary="$summary$line
"
    echo "== $line"
}

unit_tests() {
    $MAKE --no-print-directory "$@" unit
}

# Python's unittest speaks its own dialect: "Ran N tests" and "FAILED (failures=a, errors=b)".
python_tests() {
    local out=$LOGS/py.log n bad rc
    if [ ! -d tests/python ]; then
        echo "no tests/python"
        echo "0 passed, 0 failed"
        return 0
    fi
    timeout 600 "$PY" -m unittest discover -s tests/python >"$out" 2>&1
    rc=$?
    cat "$out"
    n=$(sed -n 's/^Ran \([0-9][0-9]*\) test.*/\1/p' "$out" | tail -n 1)
    bad=$(grep -E '^FAILED \(' "$out" | tail -n 1 | grep -oE '(failures|errors)=[0-9]+' |
          awk -F= '{ s += $2 } END { print s + 0 }')
    n=${n:-0}
    [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
    [ "$bad" -gt "$n" ] && n=$bad
    echo "$((n - bad)) passed, $bad failed"
}

# A script that reports "N passed, M failed" itself is taken at its word; otherwise its exit
# status counts as one test.
script_test() {
    local script=$1 out=$LOGS/script.log rc
    timeout 600 "$PY" "$script" >"$out" 2>&1
    rc=$?
    cat "$out"
    if ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$out"; then
        if [ $rc -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
    fi
    return $rc
}

# Sanitizer reports go to files (log_path) so that none is lost in a server's stderr; any
# report file at all is a failure.
sanitizer_reports() {
    local dir=$1 f n=0
    for f in "$dir"/*; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        echo "--- $f"
        head -n 60 "$f"
    done
    if [ $n -eq 0 ]; then
        echo "no ASan/UBSan/LSan reports"
        echo "1 passed, 0 failed"
    else
        echo "0 passed, $n failed"
    fi
}

# as_test COMMAND...: a command that only has an exit status (a build) counts as one test.
as_test() {
    if "$@"; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; return 1; fi
}

started=$(date +%s)
run_suite "build" as_test $MAKE --no-print-directory all
# make bench's own program builds too (a moved source once broke it unnoticed)
run_suite "bench build" as_test $MAKE --no-print-directory build/tests/bench_base64
run_suite "unit" unit_tests
run_suite "python" python_tests
if [ -f tests/python/worker_smoke.py ]; then
    run_suite "python worker smoke" script_test tests/python/worker_smoke.py
fi
for t in tests/integration/*.sh; do
    [ "$(basename "$t")" = lib.sh ] && continue
    run_suite "integration $(basename "$t" .sh)" timeout 900 bash "$t"
done
# The playground in headless chromium (npm ci of playwright-core and axe-core on first run).
run_suite "browser playground" timeout 300 bash tests/browser/run.sh

if [ "${CF_SKIP_SAN:-0}" != 1 ]; then
    sandir=$LOGS/san
    mkdir -p "$sandir"
    run_suite "asan+ubsan build" as_test $MAKE --no-print-directory SAN=1 all
    export ASAN_OPTIONS="log_path=$sandir/asan:detect_leaks=1:abort_on_error=0"
    export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="log_path=$sandir/ubsan:print_stacktrace=1:halt_on_error=1"
    run_suite "asan+ubsan unit" unit_tests SAN=1
    run_suite "asan+ubsan conformance" env COG_FCGI=build-san/cog-fcgi \
        timeout 900 bash tests/integration/conformance.sh --root-only
    # requests moved between threads while they wait for a slot (fcgi/runner_carry.c)
    run_suite "asan+ubsan parked" env COG_FCGI=build-san/cog-fcgi \
        timeout 300 bash tests/integration/parked.sh
    unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
    run_suite "asan+ubsan reports" sanitizer_reports "$sandir"
fi

if [ "${CF_SKIP_VALGRIND:-0}" != 1 ]; then
    # shellcheck disable=SC2046
    run_suite "valgrind unit" env CF_VALGRIND=1 sh tests/run-unit.sh $(ls build/tests/test_* 2>/dev/null)
fi

echo
printf '%s' "$summary"
echo "total time $(($(date +%s) - started))s"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
