#!/usr/bin/env bash
# help-man.sh - `--help`, the man page and the README agree: the same options for serve,
# predict and check; every serve option in --help with its default and in the README's
# command-line section; every option of serve's option table in --help; SIGUSR1's meaning.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

MAN=$ROOT/man/cog-fcgi.1
"$COG_FCGI" serve --help >"$T/serve.help" 2>&1
check "serve --help exits 0" test $? = 0
"$COG_FCGI" predict --help >"$T/predict.help" 2>&1
check "predict --help exits 0" test $? = 0
"$COG_FCGI" check --help >"$T/check.help" 2>&1
check "check --help exits 0" test $? = 0

# compare LABEL HELP_FILE HELP_START HELP_END MAN_SECTION: the long options named in the
# help text (between the lines matching HELP_START and HELP_END) and in the man page's
# section are the same set.
compare() {
    local label=$1 help=$2 start=$3 end=$4 section=$5 from_help from_man
    from_help=$(sed -n "/$start/,/$end/p" "$help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    from_man=$(sed -n "/^\.SH $section\$/,/^\.SH /p" "$MAN" | sed 's/\\-/-/g' |
        grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    if [ -n "$from_help" ] && [ "$from_help" = "$from_man" ]; then
        pass "$label: --help and the man page list the same $(echo "$from_help" | wc -l) options"
    else
        fail "$label: --help and the man page list the same options" \
            "only in --help: $(comm -23 <(echo "$from_help") <(echo "$from_man") | tr '\n' ' ') only in the man page: $(comm -13 <(echo "$from_help") <(echo "$from_man") | tr '\n' ' ')"
    fi
}
compare serve "$T/serve.help" '^serve options:' '^signals:' 'SERVE OPTIONS'
compare predict "$T/predict.help" '^  -i' '^exit status' 'PREDICT OPTIONS'
compare check "$T/check.help" '^  --json' '^  -h' 'CHECK OPTIONS'

# Every option in serve's getopt table (fcgi/main.c) is in --help.
table=$(grep -oE '\{"[a-z][a-z-]*", (no|required|optional)_argument' "$ROOT/fcgi/main.c" | grep -oE '"[a-z-]+"' | tr -d '"' | sort -u)
if [ -z "$table" ]; then
    echo "note: no getopt table found in fcgi/main.c; skipped"
else
    missing=""
    for o in $table; do grep -q -- "--$o" "$T/serve.help" || missing="$missing --$o"; done
    if [ -z "$missing" ]; then pass "every option serve accepts is in serve --help"; else fail "every option serve accepts is in serve --help" "missing:$missing"; fi
fi

# Every serve option's entry in --help says its default.
nodefault=$("$PY" - "$T/serve.help" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
body = text.split("serve options:", 1)[1].split("\nsignals:", 1)[0]
entries, cur = [], None
for line in body.splitlines():
    if re.match(r"^  -", line):
        cur = [line]
        entries.append(cur)
    elif cur is not None:
        cur.append(line)
for e in entries:
    para = " ".join(e)
    names = re.findall(r"--[a-z][a-z0-9-]*", e[0])
    if "--help" in names:
        continue
    if "default" not in para:
        print(" ".join(names))
PYEOF
)
if [ -z "$nodefault" ]; then pass "every serve option in --help says its default"; else fail "every serve option in --help says its default" "no default: $nodefault"; fi

# The README's command-line section names every serve option.
readme_cli=$(sed -n '/^## Command line/,/^## [^C]/p' "$ROOT/README.md")
missing=""
for o in $(sed -n '/^serve options:/,/^signals:/p' "$T/serve.help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
    case $o in --help) continue ;; esac
    printf '%s' "$readme_cli" | grep -q -- "$o" || missing="$missing $o"
done
if [ -z "$missing" ]; then pass "the README's command line section names every serve option"; else fail "the README's command line section names every serve option" "missing:$missing"; fi
for o in --json --output-json --setup-timeout --env; do
    check "the README names predict's $o" grep -q -- "$o" <(printf '%s' "$readme_cli")
done

# SIGUSR1 means the same everywhere.
check "serve --help: SIGUSR1 is only logged, nothing to reopen" grep -q 'SIGUSR1 is' "$T/serve.help"
check "man page: SIGUSR1, nothing to reopen" grep -A2 '^\.B SIGUSR1' "$MAN" | grep -q 'nothing to reopen'
check "README: SIGUSR1 is only logged, nothing to reopen" grep -q 'SIGUSR1` is only logged[^.]*nothing to reopen' <(tr '\n' ' ' <"$ROOT/README.md")
grep -q 'nothing to reopen' "$T/serve.help"
check "serve --help says nothing to reopen" test $? = 0
finish
