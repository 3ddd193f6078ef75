/* webhook_sign.c - HMAC-SHA256 webhook signatures through a lazily loaded libcrypto. */
#include "webhook_sign.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* The four libcrypto functions we call, with OpenSSL's own prototypes. */
static struct {
    __typeof__(&HMAC) hmac;
    __typeof__(&EVP_sha256) sha256;
    __typeof__(&EVP_EncodeBlock) encode;
    __typeof__(&EVP_DecodeBlock) decode;
    __typeof__(&EVP_Digest) digest;
    char error[256]; /* why loading failed, "" when it worked */
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_load(void)
{
    const char *name = getenv("COG_FCGI_LIBCRYPTO");
    if (name == NULL || *name == '\0')
        name = "libcrypto.so.3";
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf(crypto.error, sizeof crypto.error, "cannot load %s: %s", name, dlerror());
        return;
    }
    /* POSIX's sanctioned way to turn dlsym's void * into a function pointer */
    *(void **)&crypto.hmac = dlsym(h, "HMAC");
    *(void **)&crypto.sha256 = dlsym(h, "EVP_sha256");
    *(void **)&crypto.encode = dlsym(h, "EVP_EncodeBlock");
    *(void **)&crypto.decode = dlsym(h, "EVP_DecodeBlock");
    *(void **)&crypto.digest = dlsym(h, "EVP_Digest");
    if (!crypto.hmac || !crypto.sha256 || !crypto.encode || !crypto.decode || !crypto.digest)
        snprintf(crypto.error, sizeof crypto.error, "%s lacks HMAC, EVP_sha256 or EVP_*Block", name);
}

static int crypto_ready(cf_error *err)
{
    pthread_once(&crypto_once, crypto_load);
    if (crypto.error[0])
        return cf_error_set(err, CF_EIO, "libcrypto (OpenSSL) is needed to sign webhooks: %s",
                            crypto.error);
    return CF_OK;
}

int cf_webhook_key_parse(const char *secret, cf_webhook_key *key, cf_error *err)
{
    key->len = 0;
    if (strncmp(secret, "whsec_", 6) != 0)
        return cf_error_set(err, CF_EINVAL, "a webhook secret starts with whsec_ (whsec_<base64>)");
    const char *b64 = secret + 6;
    size_t n = strlen(b64);
    /* EVP_DecodeBlock skips surrounding blanks; a secret has none. "=" only
     * as the last one or two characters. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b64[i];
        int ok;
        if (c == '=')
            ok = i == n - 1 || (i == n - 2 && b64[n - 1] == '=');
        else
            ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
        if (!ok)
            return cf_error_set(err, CF_EINVAL, "the webhook secret after whsec_ is not base64");
    }
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof key->bytes)
        return cf_error_set(err, CF_EINVAL,
                            "the webhook secret after whsec_ must be base64 of 1 to %zu bytes",
                            sizeof key->bytes);
    int rc = crypto_ready(err);
    if (rc != CF_OK)
        return rc;
    unsigned char out[sizeof key->bytes + 3];
    int got = crypto.decode(out, (const unsigned char *)b64, (int)n);
    if (got < 0)
        return cf_error_set(err, CF_EINVAL, "the webhook secret after whsec_ is not base64");
    /* EVP_DecodeBlock counts the zero bytes that padding stands for */
    size_t len = (size_t)got - (b64[n - 1] == '=') - (b64[n - 2] == '=');
    if (len == 0)
        return cf_error_set(err, CF_EINVAL, "the webhook secret after whsec_ is empty");
    memcpy(key->bytes, out, len);
    key->len = len;
    return CF_OK;
}

int cf_webhook_sign(const cf_webhook_key *key, const char *id, long long timestamp,
                    const char *body, size_t body_len, char *out, cf_error *err)
{
    int rc = crypto_ready(err);
    if (rc != CF_OK)
        return rc;
    char head[128];
    int hn = snprintf(head, sizeof head, "%s.%lld.", id, timestamp);
    if (hn < 0 || (size_t)hn >= sizeof head)
        return cf_error_set(err, CF_EINVAL, "webhook id too long to sign");
    /* one buffer: OpenSSL 3's one-shot HMAC is the only call that is not
     * deprecated and needs no context objects */
    unsigned char *msg = malloc((size_t)hn + body_len + 1);
    if (msg == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory signing a webhook");
    memcpy(msg, head, (size_t)hn);
    memcpy(msg + hn, body, body_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    unsigned char *r = crypto.hmac(crypto.sha256(), key->bytes, (int)key->len, msg,
                                   (size_t)hn + body_len, mac, &mac_len);
    free(msg);
    if (r == NULL || mac_len != 32)
        return cf_error_set(err, CF_EIO, "HMAC-SHA256 failed");
    memcpy(out, "v1,", 3);
    crypto.encode((unsigned char *)out + 3, mac, (int)mac_len); /* 44 chars + NUL */
    return CF_OK;
}

int cf_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                          unsigned char out[32], cf_error *err)
{
    int rc = crypto_ready(err);
    if (rc != CF_OK)
        return rc;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (crypto.hmac(crypto.sha256(), key, (int)key_len, msg, msg_len, mac, &mac_len) == NULL ||
        mac_len != 32)
        return cf_error_set(err, CF_EIO, "HMAC-SHA256 failed");
    memcpy(out, mac, 32);
    return CF_OK;
}

int cf_crypto_sha256(const void *msg, size_t msg_len, unsigned char out[32], cf_error *err)
{
    int rc = crypto_ready(err);
    if (rc != CF_OK)
        return rc;
    unsigned int n = 0;
    if (crypto.digest(msg, msg_len, out, &n, crypto.sha256(), NULL) != 1 || n != 32)
        return cf_error_set(err, CF_EIO, "SHA-256 failed");
    return CF_OK;
}

void cf_webhook_message_id(char *out)
{
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof r) {
        /* getrandom cannot fail on Linux >= 3.17 after boot; still unique enough */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 20);
        static unsigned long long counter;
        x ^= __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 0x9E3779B97F4A7C15ull;
        memcpy(r, &x, sizeof x);
        memcpy(r + 8, &x, sizeof x);
    }
    memcpy(out, "msg_", 4);
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 4 + 2 * i, 3, "%02x", r[i]);
}
