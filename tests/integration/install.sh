#!/usr/bin/env bash
# install.sh - `make install` into a DESTDIR gives a working cog-fcgi with its man page.
. "$(dirname "$0")/lib.sh"

dest=$T/dest
make -C "$ROOT" --no-print-directory install DESTDIR="$dest" PREFIX=/usr >"$T/install.log" 2>&1
check "make install DESTDIR=... PREFIX=/usr succeeds" test $? -eq 0
check "the binary is installed" test -x "$dest/usr/bin/cog-fcgi"
check "the worker is installed privately" test -x "$dest/usr/lib/cog-fcgi/cog-fcgi-worker"
check "the cog package is installed" test -f "$dest/usr/lib/cog-fcgi/python/cog/__init__.py"
check "the man page is installed" test -f "$dest/usr/share/man/man1/cog-fcgi.1"
out=$(cd "$T" && "$dest/usr/bin/cog-fcgi" predict "$ROOT/examples/hello-world" -i text=installed 2>/dev/null)
check "the installed copy runs a prediction (got: $out)" test "$out" = "hello installed"
check "--version names the version" sh -c "'$dest/usr/bin/cog-fcgi' --version | grep -q 'cog-fcgi 0.1.0'"
if command -v man >/dev/null 2>&1; then
    check "the man page renders" sh -c "MANWIDTH=80 man -l '$dest/usr/share/man/man1/cog-fcgi.1' 2>/dev/null | grep -q 'serve a Cog model'"
fi
finish
