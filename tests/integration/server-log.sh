#!/usr/bin/env bash
# server-log.sh - what an operator sees in the server's stderr: the model's own lines with the
# prediction id (or `setup`), failures with file:line, the flood limit; the 400 page that a
# plain HTTP request to the FastCGI port gets; the start-up line and the socket checks.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

# expect_log NAME FILE REGEX: a line of FILE matches (grep -E).
expect_log() {
    if grep -qE -- "$3" "$2"; then pass "$1"; else fail "$1" "no line matching /$3/ in: $(tail -n 30 "$2")"; fi
}

proj=$T/talker
mkdir -p "$proj"
cat >"$proj/cog.yaml" <<'YAML'
predict: "predict.py:Predictor"
YAML
cat >"$proj/predict.py" <<'PY'
import sys

from cog import BasePredictor


class Predictor(BasePredictor):
    def setup(self) -> None:
        print("setup says hello", flush=True)

    def predict(self, mode: str = "ok") -> str:
        print(f"predict says {mode}", flush=True)
        if mode == "fail":
            raise ValueError("asked to fail")
        if mode == "flood":
            for _ in range(200):
                sys.stdout.write(("x" * 99 + "\n") * 1000)  # 20 MB in all
            sys.stdout.flush()
        return "done"
PY

sock=$T/cf.sock
port=$(free_port)
start_front "$proj" "$sock" || { fail "front starts"; finish; }
start_nginx "$T/nginx" "$port" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" 60 || fail "ready"

http PUT "$BASE/predictions/pred-log-ok" '{"input": {"mode": "ok"}}'
expect_code "a prediction that prints: 200" 200
http PUT "$BASE/predictions/pred-log-fail" '{"input": {"mode": "fail"}}'
expect_json "a prediction that raises: failed" /status failed
sleep 0.3
expect_log "setup()'s print is in the server's log, tagged setup" "$FRONT_LOG" 'info CF0330: \[setup\] setup says hello$'
expect_log "predict()'s print is in the server's log with the prediction id" "$FRONT_LOG" 'info CF0330: \[pred-log-ok\] predict says ok$'
expect_log "the traceback is in the server's log with the id" "$FRONT_LOG" '\[pred-log-fail\]   File ".*/talker/predict.py", line 13, in predict$'
expect_log "the failure is logged with its error and file:line" "$FRONT_LOG" "error CF0332: \[pred-log-fail\] prediction failed: ValueError: asked to fail \(at $proj/predict.py:13, in predict\)$"

before=$(wc -c <"$FRONT_LOG")
http PUT "$BASE/predictions/pred-log-flood" '{"input": {"mode": "flood"}}'
expect_json "a prediction printing 20 MB succeeds" /status succeeded
logs_len=$(printf '%s' "$HTTP_BODY" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["logs"]))')
check "its logs field keeps all 20 MB" test "$logs_len" -ge 20000000
sleep 0.3
grown=$(( $(wc -c <"$FRONT_LOG") - before ))
check "the server's log grew by less than 1 MB ($grown bytes)" test "$grown" -lt 1000000
expect_log "the rest is counted in one note" "$FRONT_LOG" 'warn CF0331: \[pred-log-flood\] [0-9]+ more bytes \([0-9]+ lines\) of model output suppressed'

# --- plain HTTP at the FastCGI port -------------------------------------------------------
out=$(curl -s -i --max-time 10 --unix-socket "$sock" http://localhost/predictions)
case $out in "HTTP/1.0 400"*) pass "curl on the unix socket: HTTP/1.0 400" ;; *) fail "curl on the unix socket: HTTP/1.0 400" "$out" ;; esac
case $out in *"This port speaks FastCGI"*"fastcgi_pass unix:$sock;"*) pass "the page says FastCGI and shows fastcgi_pass" ;; *) fail "the page says FastCGI and shows fastcgi_pass" "$out" ;; esac
curl -s -o /dev/null --max-time 10 --unix-socket "$sock" -X POST -d '{}' http://localhost/predictions
sleep 0.2
hints=$(grep -c 'CF0509' "$FRONT_LOG")
check "the hint is logged once ($hints)" test "$hints" = 1
http POST "$BASE/predictions" '{"input": {}}'
expect_code "FastCGI through nginx still works after that" 200
expect_log "start-up says FastCGI with the socket's owner, group and mode" "$FRONT_LOG" "info CF0004: serving $proj over FastCGI on unix:$sock \(owner [^,]+, group [^,]+, mode 0[0-7]{3}\)"
stop_nginx
stop_front

