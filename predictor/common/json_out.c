/* json_out.c - a small JSON writer whose floats read like Python's.
 *
 * jansson prints reals with 17 significant digits, so a model's 0.1 came
 * back as 0.10000000000000001: equal as a number, but not what Cog sends.
 * Everything else matches jansson's compact output.
 */
#include "json_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "pyfloat.h"

typedef cf_json_buf buf;

#define CF_JSON_STAGE 16384

/* Pieces at least this long skip the staging buffer in sink mode. */
#define CF_JSON_DIRECT_MIN 4096

static void flush_stage(buf *b)
{
    if (b->staged > 0 && !b->failed && b->sink(b->ctx, b->stage, b->staged) != 0)
        b->failed = 1;
    b->staged = 0;
}

static void put(buf *b, const char *s, size_t n)
{
    b->count += n;
    if (b->counting || b->oom || b->failed)
        return;
    if (b->sink != NULL) {
        if (n >= CF_JSON_DIRECT_MIN || b->staged + n > CF_JSON_STAGE) {
            flush_stage(b);
            if (n >= CF_JSON_DIRECT_MIN || n > CF_JSON_STAGE) {
                if (!b->failed && b->sink(b->ctx, s, n) != 0)
                    b->failed = 1;
                return;
            }
        }
        memcpy(b->stage + b->staged, s, n);
        b->staged += n;
        return;
    }
    if (b->limit && b->len + n > b->limit) {
        b->oom = 1; /* past the limit: from here on it only counts */
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->oom = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put_str(buf *b, const char *s) { put(b, s, strlen(s)); }

/* Plain runs are found eight bytes at a time and copied whole: a data URI
 * of megabytes is one memcpy. */
static void put_string(buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        i = cf_json_plain_run((const unsigned char *)s, i, n);
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (esc) {
            put(b, s + start, i - start);
            put_str(b, esc);
            start = i + 1;
        }
    }
    put(b, s + start, n - start);
    put(b, "\"", 1);
}

static void put_value(buf *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *item;
        int first = 1;
        put(b, "{", 1);
        json_object_foreach((json_t *)v, key, item) {
            if (!first)
                put(b, ",", 1);
            first = 0;
            put_string(b, key, strlen(key));
            put(b, ":", 1);
            put_value(b, item);
        }
        put(b, "}", 1);
        break;
    }
    case JSON_ARRAY: {
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                put(b, ",", 1);
            put_value(b, json_array_get(v, i));
        }
        put(b, "]", 1);
        break;
    }
    case JSON_STRING:
        put_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put_str(b, num);
        break;
    case JSON_REAL: {
        double d = json_real_value(v);
        if (isnan(d))
            put_str(b, "NaN");
        else if (isinf(d))
            put_str(b, d > 0 ? "Infinity" : "-Infinity");
        else
            put_str(b, cf_pylike_float_repr(d, num, sizeof num));
        break;
    }
    case JSON_TRUE: put_str(b, "true"); break;
    case JSON_FALSE: put_str(b, "false"); break;
    case JSON_NULL: put_str(b, "null"); break;
    }
}

char *cf_json_dumps(const json_t *v)
{
    /* Sized by a counting pass first: one allocation, no realloc copies. */
    buf b = {0};
    b.cap = cf_json_length(v) + 1;
    b.data = malloc(b.cap);
    if (b.data == NULL)
        return NULL;
    b.data[0] = '\0';
    put_value(&b, v);
    if (b.oom) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

void cf_json_buf_open(cf_json_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->limit = max;
    b->cap = 1024;
    b->data = malloc(b->cap);
    if (b->data == NULL)
        b->oom = 1;
    else
        b->data[0] = '\0';
}

void cf_json_buf_raw(cf_json_buf *b, const char *s, size_t n) { put(b, s, n); }
void cf_json_buf_string(cf_json_buf *b, const char *s, size_t n) { put_string(b, s, n); }
void cf_json_buf_value(cf_json_buf *b, const json_t *v) { put_value(b, v); }
void cf_json_buf_cstr(cf_json_buf *b, const char *s) { put(b, s, strlen(s)); }

void cf_json_buf_string_or_null(cf_json_buf *b, const char *s)
{
    if (s)
        put_string(b, s, strlen(s));
    else
        put(b, "null", 4);
}

void cf_json_buf_value_or_null(cf_json_buf *b, const json_t *v)
{
    if (v)
        put_value(b, v);
    else
        put(b, "null", 4);
}

char *cf_json_buf_close(cf_json_buf *b, size_t *len)
{
    if (b->oom) {
        free(b->data);
        *len = b->limit && b->count > b->limit ? b->count : 0;
        return NULL;
    }
    *len = b->len;
    return b->data;
}

char *cf_json_dumps_upto(const json_t *v, size_t max, size_t *len)
{
    /* One walk into a growing buffer: for the small texts this is for, a
     * counting walk first would cost as much as the writing one. */
    buf b;
    cf_json_buf_open(&b, max);
    put_value(&b, v);
    return cf_json_buf_close(&b, len);
}

size_t cf_json_length(const json_t *v)
{
    buf b = {0};
    b.counting = 1;
    put_value(&b, v);
    return b.count;
}

int cf_json_write(const json_t *v, cf_json_sink sink, void *ctx)
{
    buf b = {0};
    b.stage = malloc(CF_JSON_STAGE);
    if (b.stage == NULL)
        return -1;
    b.sink = sink;
    b.ctx = ctx;
    put_value(&b, v);
    flush_stage(&b);
    free(b.stage);
    return b.failed ? -1 : 0;
}
