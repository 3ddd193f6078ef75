#!/bin/sh
# run.sh - runs libFuzzer targets for a bounded time each: one line per target, then "N passed, M failed".
#
# Usage: sh fuzz/run.sh SECONDS TARGET...   (after `make fuzz-build`; TARGET is "body" for
# build-fuzz/fuzz_body). Each run starts from fuzz/corpus/TARGET/ (seeds, never written) and
# build-fuzz/corpus/TARGET/ (what earlier runs found, kept between runs); a crash, leak, UBSan
# report or timeout fails the target, its input is left in build-fuzz/crashes/ and the end of
# the log is shown. Exits non-zero when any target failed.
set -u
cd "$(dirname "$0")/.." || exit 1
seconds=$1
shift
build=build-fuzz
passed=0
failed=0
for t in "$@"; do
    bin=$build/fuzz_$t
    log=$build/fuzz_$t.log
    mkdir -p "$build/corpus/$t" "$build/crashes"
    if [ ! -x "$bin" ]; then
        echo "FAIL fuzz_$t: $bin not built"
        failed=$((failed + 1))
        continue
    fi
    # libyaml's scanner is quadratic in flow nesting ("[[[[..."): 60 KB of it takes 16 s under
    # ASan, which would trip -timeout. Real cog.yaml files are a few hundred bytes.
    max_len=65536
    [ "$t" = cogyaml ] && max_len=8192
    dict=""
    [ -f "fuzz/dict/$t.dict" ] && dict="-dict=fuzz/dict/$t.dict"
    # The corpus dirs are positional; libFuzzer writes new inputs to the first one only.
    # shellcheck disable=SC2086
    timeout $((seconds + 120)) "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=$max_len -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" $dict \
        "$build/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        echo "PASS fuzz_$t: ${runs:-?} runs in ${seconds}s, corpus $(ls "$build/corpus/$t" | wc -l) new + $(ls "fuzz/corpus/$t" 2>/dev/null | wc -l) seeds"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz_$t: exit $rc after ${runs:-?} runs (log $log)"
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9]' "$log" | head -n 30 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
