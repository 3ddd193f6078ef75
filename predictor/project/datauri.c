/* datauri.c - decode and encode data: URIs like Python's urllib and base64. */
#include "datauri.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Input bytes handled per step when streaming: the percent-decoded piece
 * and its base64 decoding live in buffers of about this size. */
#define CF_DATAURI_CHUNK 65536

static int cf_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (unsigned char)tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* The length of the str.isspace() character that ends s[0,n) (UTF-8), or
 * 0: what str.strip() removes from the right. */
static size_t cf_pylike_trailing_space(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) {
        return 0;
    }
    unsigned char c = u[n - 1];
    if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) {
        return 1;
    }
    if (n >= 2 && u[n - 2] == 0xc2 && (c == 0x85 || c == 0xa0)) {
        return 2; /* U+0085, U+00A0 */
    }
    if (n < 3) {
        return 0;
    }
    unsigned int cp = (unsigned int)(u[n - 3] & 0x0f) << 12 | (unsigned int)(u[n - 2] & 0x3f) << 6 |
                      (c & 0x3f);
    if ((u[n - 3] & 0xf0) != 0xe0 || (u[n - 2] & 0xc0) != 0x80 || (c & 0xc0) != 0x80) {
        return 0;
    }
    if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202f || cp == 0x205f || cp == 0x3000) {
        return 3;
    }
    return 0;
}

int cf_datauri_parse(const char *uri, size_t len, cf_datauri *out, cf_error *err)
{
    memset(out, 0, sizeof(*out));
    if (uri == NULL) {
        return cf_error_set(err, CF_EINVAL, "not a data URI");
    }
    while (len > 0 && (unsigned char)*uri <= ' ') {
        uri++;
        len--;
    }
    for (size_t k; (k = cf_pylike_trailing_space(uri, len)) > 0;) {
        len -= k;
    }
    if (len > 0 && uri[len - 1] == '#') {
        len--; /* an empty fragment: Request.full_url leaves it out */
    }
    if (len < 5 || strncasecmp(uri, "data:", 5) != 0) {
        return cf_error_set(err, CF_EINVAL, "not a data URI");
    }
    const char *body = uri + 5;
    size_t body_len = len - 5;
    const char *comma = memchr(body, ',', body_len);
    if (comma == NULL) {
        return cf_error_set(err, CF_EINVAL, "invalid data URI: no ',' before the data");
    }
    size_t type_len = (size_t)(comma - body);
    out->base64 = type_len >= 7 && memcmp(comma - 7, ";base64", 7) == 0;
    out->mediatype = body;
    out->mediatype_len = type_len - (out->base64 ? 7 : 0);
    out->payload = comma + 1;
    out->payload_len = body_len - type_len - 1;
    out->quoted = memchr(out->payload, '%', out->payload_len) != NULL;
    return CF_OK;
}

/* The media type as email's Message.get_content_type() reports it for
 * "Content-type: <mediatype>": the part before ';', stripped and lowercased,
 * "text/plain" unless it has exactly one '/'. */
char *cf_datauri_mime(const cf_datauri *d)
{
    const char *mediatype = d->mediatype;
    size_t start = 0;
    size_t end = 0;
    while (end < d->mediatype_len && mediatype[end] != ';') {
        end++;
    }
    while (start < end && isspace((unsigned char)mediatype[start])) {
        start++;
    }
    while (end > start && isspace((unsigned char)mediatype[end - 1])) {
        end--;
    }
    size_t slashes = 0;
    for (size_t i = start; i < end; i++) {
        slashes += mediatype[i] == '/';
    }
    if (slashes != 1) {
        return strdup("text/plain");
    }
    char *type = strndup(mediatype + start, end - start);
    if (type != NULL) {
        for (char *p = type; *p != '\0'; p++) {
            *p = (char)tolower((unsigned char)*p);
        }
    }
    return type;
}

/* unquote_to_bytes on in[0,n) into out (room for n): a '%' not followed by
 * two hex digits stays as it is. Returns the output length. */
static size_t cf_unquote(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t o = 0;
    size_t i = 0;
    while (i < n) {
        const unsigned char *pct = memchr(in + i, '%', n - i);
        size_t run = pct != NULL ? (size_t)(pct - (in + i)) : n - i;
        memmove(out + o, in + i, run);
        o += run;
        i += run;
        if (i >= n) {
            break;
        }
        int hi = i + 2 < n ? cf_hex_value(in[i + 1]) : -1;
        int lo = hi >= 0 ? cf_hex_value(in[i + 2]) : -1;
        if (lo >= 0) {
            out[o++] = (unsigned char)(hi << 4 | lo);
            i += 3;
        } else {
            out[o++] = '%';
            i++;
        }
    }
    return o;
}

/* Where the percent-decoding piece that starts at `at` may end so that no
 * "%XX" is cut in two: at most CF_DATAURI_CHUNK bytes, shortened to just
 * before a '%' among its last two bytes (unless it is the end). */
static size_t cf_piece_end(const cf_datauri *d, size_t at)
{
    size_t end = d->payload_len - at > CF_DATAURI_CHUNK ? at + CF_DATAURI_CHUNK : d->payload_len;
    if (end < d->payload_len) {
        if (d->payload[end - 2] == '%') {
            end -= 2;
        } else if (d->payload[end - 1] == '%') {
            end -= 1;
        }
    }
    return end;
}

