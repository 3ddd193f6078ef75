#!/usr/bin/env bash
# demo.sh - `make demo` for every example: the build is quiet, the banner's curl lines work
# when pasted as they are, Ctrl-C stops everything, and nothing is left outside build/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

tmp_before=$(ls -d /tmp/cf-demo.* 2>/dev/null | sort)
for example in hello-world digits; do
    port=$(free_port)
    out=$T/demo.$example.out
    : >"$out"
    # As a user types it; setsid gives it its own process group, so Ctrl-C can be sent to
    # the whole group as a terminal does.
    PROJECT=examples/$example PORT=$port setsid make --no-print-directory demo >"$out" 2>&1 &
    demo=$!
    for _ in $(seq 240); do
        grep -q '^Try (checked just now' "$out" && break
        kill -0 "$demo" 2>/dev/null || break
        sleep 0.5
    done
    check "$example: the banner says the example request was answered 200, succeeded" grep -q '^Try (checked just now: HTTP 200, succeeded)' "$out"
    if grep -qE '^(cc|gcc|clang) ' "$out"; then fail "$example: the build is quiet" "$(grep -E '^(cc|gcc|clang) ' "$out" | head -n 2)"; else pass "$example: the build is quiet"; fi
    n=0
    while IFS= read -r line; do
        n=$((n + 1))
        body=$(bash -c "$line" 2>&1)
        case $line in
        *"POST"*)
            status=$(printf '%s' "$body" | json_get /status 2>/dev/null)
            check "$example: the banner's prediction line, pasted, succeeds" test "$status" = succeeded
            ;;
        *health-check*)
            status=$(printf '%s' "$body" | json_get /status 2>/dev/null)
            check "$example: the banner's health-check line, pasted, says READY" test "$status" = READY
            ;;
        *openapi.json*)
            v=$(printf '%s' "$body" | json_get /openapi 2>/dev/null)
            check "$example: the banner's openapi line, pasted, gives the schema" test "$v" = 3.0.2
            ;;
        esac
    done < <(sed -n 's/^  \(curl .*\)$/\1/p' "$out")
    check "$example: the banner has three curl lines" test "$n" = 3
    # Ctrl-C: SIGINT to the process group.
    kill -INT -- -"$demo" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$demo" 2>/dev/null; then
        fail "$example: Ctrl-C stops the demo"
        kill -KILL -- -"$demo" 2>/dev/null
    else
        pass "$example: Ctrl-C stops the demo"
    fi
    wait "$demo" 2>/dev/null
    left=$(ps -eo pid=,args= | grep -F "$ROOT/build/demo" | grep -v grep)
    if [ -z "$left" ]; then pass "$example: no process left"; else fail "$example: no process left" "$left"; fi
    if [ "$(id -u)" -eq 0 ]; then
        check "$example: as root, nothing in /var/lib/cog-fcgi" test ! -e "/var/lib/cog-fcgi/$example"
    fi
    check "$example: the state directory is under build/" test -d "$ROOT/build/demo/state"
done
tmp_after=$(ls -d /tmp/cf-demo.* 2>/dev/null | sort)
check "no /tmp/cf-demo.* directory left behind" test "$tmp_before" = "$tmp_after"
finish
