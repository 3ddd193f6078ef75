#!/usr/bin/env bash
# options.sh - every numeric, duration and size option is checked: a bad value ends `cog-fcgi serve`
# with status 2 and a message naming the option (nothing is silently read as 0), good ones start it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
P=$ROOT/tests/projects/noop

# rejects NAME ENV... -- ARGS...: `serve` with ARGS exits 2 before listening, and stderr names NAME.
rejects() {
    local name=$1 rc
    shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    rm -f "$T/never.sock"
    env "${envs[@]}" timeout 20 "$COG_FCGI" serve "$P" --listen "unix:$T/never.sock" \
        --state-dir "$T/state" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$name" "$T/err" && [ ! -e "$T/never.sock" ]; then
        pass "$* ${envs[*]}: exit 2 naming $name ($(head -c 120 "$T/err"))"
    else
        fail "$* ${envs[*]}: exit 2 naming $name" "exit $rc, stderr: $(head -c 300 "$T/err")"
    fi
}

rejects --queue -- --queue x
rejects --queue -- --queue -1
rejects --queue -- --queue 1e3
rejects --queue -- --queue=
rejects --threads -- --threads -1
rejects --threads -- --threads 1
rejects --threads -- --threads 8x
rejects --max-body -- --max-body 10Q
rejects --max-body -- --max-body -5M
rejects --predict-timeout -- --predict-timeout abc
rejects --predict-timeout -- --predict-timeout inf
rejects --setup-timeout -- --setup-timeout 5d
rejects --cancel-grace -- --cancel-grace ""
rejects --shutdown-grace -- --shutdown-grace 1,5
rejects --keep-finished -- --keep-finished -1
rejects --worker-memory -- --worker-memory 1X
rejects --fetch-max-bytes -- --fetch-max-bytes lots
rejects --fetch-timeout -- --fetch-timeout 0x10
rejects --webhook-timeout -- --webhook-timeout 0
rejects --webhook-workers -- --webhook-workers 0
rejects --webhook-workers -- --webhook-workers 65
rejects --webhook-secret -- --webhook-secret plaintext
rejects --webhook-secret -- --webhook-secret 'whsec_not*base64'
rejects COG_FCGI_WEBHOOK_SECRET COG_FCGI_WEBHOOK_SECRET=nope --
rejects --socket-mode -- --socket-mode 0999
rejects --log-level -- --log-level loud
rejects COG_SETUP_TIMEOUT COG_SETUP_TIMEOUT=soon --
rejects COG_THROTTLE_RESPONSE_INTERVAL COG_THROTTLE_RESPONSE_INTERVAL=-1 --

# The other subcommands take no numbers; an option they do not know is an error too.
for cmd in predict check; do
    timeout 20 "$COG_FCGI" $cmd "$P" --queue 5 >"$T/out" 2>"$T/err"
    rc=$?
    check "$cmd --queue 5: exit 2 (not an option of $cmd)" test $rc = 2
done

# Good values, units included, start the server.
if start_front "$P" "$T/ok.sock" --queue 0 --threads 4 --max-body 10M --predict-timeout 1m \
    --setup-timeout 90s --cancel-grace 500ms --shutdown-grace 0.5 --keep-finished 1h \
    --worker-memory 2G --fetch-max-bytes 1.5k --fetch-timeout 30 --webhook-timeout 12.5s \
    --webhook-workers 2 --webhook-secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --socket-mode 660 \
    --log-level info; then
    pass "serve starts with a good value for every option (units ms, s, m, h, k, M, G)"
else
    fail "serve starts with a good value for every option"
fi
stop_front
finish