tport=$(free_port)
start_bg "$T/tcp.log" "$COG_FCGI" serve "$proj" --listen "127.0.0.1:$tport" --state-dir "$T/state.tcp"
wait_port "$tport" 30
code=$(curl -s -o "$T/page" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$tport/predictions")
check "curl on the TCP port: 400 (not an empty reply)" test "$code" = 400
check "the TCP page names fastcgi_pass 127.0.0.1:$tport" grep -q "fastcgi_pass 127.0.0.1:$tport;" "$T/page"
expect_log "start-up on TCP says FastCGI and not HTTP" "$T/tcp.log" "CF0004: serving $proj over FastCGI on 127.0.0.1:$tport \(TCP; not HTTP"
stop_pid "$BG_PID"

# --- the socket's directory and permissions -----------------------------------------------
deep=$T/run/cog-fcgi/deep/cog.sock
start_front "$proj" "$deep" || fail "a socket in a missing directory: front starts"
check "the missing directory is created" test -S "$deep"
expect_log "its creation is logged" "$FRONT_LOG" "CF0015: created the socket's directory $T/run/cog-fcgi/deep"
stop_front

"$COG_FCGI" serve "$proj" --listen unix:/proc/cf-no-such/dir/cog.sock --state-dir "$T/state.x" >"$T/nodir.log" 2>&1
check "an impossible socket directory: exit 1" test $? = 1
expect_log "an impossible directory is a clear error" "$T/nodir.log" "error CF0002: cannot create the socket's directory /proc/cf-no-such: .*install -d"

web_user=$(sed -n 's/^[[:space:]]*user[[:space:]]\{1,\}\([^; ]*\).*/\1/p' /etc/nginx/nginx.conf 2>/dev/null | head -n 1)
[ -n "$web_user" ] || web_user=www-data
if id "$web_user" >/dev/null 2>&1 && [ "$(id -u "$web_user")" != 0 ] && [ "$(id -un)" != "$web_user" ]; then
    web_group=$(id -gn "$web_user")
    start_front "$proj" "$T/closed.sock" --socket-mode 0600 || fail "mode 0600 front starts"
    expect_log "a socket $web_user cannot open is reported at start-up, naming its group" "$FRONT_LOG" "warn CF0016: nginx or Apache running as $web_user \(group $web_group: .*\) cannot open unix:$T/closed.sock: the socket is not writable by it: give --socket-group $web_group --socket-mode 0660"
    stop_front
    mkdir -p "$T/private" && chmod 700 "$T/private"
    start_front "$proj" "$T/private/cog.sock" --socket-mode 0666 || fail "private dir front starts"
    expect_log "a directory $web_user cannot pass is named" "$FRONT_LOG" "CF0016: .*the directory $T/private \(mode 0700\) does not let it through"
    stop_front
    start_front "$proj" "$T/open.sock" --socket-mode 0666 || fail "mode 0666 front starts"
    if grep -q CF0016 "$FRONT_LOG"; then fail "a socket $web_user can open: no warning" "$(grep CF0016 "$FRONT_LOG")"; else pass "a socket $web_user can open: no warning"; fi
    stop_front
else
    echo "note: no unprivileged web server user ($web_user) here: the permission checks are skipped"
fi

# --- setup failure ------------------------------------------------------------------------
start_front "$ROOT/tests/projects/setup-fails" "$T/sf.sock" || fail "setup-fails front starts"
for _ in $(seq 100); do grep -q CF0307 "$FRONT_LOG" && break; sleep 0.1; done
expect_log "a failed setup's print is logged" "$FRONT_LOG" 'CF0330: \[setup\] loading weights from nowhere$'
expect_log "a failed setup is logged with its error and the last frame's file:line" "$FRONT_LOG" "error CF0307: \[setup\] setup\(\) failed: RuntimeError: weights not found \(at $ROOT/tests/projects/setup-fails/predict.py:8, in setup\)$"
stop_front
mkdir -p "$T/badimport"
printf 'predict: "predict.py:Predictor"\n' >"$T/badimport/cog.yaml"
printf 'import cf_no_such_module\n' >"$T/badimport/predict.py"
start_front "$T/badimport" "$T/bi.sock" || fail "bad import front starts"
for _ in $(seq 100); do grep -q CF0307 "$FRONT_LOG" && break; sleep 0.1; done
expect_log "an import error is called that, not setup" "$FRONT_LOG" "error CF0307: \[setup\] loading the model \(importing it\) failed: ModuleNotFoundError: No module named 'cf_no_such_module' \(at $T/badimport/predict.py:1, in <module>\)$"
stop_front
finish
