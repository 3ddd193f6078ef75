#!/usr/bin/env bash
# deploy-nginx-tls-auth.sh - nginx with TLS and basic auth in front of cog-fcgi
# (nginx/cog-fcgi-tls-auth.conf).
#
# A self-signed certificate for 127.0.0.1/localhost made here with openssl, a password file
# made with `openssl passwd -apr1`, the shipped server block with its listen address,
# certificate, password file and socket replaced. Checks: curl --cacert verifies the
# certificate; 401 without or with wrong credentials; 200 with them; the open /health-check;
# hello-world's prediction and 422; and, with tests/projects/whoami, that the user name reaches
# the model as current_scope().context["remote_user"] and that a client cannot forge it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

port=$(free_port)
pre=$T/nginx
mkdir -p "$pre"
if ! openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$pre/key.pem" -out "$pre/cert.pem" >"$T/openssl.log" 2>&1; then
    fail "openssl makes a self-signed certificate" "$(tail -n 3 "$T/openssl.log")"
    finish
fi
printf 'alice:%s\n' "$(openssl passwd -apr1 wonderland)" >"$pre/htpasswd"

sed -e "s|listen 443 ssl;|listen 127.0.0.1:$port ssl;|" \
    -e "s|/etc/ssl/certs/models.example.com.pem|$pre/cert.pem|" \
    -e "s|/etc/ssl/private/models.example.com.key|$pre/key.pem|" \
    -e "s|/etc/nginx/cog-fcgi.htpasswd|$pre/htpasswd|" \
    -e "s|unix:/run/cog-fcgi/cog.sock|unix:$T/cog.sock|g" \
    "$ROOT/nginx/cog-fcgi-tls-auth.conf" >"$pre/cog-fcgi-tls-auth.conf"
nginx_render "$pre" "$pre/cog-fcgi-tls-auth.conf"
if ! nginx_run "$pre" "$port"; then
    fail "nginx starts with nginx/cog-fcgi-tls-auth.conf"
    finish
fi
pass "nginx starts with nginx/cog-fcgi-tls-auth.conf"
base=https://127.0.0.1:$port

for model in hello-world whoami; do
    src=$ROOT/examples/hello-world
    [ $model = whoami ] && src=$ROOT/tests/projects/whoami
    rm -rf "${T:?}/$model"
    cp -r "$src" "$T/$model"
    if ! start_front "$T/$model" "$T/cog.sock"; then
        fail "$model: cog-fcgi starts"
        continue
    fi
    HTTP_OPTS=(--cacert "$pre/cert.pem")
    check "$model: READY over TLS, /health-check without credentials" wait_ready_opts "$base"
    http_opts POST "$base/predictions" '{"input": {"text": "world"}}'
    expect_code "$model: no credentials 401" 401
    HTTP_OPTS=(--cacert "$pre/cert.pem" -u alice:wrong)
    http_opts POST "$base/predictions" '{"input": {"text": "world"}}'
    expect_code "$model: wrong password 401" 401
    HTTP_OPTS=(--cacert "$pre/cert.pem" -u alice:wonderland)
    if [ $model = hello-world ]; then
        check_hello "tls+auth" "$base"
    else
        http_opts POST "$base/predictions" '{"input": {"text": "hi"}}'
        expect_code "whoami: prediction 200" 200
        expect_json "whoami: REMOTE_USER reaches the model" /output "alice: hi"
        # A client-supplied context must not override the web server's user.
        http_opts POST "$base/predictions" '{"input": {"text": "hi"}, "context": {"remote_user": "mallory"}}'
        expect_json "whoami: remote_user cannot be forged in the body" /output "alice: hi"
    fi
    # Without --cacert, curl must refuse the self-signed certificate: TLS is really on.
    if curl -s -o /dev/null --max-time 5 "$base/health-check"; then
        fail "$model: curl without --cacert rejects the certificate"
    else
        pass "$model: curl without --cacert rejects the certificate"
    fi
    stop_front
done
HTTP_OPTS=()
finish
