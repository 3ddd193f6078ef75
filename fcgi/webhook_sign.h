/* webhook_sign.h - Standard Webhooks signatures (webhook-id, -timestamp, -signature).
 *
 * Replicate signs its webhooks as the Standard Webhooks spec says: the secret
 * is "whsec_" + base64 of the key; each message has an id that stays the same
 * across retries, the Unix time of the attempt, and the signature
 * "v1,<base64 of HMAC-SHA256(key, id + "." + timestamp + "." + body)>".
 *
 * HMAC-SHA256 and base64 come from OpenSSL's libcrypto, loaded with dlopen
 * on first use like libcurl (http_client.h): a front that signs nothing keeps
 * it out of its memory, and libcurl has loaded it anyway by the time a
 * webhook is sent. All functions are thread-safe.
 */
#ifndef CF_WEBHOOK_SIGN_H
#define CF_WEBHOOK_SIGN_H

#include <stddef.h>

#include "error.h"

/* The decoded key; caller-owned, no heap. */
typedef struct cf_webhook_key {
    unsigned char bytes[256];
    size_t len; /* 0: no key */
} cf_webhook_key;

/* Room for "v1," + base64 of 32 bytes + NUL. */
#define CF_WEBHOOK_SIGNATURE_MAX 64

/* Parses "whsec_<base64>" into *key. CF_EINVAL with what is wrong (no
 * whsec_ prefix, not base64, empty, longer than 256 bytes); CF_EIO when
 * libcrypto cannot be loaded. */
int cf_webhook_key_parse(const char *secret, cf_webhook_key *key, cf_error *err);

/* Writes "v1,<base64 HMAC-SHA256>" of "id.timestamp.body" into out (at
 * least CF_WEBHOOK_SIGNATURE_MAX bytes). 0, CF_ENOMEM, or CF_EIO when
 * libcrypto cannot be loaded or fails. */
int cf_webhook_sign(const cf_webhook_key *key, const char *id, long long timestamp,
                    const char *body, size_t body_len, char *out, cf_error *err);

/* A new message id, "msg_" + 32 hex digits from getrandom(2), into out (at
 * least 40 bytes). */
void cf_webhook_message_id(char *out);

/* Plain HMAC-SHA256 (32 bytes into out) and SHA-256 (32 bytes) through the
 * same libcrypto, for AWS Signature V4 (s3_sign.c). 0, or CF_EIO when
 * libcrypto cannot be loaded or fails. */
int cf_crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                          unsigned char out[32], cf_error *err);
int cf_crypto_sha256(const void *msg, size_t msg_len, unsigned char out[32], cf_error *err);

#endif
