#!/usr/bin/env bash
# run.sh - the playground in a real browser, through a real nginx: Debian's chromium driven
# headless by playwright-core, axe-core for accessibility (both from npm, installed here into
# tests/browser/node_modules by `npm ci` from the committed lock file; no browser download).
#
# Serves examples/digits at / and (a second nginx on the same socket) under /models/digits/,
# tests/projects/slow, tests/browser/projects/progress and .../kitchen (every kind of input)
# and .../media (file outputs); tests/browser/playground.mjs does
# the clicking. Screenshots of each step: build/browser-artifacts/ (BROWSER_ARTIFACTS=DIR).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
need_binary

HERE=$ROOT/tests/browser
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
for tool in "$CHROMIUM" node npm; do
    command -v "$tool" >/dev/null || { fail "$tool is installed" "run scripts/install-deps.sh"; finish; }
done
# npm ci when a package is missing or the lock file is newer than the last install.
if [ ! -f "$HERE/node_modules/playwright-core/package.json" ] ||
    [ ! -f "$HERE/node_modules/axe-core/axe.min.js" ] ||
    [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
        { fail "npm ci in tests/browser" "$(tail -n 3 "$T/npm.log")"; finish; }
fi

ART=${BROWSER_ARTIFACTS:-$ROOT/build/browser-artifacts}
rm -rf "$ART" && mkdir -p "$ART"

digits_sock=$T/digits.sock slow_sock=$T/slow.sock prog_sock=$T/prog.sock kitchen_sock=$T/kitchen.sock media_sock=$T/media.sock
start_front "$ROOT/examples/digits" "$digits_sock" || { fail "digits front starts"; finish; }
start_front "$ROOT/tests/projects/slow" "$slow_sock" || { fail "slow front starts"; finish; }
start_front "$HERE/projects/progress" "$prog_sock" || { fail "progress front starts"; finish; }
start_front "$HERE/projects/kitchen" "$kitchen_sock" || { fail "kitchen front starts"; finish; }
start_front "$HERE/projects/media" "$media_sock" || { fail "media front starts"; finish; }
start_nginx "$T/nginx-digits" "$(free_port)" "$digits_sock" || { fail "nginx starts"; finish; }
DIGITS=$BASE
start_nginx "$T/nginx-prefixed" "$(free_port)" "$digits_sock" /models/digits || { fail "nginx (prefix) starts"; finish; }
DIGITS_PREFIXED=$BASE
start_nginx "$T/nginx-slow" "$(free_port)" "$slow_sock" || { fail "nginx starts"; finish; }
SLOW=$BASE
start_nginx "$T/nginx-prog" "$(free_port)" "$prog_sock" || { fail "nginx starts"; finish; }
PROGRESS=$BASE
start_nginx "$T/nginx-kitchen" "$(free_port)" "$kitchen_sock" || { fail "nginx starts"; finish; }
KITCHEN=$BASE
start_nginx "$T/nginx-media" "$(free_port)" "$media_sock" || { fail "nginx starts"; finish; }
MEDIA=$BASE
label=$("$PY" "$ROOT/tests/integration/digit_image.py" 44 "$T/digit.png") || { fail "make a digit picture"; finish; }
for b in "$SLOW" "$PROGRESS" "$KITCHEN" "$MEDIA" "$DIGITS"; do
    wait_ready "$b" 180 || { fail "$b becomes READY"; finish; }
done

out=$T/browser.log
DIGITS=$DIGITS DIGITS_PREFIXED=$DIGITS_PREFIXED SLOW=$SLOW PROGRESS=$PROGRESS KITCHEN=$KITCHEN MEDIA=$MEDIA \
    DIGIT_PNG=$T/digit.png DIGIT_LABEL=$label ART=$ART CHROMIUM=$CHROMIUM \
    AXE=$HERE/node_modules/axe-core/axe.min.js NODE_PATH=$HERE/node_modules \
    timeout 150 node "$HERE/playground.mjs" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
PASSED=$((PASSED + $(grep -c '^PASS ' "$out")))
FAILED=$((FAILED + $(grep -c '^FAIL ' "$out")))
[ "$rc" -eq 0 ] || fail "playground.mjs exits 0" "exit $rc"
echo "screenshots: $ART"
finish
