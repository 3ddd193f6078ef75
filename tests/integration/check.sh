#!/usr/bin/env bash
# check.sh - `cog-fcgi check PROJECT_DIR`: the report, its --json form and the exit status for
# projects that would run on this host and for each kind of problem (tests/projects/check-*).
#
# This machine has no NVIDIA GPU and Debian's torch is a CPU-only build: the gpu project is
# expected to fail with the "no NVIDIA driver" error (a GPU host would need its own run).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

P=$ROOT/tests/projects

# run_check [ARGS...]: runs `cog-fcgi check` (with the variables in CHECK_ENV), sets RC, OUT
# (stdout file) and ERR.
N=0
CHECK_ENV=()
run_check() {
    N=$((N + 1))
    OUT=$T/check.$N.out
    ERR=$T/check.$N.err
    env "${CHECK_ENV[@]}" timeout 90 "$COG_FCGI" check "$@" >"$OUT" 2>"$ERR"
    RC=$?
}

# expect_rc NAME WANT: the last run's exit status.
expect_rc() {
    if [ "$RC" -eq "$2" ]; then pass "$1"; else fail "$1" "exit $RC, expected $2; output: $(head -c 1500 "$OUT")"; fi
}

# expect_line NAME REGEX: a line of the last text report matches (grep -E).
expect_line() {
    if grep -qE -- "$2" "$OUT"; then pass "$1"; else fail "$1" "no line matching /$2/ in: $(cat "$OUT")"; fi
}

