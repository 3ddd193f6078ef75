#!/usr/bin/env bash
# fuzz.sh - a short run of every libFuzzer target (`make fuzz-smoke`, 10 s each): one line per target.
#
# Builds build-fuzz/fuzz_* with clang (-fsanitize=fuzzer,address,undefined) and runs each from its
# seed corpus (fuzz/corpus/<target>/); any crash, sanitizer report or timeout fails that target
# (the input is kept in build-fuzz/crashes/). FUZZ_SECONDS=N runs each for N s instead.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
MAKE=${MAKE:-make}

log=$(mktemp /tmp/cf-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! $MAKE --no-print-directory -s fuzz-build >"$log" 2>&1; then
    echo "FAIL fuzz targets build (clang with libFuzzer: scripts/install-deps.sh)"
    tail -n 20 "$log" | sed 's/^/    /'
    echo "0 passed, 1 failed"
    exit 1
fi
exec sh fuzz/run.sh "${FUZZ_SECONDS:-10}" body validate datauri cogyaml