static int cf_write_all(int fd, const unsigned char *p, size_t n, cf_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return cf_error_set(err, CF_EIO, "cannot write a decoded file: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return CF_OK;
}

/* Walks d's payload piece by piece: percent-decoded when it needs it, then
 * base64-decoded (or only checked when fd < 0), written to fd when fd >= 0.
 * One function for check and decode, so both see the same bytes. */
static int cf_datauri_walk(const cf_datauri *d, int fd, size_t *written, cf_error *err)
{
    unsigned char *plain = NULL;   /* a percent-decoded piece */
    unsigned char *decoded = NULL; /* its base64 decoding */
    cf_base64_decoder dec;
    size_t total = 0;
    int rc = CF_OK;

    cf_base64_decoder_init(&dec);
    if (d->quoted) {
        plain = malloc(CF_DATAURI_CHUNK);
    }
    if (d->base64 && fd >= 0) {
        decoded = malloc(CF_BASE64_DECODED_MAX(CF_DATAURI_CHUNK));
    }
    if ((d->quoted && plain == NULL) || (d->base64 && fd >= 0 && decoded == NULL)) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory decoding a data URI");
        goto cleanup;
    }
    size_t at = 0;
    while (at < d->payload_len && !dec.done) {
        size_t end = d->quoted ? cf_piece_end(d, at)
                               : (d->payload_len - at > CF_DATAURI_CHUNK ? at + CF_DATAURI_CHUNK
                                                                       : d->payload_len);
        const unsigned char *piece = (const unsigned char *)d->payload + at;
        size_t n = end - at;
        at = end;
        if (d->quoted) {
            n = cf_unquote(piece, n, plain);
            piece = plain;
        }
        if (!d->base64) {
            total += n;
            if (fd >= 0 && (rc = cf_write_all(fd, piece, n, err)) != CF_OK) {
                goto cleanup;
            }
        } else if (fd < 0) {
            cf_base64_check_update(&dec, piece, n);
        } else {
            size_t m = cf_base64_decode_update(&dec, piece, n, decoded);
            total += m;
            if ((rc = cf_write_all(fd, decoded, m, err)) != CF_OK) {
                goto cleanup;
            }
        }
    }
    if (d->base64) {
        rc = cf_base64_decode_final(&dec, err);
    }
    if (written != NULL) {
        *written = d->base64 ? dec.total : total;
    }

cleanup:
    free(plain);
    free(decoded);
    return rc;
}

int cf_datauri_check(const char *uri, size_t len, cf_error *err)
{
    cf_datauri d;
    int rc = cf_datauri_parse(uri, len, &d, err);
    if (rc != CF_OK) {
        return rc;
    }
    if (!d.base64) {
        return CF_OK; /* any bytes percent-decode */
    }
    return cf_datauri_walk(&d, -1, NULL, err);
}

int cf_datauri_decode_to_fd(const char *uri, size_t len, int fd, size_t *written, cf_error *err)
{
    cf_datauri d;
    if (written != NULL) {
        *written = 0;
    }
    int rc = cf_datauri_parse(uri, len, &d, err);
    if (rc != CF_OK) {
        return rc;
    }
    return cf_datauri_walk(&d, fd, written, err);
}

int cf_datauri_decode(const char *uri, char **mime_out, unsigned char **data_out, size_t *len_out,
                      cf_error *err)
{
    char *mime = NULL;
    unsigned char *data = NULL;
    cf_datauri d;
    int rc = CF_OK;

    *data_out = NULL;
    *len_out = 0;
    if (mime_out != NULL) {
        *mime_out = NULL;
    }
    rc = cf_datauri_parse(uri, uri != NULL ? strlen(uri) : 0, &d, err);
    if (rc != CF_OK) {
        goto cleanup;
    }
    mime = cf_datauri_mime(&d);
    data = malloc(d.payload_len + 1);
    if (mime == NULL || data == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory decoding a data URI");
        goto cleanup;
    }
    const unsigned char *src = (const unsigned char *)d.payload;
    size_t n = d.payload_len;
    if (d.quoted) {
        n = cf_unquote(src, n, data);
        src = data;
    }
    if (d.base64) {
        cf_base64_decoder dec;
        cf_base64_decoder_init(&dec);
        /* From the payload, or in place from the unquoted copy: both safe. */
        n = cf_base64_decode_update(&dec, src, n, data);
        rc = cf_base64_decode_final(&dec, err);
        if (rc != CF_OK) {
            goto cleanup;
        }
    } else if (!d.quoted) {
        memcpy(data, src, n);
    }
    data[n] = '\0';
    *data_out = data;
    *len_out = n;
    data = NULL;
    if (mime_out != NULL) {
        *mime_out = mime;
        mime = NULL;
    }

cleanup:
    free(mime);
    free(data);
    return rc;
}

size_t cf_datauri_encoded_len(const char *mime, size_t n)
{
    return 5 + strlen(mime != NULL ? mime : "application/octet-stream") + 8 +
           CF_BASE64_ENCODED_LEN(n);
}

size_t cf_datauri_encode_to(char *out, const char *mime, const unsigned char *data, size_t n)
{
    if (mime == NULL) {
        mime = "application/octet-stream";
    }
    size_t mlen = strlen(mime);
    memcpy(out, "data:", 5);
    memcpy(out + 5, mime, mlen);
    memcpy(out + 5 + mlen, ";base64,", 8);
    return 5 + mlen + 8 + cf_base64_encode_to(out + 5 + mlen + 8, data, n);
}

char *cf_datauri_encode(const char *mime, const unsigned char *data, size_t len)
{
    char *out = malloc(cf_datauri_encoded_len(mime, len) + 1);
    if (out != NULL) {
        out[cf_datauri_encode_to(out, mime, data, len)] = '\0';
    }
    return out;
}