# expect_status NAME CHECK_NAME STATUS: in the last --json report, the check named CHECK_NAME
# has STATUS (every check of that name when there are several).
expect_status() {
    local got
    got=$("$PY" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(",".join(sorted({c["status"] for c in doc["checks"] if c["name"] == sys.argv[2]})))
' "$OUT" "$2" 2>&1)
    if [ "$got" = "$3" ]; then pass "$1"; else fail "$1" "status of \"$2\" is \"$got\", expected \"$3\""; fi
}

# expect_json_ok NAME true|false: --json output parses and "ok" is that.
expect_json_ok() {
    local got
    got=$("$PY" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert isinstance(doc["checks"], list) and doc["checks"]
for c in doc["checks"]:
    assert set(c) == {"name", "status", "detail", "fix"}, c
    assert c["status"] in ("ok", "warn", "error"), c
print("true" if doc["ok"] else "false")
' "$OUT" 2>&1)
    if [ "$got" = "$2" ]; then pass "$1"; else fail "$1" "ok is \"$got\", expected $2"; fi
}

# --- projects that would run here ---------------------------------------------------------
run_check "$ROOT/examples/hello-world"
expect_rc "hello-world passes (exit 0)" 0
expect_line "hello-world: python_version ok" '^ok +python_version: '
expect_line "hello-world: summary says ready" '^[0-9]+ ok, [0-9]+ warnings?, 0 errors: ready to serve$'

run_check "$P/check-ok"
expect_rc "Debian's packages satisfy python_packages (exit 0)" 0
expect_line "numpy>=1.0 is ok" '^ok +package numpy: [0-9.]+ satisfies >=1.0'
expect_line "~= is ok" '^ok +package scikit_learn: .* satisfies ~=1.2'
expect_line "extras and a range are ok" '^ok +package PyYAML: .* satisfies >=5,<100'
expect_line "a false marker skips the package" '^ok +package cf-not-needed: not needed here'
expect_line "system package python3 is ok" '^ok +system package python3: .* is installed'

run_check "$P/check-ok" --json
expect_rc "--json: exit 0 when ok" 0
expect_json_ok "--json parses, ok is true" true
expect_status "--json: numpy ok" "package numpy" ok
expect_status "--json: system package ok" "system package python3" ok
python_version=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"]["version"])' "$OUT" 2>&1)
check "--json: python.version is the interpreter's" test "$python_version" = "$("$PY" -c 'import platform; print(platform.python_version())')"

run_check "$P/check-requirements"
expect_rc "a satisfied requirements.txt passes (exit 0)" 0
expect_line "requirements.txt: a continued line is read" '^ok +package numpy: .* satisfies >=1.0,!=0.5 \(requirements.txt:4\)'
expect_line "requirements.txt: pip options only warn" '^warn +python_requirements: requirements.txt:2: .*pip option'
expect_line "requirements.txt: a win32 marker skips" '^ok +package cf-windows-only: not needed here'

# A virtualenv: its bin/python is the interpreter (a link to Debian's stands in for one).
mkdir -p "$T/venv/bin"
ln -s /usr/bin/python3 "$T/venv/bin/python"
run_check "$P/check-ok" --venv "$T/venv" --json
expect_rc "--venv: exit 0" 0
interp=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["interpreter"])' "$OUT" 2>&1)
check "--venv: the venv's python is used" test "$interp" = "$T/venv/bin/python"

# --- one problem each ---------------------------------------------------------------------
run_check "$P/check-bad-key"
expect_rc "bad cog.yaml key: exit 1" 1
expect_line "bad cog.yaml key: error names file:line and the key" '^error +cog.yaml: .*check-bad-key/cog.yaml:[0-9]+: unknown key "buidl"'
run_check "$P/check-bad-key" --json
expect_json_ok "bad cog.yaml key: --json ok is false" false
expect_status "bad cog.yaml key: --json status" cog.yaml error

run_check "$P/check-python-version"
expect_rc "python_version 3.9: a warning, as in serve (exit 0)" 0
expect_line "python_version 3.9: warn" '^warn +python_version: cog.yaml asks for Python 3.9'
expect_line "python_version 3.9: a fix is given" '^ +fix: .*python_version'
run_check "$P/check-python-version" --json
expect_status "python_version 3.9: --json status" python_version warn

run_check "$P/check-missing"
expect_rc "missing package: exit 1" 1
expect_line "missing package: error" '^error +package cf-no-such-package: not installed'
expect_line "missing package: pip/apt fix" "^ +fix: .*(pip install 'cf-no-such-package==1.0'|apt-get install python3-cf-no-such-package)"
expect_line "missing package: the others are still ok" '^ok +package numpy:'
run_check "$P/check-missing" --json
expect_json_ok "missing package: --json ok is false" false
expect_status "missing package: --json status" "package cf-no-such-package" error
expect_status "missing package: --json numpy ok" "package numpy" ok

run_check "$P/check-wrong-version"
expect_rc "numpy==0.1: exit 1" 1
expect_line "numpy==0.1: error names both versions" '^error +package numpy: [0-9.]+ is installed but python_packages asks for ==0.1'
run_check "$P/check-wrong-version" --json
expect_status "numpy==0.1: --json status" "package numpy" error

run_check "$P/check-system-missing"
expect_rc "missing system package: exit 1" 1
expect_line "missing system package: error" '^error +system package cf-no-such-deb: not installed'
expect_line "missing system package: apt-get fix" '^ +fix: apt-get install cf-no-such-deb'
run_check "$P/check-system-missing" --json
expect_status "missing system package: --json status" "system package cf-no-such-deb" error
expect_status "missing system package: python3 still ok" "system package python3" ok

run_check "$P/check-requirements-missing"
expect_rc "requirements.txt with a missing package: exit 1" 1
expect_line "requirements.txt missing: error with file:line" '^error +package cf-no-such-package: not installed \(requirements.txt:2\)'
run_check "$P/check-requirements-missing" --json
expect_status "requirements.txt missing: --json status" "package cf-no-such-package" error

# No GPU on this machine: gpu: true must fail and say why.
if command -v nvidia-smi >/dev/null 2>&1; then
    echo "note: nvidia-smi present; the gpu project's outcome depends on this host"
    run_check "$P/check-gpu" --json
    "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT"
    check "gpu: --json parses on a GPU host" test $? = 0
else
    run_check "$P/check-gpu"
    expect_rc "gpu: true without a GPU: exit 1" 1
    expect_line "gpu: error explains there is no driver" '^error +gpu: build.gpu is true but this host has no NVIDIA driver'
    expect_line "gpu: fix suggests the driver or gpu: false" '^ +fix: install the NVIDIA driver.*build.gpu: false'
    run_check "$P/check-gpu" --json
    expect_json_ok "gpu: --json ok is false" false
    expect_status "gpu: --json status" gpu error
    has_torch=$("$PY" -c 'import json,sys; print("torch" in json.load(open(sys.argv[1]))["python"])' "$OUT" 2>&1)
    check "gpu: --json python has the torch probe" test "$has_torch" = True
fi

# A GPU host, simulated: a stand-in nvidia-smi (driver 535, CUDA 12.2) on PATH and a stand-in
# torch module on PYTHONPATH (the probe honours it as the worker does).
mkdir -p "$T/fakebin" "$T/fakepy/torch"
cat >"$T/fakebin/nvidia-smi" <<'EOF_SMI'
#!/bin/sh
if [ -n "${FAKE_SMI_FAIL:-}" ]; then
    echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    exit 9
fi
case "${1:-}" in
--query-gpu=*) echo "535.104.05, NVIDIA H100 80GB HBM3" ;;
*) echo "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |" ;;
esac
EOF_SMI
chmod +x "$T/fakebin/nvidia-smi"
cat >"$T/fakepy/torch/__init__.py" <<'EOF_TORCH'
import os
__version__ = "2.3.0+cu121"
class version:
    cuda = os.environ.get("FAKE_TORCH_CUDA", "12.1")
