#!/usr/bin/env bash
# deploy-apache-fcgid.sh - Apache mod_fcgid starts cog-fcgi itself (apache/cog-fcgi-fcgid.conf).
#
# A private Apache (mpm_event, loopback port, everything in the temp dir; as root its children
# and the processes mod_fcgid starts run as www-data) includes the shipped file with the
# binary and project paths replaced, then FcgidIdleTimeout 2 and 1 s scan intervals so that
# the idle exit is seen within seconds. Checks: no cog-fcgi before the first request;
# the first request starts one (fd 0 socket) and gets its answer; hello-world's prediction and
# 422 with the same process; it is ended after the idle timeout; the next request starts a
# new one.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary
if [ ! -x "$APACHE2" ] || [ ! -f "$APACHE_MODULES/mod_fcgid.so" ]; then
    fail "apache2 with mod_fcgid installed" "scripts/install-deps.sh (libapache2-mod-fcgid)"
    finish
fi
# mod_fcgid's processes are Apache's grandchildren: stop any left over, by pid.
trap 'kill_strays "$T"; cf_cleanup' EXIT

project=$T/hello
cp -r "$ROOT/examples/hello-world" "$project"
pre=$T/apache
mkdir -p "$pre/fcgid"
[ "$(id -u)" -eq 0 ] && chown www-data "$pre/fcgid"
port=$(free_port)

sed -e "s|/usr/local/bin/cog-fcgi|$COG_FCGI|g" -e "s|/srv/models/hello|$project|g" \
    "$ROOT/apache/cog-fcgi-fcgid.conf" >"$pre/cog-fcgi-fcgid.conf"
cat >"$pre/site.conf" <<CONF
# Test-only: mod_fcgid's sockets and process table inside the temp dir.
FcgidIPCDir $pre/fcgid
FcgidProcessTableFile $pre/fcgid/shm
Include $pre/cog-fcgi-fcgid.conf
# Test-only, after the shipped values (the last one counts): an idle exit within seconds.
FcgidIdleTimeout 2
FcgidIdleScanInterval 1
FcgidErrorScanInterval 1
FcgidZombieScanInterval 1
CONF
apache_render "$pre" "$port" event "$pre/site.conf" authz_core mime fcgid
if ! apache_run "$pre" "$port"; then
    fail "apache2 starts with apache/cog-fcgi-fcgid.conf"
    finish
fi
pass "apache2 starts with apache/cog-fcgi-fcgid.conf"
base=http://127.0.0.1:$port

# The cog-fcgi front processes serving our project (not their workers): listing by pid only.
fronts() {
    pgrep -f -- "^$COG_FCGI serve $project" | tr '\n' ' ' | sed 's/ $//'
}
check "no cog-fcgi before the first request" [ -z "$(fronts)" ]
check "first request: mod_fcgid starts cog-fcgi, model READY" wait_ready "$base" 30
first=$(fronts)
check "one cog-fcgi process (pid ${first:-none})" [ "$(echo "$first" | wc -w)" -eq 1 ]
user_ok() {
    [ "$(id -u)" -ne 0 ] || [ "$(stat -c %U "/proc/$first")" = www-data ]
}
check "it runs as Apache's user, not root" user_ok
fd0_socket() {
    readlink "/proc/$first/fd/0" 2>/dev/null | grep -q '^socket:'
}
check "its fd 0 is the listening socket mod_fcgid made" fd0_socket
check_hello "apache fcgid" "$base"
check "the same process answered (no respawn per request)" [ "$(fronts)" = "$first" ]

# Idle exit: FcgidIdleTimeout 2 s, scanned every second.
gone=0
start=$(date +%s%N)
for _ in $(seq 150); do
    if [ -z "$(fronts)" ]; then gone=1; break; fi
    sleep 0.1
done
ms=$((($(date +%s%N) - start) / 1000000))
check "idle cog-fcgi ended by mod_fcgid after FcgidIdleTimeout (${ms} ms after the last request)" [ $gone -eq 1 ]
http POST "$base/predictions" '{"input": {"text": "again"}}'
expect_code "after the idle exit, a new request starts a new process: 200" 200
expect_json "after the idle exit: output" /output "hello again"
second=$(fronts)
new_process() {
    [ -n "$second" ] && [ "$second" != "$first" ]
}
check "a new process (pid ${second:-none})" new_process
if [ "$FAILED" -ne 0 ]; then
    echo "--- Apache error log"
    tail -n 30 "$pre/logs/error.log"
fi
stop_pid "$APACHE_PID"
forget_pid "$APACHE_PID"
sleep 0.5
check "stopping Apache stops its cog-fcgi" [ -z "$(fronts)" ]
finish
