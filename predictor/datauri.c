/* datauri.c - decode and encode data: URIs like Python's urllib and base64. */
#include "datauri.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char cf_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int cf_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

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

/* binascii.a2b_base64 in its default (non-strict) mode, in place: buf[0,len)
 * becomes the decoded bytes, *out_len their count. Returns 0 or CF_EINVAL
 * with Python's message. */
static int cf_b64_decode_lenient(unsigned char *buf, size_t len, size_t *out_len, cf_error *err)
{
    size_t out = 0;
    int quad_pos = 0;
    int pads = 0;
    unsigned int leftchar = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = buf[i];
        if (c == '=') {
            /* A complete pad sequence ends the data; stray pads are ignored. */
            if (quad_pos >= 2 && quad_pos + ++pads >= 4) {
                goto done;
            }
            continue;
        }
        int v = cf_b64_value(c);
        if (v < 0) {
            continue;
        }
        pads = 0;
        switch (quad_pos) {
        case 0:
            quad_pos = 1;
            leftchar = (unsigned int)v;
            break;
        case 1:
            quad_pos = 2;
            buf[out++] = (unsigned char)((leftchar << 2) | ((unsigned int)v >> 4));
            leftchar = (unsigned int)v & 0x0f;
            break;
        case 2:
            quad_pos = 3;
            buf[out++] = (unsigned char)((leftchar << 4) | ((unsigned int)v >> 2));
            leftchar = (unsigned int)v & 0x03;
            break;
        default:
            quad_pos = 0;
            buf[out++] = (unsigned char)((leftchar << 6) | (unsigned int)v);
            leftchar = 0;
            break;
        }
    }
    if (quad_pos == 1) {
        return cf_error_set(err, CF_EINVAL,
                            "Invalid base64-encoded string: number of data characters (%zu) "
                            "cannot be 1 more than a multiple of 4",
                            out / 3 * 4 + 1);
    }
    if (quad_pos != 0) {
        return cf_error_set(err, CF_EINVAL, "Incorrect padding");
    }
done:
    *out_len = out;
    return 0;
}

/* The media type as email's Message.get_content_type() reports it for
 * "Content-type: <mediatype>": the part before ';', stripped and lowercased,
 * "text/plain" unless it has exactly one '/'. Malloc'd. */
static char *cf_datauri_content_type(const char *mediatype, size_t len)
{
    size_t start = 0;
    size_t end = 0;
    while (end < len && mediatype[end] != ';') {
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

int cf_datauri_decode(const char *uri, char **mime_out, unsigned char **data_out, size_t *len_out,
                      cf_error *err)
{
    char *mime = NULL;
    unsigned char *data = NULL;
    int rc = CF_OK;

    *data_out = NULL;
    *len_out = 0;
    if (mime_out != NULL) {
        *mime_out = NULL;
    }
    if (uri == NULL || strncasecmp(uri, "data:", 5) != 0) {
        rc = cf_error_set(err, CF_EINVAL, "not a data URI");
        goto cleanup;
    }
    const char *body = uri + 5;
    /* urllib hands the data handler the full URL, "#..." included. */
    size_t body_len = strlen(body);
    const char *comma = memchr(body, ',', body_len);
    if (comma == NULL) {
        rc = cf_error_set(err, CF_EINVAL, "invalid data URI: no ',' before the data");
        goto cleanup;
    }
    size_t type_len = (size_t)(comma - body);
    int is_base64 = type_len >= 7 && memcmp(comma - 7, ";base64", 7) == 0;
    if (is_base64) {
        type_len -= 7;
    }
    mime = type_len == 0 ? strdup("text/plain") : cf_datauri_content_type(body, type_len);
    const char *payload = comma + 1;
    size_t payload_len = body_len - type_len - (is_base64 ? 7 : 0) - 1;
    data = malloc(payload_len + 1);
    if (mime == NULL || data == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory decoding a data URI");
        goto cleanup;
    }

    /* Even base64 payloads may be percent-encoded: unquote first, like urllib;
     * a '%' not followed by two hex digits stays as it is. */
    size_t n = 0;
    for (size_t i = 0; i < payload_len; i++) {
        unsigned char c = (unsigned char)payload[i];
        if (c == '%' && i + 2 < payload_len) {
            int hi = cf_hex_value((unsigned char)payload[i + 1]);
            int lo = cf_hex_value((unsigned char)payload[i + 2]);
            if (hi >= 0 && lo >= 0) {
                data[n++] = (unsigned char)(hi << 4 | lo);
                i += 2;
                continue;
            }
        }
        data[n++] = c;
    }
    if (is_base64) {
        rc = cf_b64_decode_lenient(data, n, &n, err);
        if (rc != CF_OK) {
            goto cleanup;
        }
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

char *cf_base64_encode(const unsigned char *data, size_t len)
{
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned int v = (unsigned int)data[i] << 16 | (unsigned int)data[i + 1] << 8 | data[i + 2];
        out[o++] = cf_b64_alphabet[v >> 18 & 63];
        out[o++] = cf_b64_alphabet[v >> 12 & 63];
        out[o++] = cf_b64_alphabet[v >> 6 & 63];
        out[o++] = cf_b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned int v = (unsigned int)data[i] << 16;
        if (i + 1 < len) {
            v |= (unsigned int)data[i + 1] << 8;
        }
        out[o++] = cf_b64_alphabet[v >> 18 & 63];
        out[o++] = cf_b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? cf_b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

char *cf_datauri_encode(const char *mime, const unsigned char *data, size_t len)
{
    if (mime == NULL) {
        mime = "application/octet-stream";
    }
    char *b64 = cf_base64_encode(data, len);
    if (b64 == NULL) {
        return NULL;
    }
    size_t mlen = strlen(mime);
    size_t blen = strlen(b64);
    char *out = malloc(5 + mlen + 8 + blen + 1);
    if (out != NULL) {
        memcpy(out, "data:", 5);
        memcpy(out + 5, mime, mlen);
        memcpy(out + 5 + mlen, ";base64,", 8);
        memcpy(out + 5 + mlen + 8, b64, blen + 1);
    }
    free(b64);
    return out;
}