class cuda:
    is_available = staticmethod(lambda: os.environ.get("FAKE_TORCH_AVAILABLE", "1") == "1")
    device_count = staticmethod(lambda: 1)
    get_device_name = staticmethod(lambda i: "NVIDIA H100 80GB HBM3")
EOF_TORCH
CHECK_ENV=(PATH="$T/fakebin:$PATH" PYTHONPATH="$T/fakepy")
run_check "$P/check-gpu"
expect_rc "simulated GPU host, torch cu121 on a 12.2 driver: exit 0" 0
expect_line "simulated GPU: nvidia-smi's GPU and CUDA version" '^ok +gpu: 1 GPU .*NVIDIA H100.*driver supports CUDA 12.2'
expect_line "simulated GPU: torch sees the device" '^ok +torch cuda: torch 2.3.0\+cu121 \(CUDA 12.1\) sees 1 device'
export FAKE_TORCH_CUDA=12.4
run_check "$P/check-gpu"
expect_rc "torch built for a newer CUDA than the driver: exit 1" 1
expect_line "torch too new: error names both CUDA versions" '^error +torch cuda: .*built for CUDA 12.4 but the driver supports CUDA 12.2'
expect_line "torch too new: fix names the driver's CUDA" '^ +fix: install a torch built for CUDA 12.2 or older'
unset FAKE_TORCH_CUDA
export FAKE_TORCH_AVAILABLE=0
run_check "$P/check-gpu" --json
expect_rc "torch.cuda.is_available() False: exit 1" 1
expect_status "torch.cuda.is_available() False: --json status" "torch cuda" error
unset FAKE_TORCH_AVAILABLE
export FAKE_SMI_FAIL=1
run_check "$P/check-gpu"
expect_rc "nvidia-smi failing: exit 1" 1
expect_line "nvidia-smi failing: its message is shown" "^error +gpu: build.gpu is true but nvidia-smi fails: NVIDIA-SMI has failed"
unset FAKE_SMI_FAIL
CHECK_ENV=()

# --- the model's source, read without importing it ------------------------------------------
# new_project NAME: a project dir T/NAME with cog.yaml; predict.py from stdin.
new_project() {
    mkdir -p "$T/$1"
    printf 'predict: "predict.py:Predictor"\n' >"$T/$1/cog.yaml"
    cat >"$T/$1/predict.py"
}
new_project syntax <<'PY'
from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, text: str) -> str:
        out = "hello " + text
            return out
PY
run_check "$T/syntax"
expect_rc "an IndentationError: exit 1" 1
expect_line "an IndentationError is found with its file and line" '^error +syntax: predict.py:7: IndentationError: unexpected indent \(` +return out`\)'
expect_line "... and the fix names the line" '^ +fix: correct predict.py line 7'
if grep -q 'ready to serve' "$OUT"; then fail "a broken predict.py is not ready to serve"; else pass "a broken predict.py is not ready to serve"; fi
run_check "$T/syntax" --json
expect_status "an IndentationError: --json status" syntax error

# A module that downloads at import time, imports a missing package and runs a missing
# program: check says so without importing it (the marker file shows nothing ran).
new_project imports <<PY
import subprocess
import cf_no_such_module
from cog import BasePredictor

open("$T/imported", "w").write("ran")
VERSION = subprocess.check_output(["cf-no-such-tool", "--version"])
try:
    import cf_optional_module
