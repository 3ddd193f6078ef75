/* datauri.h - RFC 2397 data: URIs, decoded the way Python's urllib does for Cog. */
#ifndef CF_DATAURI_H
#define CF_DATAURI_H

#include <stddef.h>

#include "base64.h"
#include "error.h"

/* A data URI split into its parts, as urllib's DataHandler sees it. The
 * pointers borrow the URI's text.
 *
 * What urllib is handed: Cog's File.validate passes the value to
 * urlopen(), which strips whitespace from both ends (unwrap(): str.strip)
 * and drops a trailing '#' with nothing after it (Request's fragment
 * handling); urlparse, which picks the scheme, strips every leading C0
 * control or space. cf_datauri_parse takes the union: leading bytes
 * <= 0x20 and trailing whitespace (what str.strip removes: \t \n \v \f
 * \r, \x1c-\x1f, space, and Unicode spaces such as U+00A0 in UTF-8) are not
 * part of the URI. Validation and file preparation both go through
 * here, so they agree. */
typedef struct cf_datauri {
    const char *mediatype; /* between "data:" and ";base64" or ',' */
    size_t mediatype_len;
    const char *payload;   /* after the first ',' ("#..." included) */
    size_t payload_len;
    int base64;            /* the media type ended in ";base64" */
    int quoted;            /* the payload holds a '%': percent-decoded first */
} cf_datauri;

/* Splits uri[0,len). Returns 0, or CF_EINVAL ("not a data URI", no ','). */
int cf_datauri_parse(const char *uri, size_t len, cf_datauri *out, cf_error *err);

/* The bare lowercased type/subtype, as email's get_content_type() gives it
 * ("text/plain" when absent or malformed). Malloc'd, or NULL (memory). */
char *cf_datauri_mime(const cf_datauri *d);

/* Whether uri[0,len) decodes, without decoding it or allocating: 0, or the
 * CF_EINVAL that cf_datauri_decode would return (same message). Costs one
 * table lookup per payload byte. */
int cf_datauri_check(const char *uri, size_t len, cf_error *err);

/* Decodes uri[0,len) straight into fd (written at its offset), through a
 * 64 KiB buffer: memory does not grow with the payload. *written (may be
 * NULL) gets the byte count. Returns 0, CF_EINVAL (bad payload: what was
 * written so far is garbage, remove the file), CF_EIO (write failed),
 * CF_ENOMEM. */
int cf_datauri_decode_to_fd(const char *uri, size_t len, int fd, size_t *written, cf_error *err);

/* Decodes a data: URI (a C string) as urllib.request.urlopen does:
 * the payload after the first ',' (a "#..." included) is
 * percent-decoded, then base64-decoded when the media type ends in
 * ";base64" (leniently, like base64.decodebytes: characters outside the
 * alphabet are skipped, data after the padding is ignored, a missing pad is
 * an error).
 * On success returns 0 with *mime_out = cf_datauri_mime's answer, *data_out
 * = the bytes (NUL-terminated for convenience, not counted in *len_out); the
 * caller frees both. mime_out may be NULL.
 * Returns CF_EINVAL with err set for a malformed URI, CF_ENOMEM. */
int cf_datauri_decode(const char *uri, char **mime_out, unsigned char **data_out, size_t *len_out,
                      cf_error *err);

/* The length of "data:<mime>;base64,<base64 of n bytes>" without a NUL.
 * mime NULL means "application/octet-stream" here and below. */
size_t cf_datauri_encoded_len(const char *mime, size_t n);

/* Writes that URI to out (cf_datauri_encoded_len(mime, n) bytes, no NUL);
 * returns the count. */
size_t cf_datauri_encode_to(char *out, const char *mime, const unsigned char *data, size_t n);

/* Returns a malloc'd "data:<mime>;base64,<...>" (caller frees), or NULL when
 * out of memory. */
char *cf_datauri_encode(const char *mime, const unsigned char *data, size_t len);

#endif
