#!/usr/bin/env bash
# files_large.sh - a 50 MiB file output two ways, through a real nginx: as a data URI in the
# JSON answer (the default) and with --files-dir (the answer holds a /files/ URL; nginx sends
# the file by X-Accel-Redirect). Prints, for each, the prediction's time, the time to fetch the
# output (decoded by Python, or downloaded from nginx) and the front's peak RSS (VmHWM) before and after. The input is a URL nginx serves
# from its own static files, the same for both; a third row sends it by curl -F instead. Called by tests/bench/run.sh; runs alone too.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
need_binary
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR" "$T/files" "$T/static"
chmod 755 "$T/files" "$T/static"
head -c $((50 << 20)) /dev/urandom >"$T/static/big.bin"
hwm_kb() { awk '/^VmHWM:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }
project=$ROOT/tests/projects/copyfile
run_one() { # run_one LABEL [FLAGS...]
    local label=$1 sock=$T/$RANDOM.sock before after t0 t1 t2 out
    shift
    start_front "$project" "$sock" "$@" || { fail "cog-fcgi starts ($label)"; return; }
    CF_NGINX_FILES_DIR=$T/files CF_NGINX_STATIC=$T/static start_nginx "$T/nginx.$RANDOM" "$(free_port)" "$sock" ||
        { fail "nginx starts ($label)"; return; }
    wait_ready "$BASE" || { fail "READY ($label)"; return; }
    before=$(hwm_kb "$FRONT_PID")
    t0=$(date +%s.%N)
    if [ "${FORM_INPUT:-0}" = 1 ]; then
        curl -s -o "$T/answer.json" -F "source=@$T/static/big.bin" "$BASE/predictions"
    else
        curl -s -o "$T/answer.json" -H 'Content-Type: application/json' \
            --data-binary "{\"input\":{\"source\":\"$BASE/static/big.bin\"}}" "$BASE/predictions"
    fi
    t1=$(date +%s.%N)
    out=$(json_get /output <"$T/answer.json")
    case $out in
        data:*) "$PY" -c 'import base64, json, sys
u = json.load(open(sys.argv[1]))["output"]
open(sys.argv[2], "wb").write(base64.b64decode(u[u.index(",") + 1:]))' "$T/answer.json" "$T/out.bin"
            t2=$(date +%s.%N) ;;
        *) curl -s -o "$T/out.bin" "$BASE$out"; t2=$(date +%s.%N) ;;
    esac
    after=$(hwm_kb "$FRONT_PID")
    check "$label: the 50 MiB output arrives intact" cmp -s "$T/static/big.bin" "$T/out.bin"
    printf '%-28s answer %6.1f MB in %5.2f s, output in hand in %5.2f s, front VmHWM %s -> %s MB\n' \
        "$label" "$(awk -v b="$(stat -c %s "$T/answer.json")" 'BEGIN { print b / 1e6 }')" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" \
        "$(awk -v k="$before" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "$(awk -v k="$after" 'BEGIN { printf "%.1f", k / 1024 }')"
    stop_nginx
    stop_front
}
echo "50 MiB file output (tests/projects/copyfile, input by URL from nginx):"
run_one "data URI (default)"
run_one "--files-dir (X-Accel)" --files-dir "$T/files" --files-url /files/
echo "50 MiB file input by curl -F (multipart/form-data, spooled to disk), output by --files-dir:"
FORM_INPUT=1 run_one "-F in, --files-dir out" --files-dir "$T/files" --files-url /files/
finish