except ImportError:
    cf_optional_module = None


class Predictor(BasePredictor):
    def setup(self) -> None:
        subprocess.run(["cf-setup-tool", "--fetch-weights"], check=True)
        subprocess.run(["ls", "/"], check=True)

    def predict(self, text: str) -> str:
        return text
PY
run_check "$T/imports"
expect_rc "a missing import and missing programs: exit 1" 1
expect_line "an import error is called that, with file:line" "^error +import: predict.py:2, at import time, imports cf_no_such_module, which is not installed .*: loading the model \(its import\) will fail"
expect_line "an import in try/except ImportError only warns" '^warn +import: predict.py:8, at import time, imports cf_optional_module inside try/except'
expect_line "a missing program at import time: setup will lack it" '^error +program cf-no-such-tool: predict.py:6, at import time, runs cf-no-such-tool, which is not on PATH here: .*setup will lack cf-no-such-tool'
expect_line "a missing program in setup(): named with its line" '^error +program cf-setup-tool: setup\(\) at predict.py:15 runs cf-setup-tool, which is not on PATH'
expect_line "a program that is there: ok with its path" '^ok +program ls: /(usr/)?bin/ls'
check "check imported nothing (the module's code never ran)" test ! -e "$T/imported"
run_check "$T/imports" --json
expect_status "missing program: --json status" "program cf-no-such-tool" error

# A virtualenv made by another Python (pyenv, conda): it passes the version check, then runs
# under Debian's Python. A stand-in: pyvenv.cfg naming another home.
mkdir -p "$T/othervenv/bin"
ln -s /usr/bin/python3 "$T/othervenv/bin/python"
printf 'home = /opt/cf-other-python/bin\ninclude-system-site-packages = false\nversion = 3.11.9\n' >"$T/othervenv/pyvenv.cfg"
run_check "$P/check-ok" --venv "$T/othervenv"
expect_line "a venv made by another Python: warned" "^warn +venv: $T/othervenv was made by the Python in /opt/cf-other-python/bin, version 3.11.9, but the worker embeds Debian's Python"
expect_line "... with the command that makes a right one" "^ +fix: .*/usr/bin/python3 -m venv --system-site-packages $T/othervenv"
"$PY" -m venv --system-site-packages --without-pip "$T/goodvenv" >/dev/null 2>&1
run_check "$P/check-ok" --venv "$T/goodvenv"
expect_line "a venv made by /usr/bin/python3: ok" "^ok +venv: $T/goodvenv was made by /usr/bin's Python"

# --- usage and odd arguments --------------------------------------------------------------
OUT=$T/check.cwd.out
(cd "$ROOT/examples/hello-world" && timeout 90 "$COG_FCGI" check >"$OUT" 2>&1)
RC=$?
expect_rc "no PROJECT_DIR: the current directory is checked (exit 0)" 0
expect_line "no PROJECT_DIR: the report names it" "^cog-fcgi check $ROOT/examples/hello-world$"
run_check "$P/check-ok" --bogus
expect_rc "unknown option: exit 2" 2
run_check "$P/check-ok" extra-argument
expect_rc "two projects: exit 2" 2
run_check --help
expect_rc "--help: exit 0" 0
run_check "$T/no-such-project"
expect_rc "missing project directory: exit 1" 1
run_check "$P/check-ok" --venv "$T/no-such-venv"
expect_rc "--venv without bin/python: exit 1" 1
expect_line "--venv without bin/python: error" '^error +python: virtualenv .*no-such-venv has no bin/python'
# An interpreter that does not answer with JSON is an error, and nothing is taken as installed.
mkdir -p "$T/badvenv/bin"
printf '#!/bin/sh\necho not json\n' >"$T/badvenv/bin/python"
chmod +x "$T/badvenv/bin/python"
run_check "$P/check-ok" --venv "$T/badvenv"
expect_rc "an interpreter that prints garbage: exit 1" 1
expect_line "an interpreter that prints garbage: error" '^error +python: .*badvenv/bin/python did not answer'
expect_line "an interpreter that prints garbage: packages unchecked" '^error +python_packages: 4 requirements not checked'
timeout 30 "$COG_FCGI" --help >"$T/help" 2>&1
check "--help lists check" grep -q 'cog-fcgi check \[PROJECT_DIR\]' "$T/help"

finish
