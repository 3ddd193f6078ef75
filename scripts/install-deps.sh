#!/bin/sh
# install-deps.sh - installs the Debian packages cog-fcgi needs to build and test, if missing.
#
# Idempotent and quiet when everything is there: dpkg-query decides, and apt-get runs only for
# what is missing (as root, or through sudo). nginx is only a dependency: the tests start their
# own nginx with their own config and port; a system service the package may start is left
# alone.
set -eu

# Why each package (README.md "Dependencies" says the same):
#   build-essential pkg-config      the C toolchain and the flags of the libraries below
#   libfcgi-dev                     the FastCGI protocol (the front)
#   libjansson-dev                  JSON everywhere: requests, schema, IPC frames
#   libyaml-dev                     cog.yaml
#   libcurl4-openssl-dev            URL inputs, webhooks, uploads (loaded on first use)
#   libpcre2-dev                    Input(regex=...) validation in C
#   libjemalloc-dev                 the front's malloc (fcgi/alloc.c: glibc's cost a third of its CPU)
#   python3-dev                     libpython3.11 to embed in the worker
#   libcmocka-dev                   unit tests
#   nginx-light curl wrk valgrind   integration tests, benchmark, memory checks
#   python3-torch python3-numpy python3-sklearn python3-pil   the digits example
#   python3-venv                    virtualenvs of hosted projects (tests, `check --venv`)
#   clang libclang-rt-14-dev        libFuzzer targets (make fuzz)
#   apache2-bin libapache2-mod-fcgid   the Apache deployments (no system Apache is enabled)
#   libapache2-mod-xsendfile        Apache sends --files-dir outputs (--files-sendfile) in files-dir.sh
#   spawn-fcgi systemd openssl      the spawn-fcgi, socket-activation and TLS deployments
#   procps iproute2                 pgrep and ss in the tests
#   libssl-dev                      libcrypto's headers: HMAC-SHA256 for --webhook-secret (loaded with dlopen)
#   chromium nodejs fonts-dejavu-core   the playground's browser tests (tests/browser: headless
#                                   chromium driven by playwright-core from npm), readable
#                                   screenshots; npm too, unless nodejs already brings it
#   python3-requests                the browser tests run the API tab's Python snippet
#                                   (nodejs/npm also install s3rver for tests/integration/s3.sh)
#   uwsgi-core uwsgi-plugin-python3 the benchmark's Python peer (make bench)
#   python3-pydantic                cog.BaseModel is pydantic 1's BaseModel, as in Cog (models, tests)
#   python3-fastapi python3-uvicorn python3-structlog   Cog 0.15.5's own server, to re-record
#                                   its answers (tests/data/cog-fixtures/record.py)
#   libhiredis-dev                  the Redis client of `cog-fcgi queue` (linked into the front)
#   redis-server redis-tools        tests/integration/queue.sh: a real Redis on 127.0.0.1, redis-cli
#   prometheus                      promtool check metrics on GET /metrics (pool.sh); only its
#                                   promtool is used (the package is 96 MB; no server is started by us)
PACKAGES="build-essential pkg-config libfcgi-dev libjansson-dev libyaml-dev libcurl4-openssl-dev
libcmocka-dev libpcre2-dev libjemalloc-dev python3-dev nginx-light curl wrk valgrind python3-torch python3-numpy
python3-sklearn python3-pil python3-venv clang libclang-rt-14-dev apache2-bin libapache2-mod-fcgid libapache2-mod-xsendfile
spawn-fcgi openssl systemd procps iproute2 libssl-dev chromium nodejs fonts-dejavu-core
python3-requests uwsgi-core uwsgi-plugin-python3 python3-pydantic python3-fastapi
python3-uvicorn python3-structlog libhiredis-dev redis-server redis-tools prometheus"
# NodeSource's nodejs ships npm and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case $status in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root (or install sudo) to install them" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
$as_root apt-get update -qq
# A name without an installation candidate (another distribution, a missing component) is
# reported by name rather than by apt-get's generic failure.
unknown=""
wanted=""
for p in $missing; do
    if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]'; then
        wanted="$wanted $p"
    else
        unknown="$unknown $p"
    fi
done
if [ -n "$wanted" ]; then
    # shellcheck disable=SC2086
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $wanted
fi
if [ -n "$unknown" ]; then
    echo "install-deps: no package by these names here:$unknown" >&2
    exit 1
fi
