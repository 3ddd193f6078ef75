/* json_in.c - a JSON reader that fails exactly as Python's json module does.
 *
 * FastAPI answers a malformed body with the json.JSONDecodeError fields
 * (message, char offset, line, column), so clients see Python's wording. This
 * mirrors CPython 3.11's C scanner (Modules/_json.c) step by step, including
 * where each error points. It scans UTF-8 bytes; every structural character
 * is ASCII, so byte positions turn into code point positions only at the end.
 */
#include "json_in.h"

#include "json_scan.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's recursion limit would stop a deeper document (FastAPI: 400). */
#define CF_PYJSON_MAX_DEPTH 900

typedef struct cf_pyjson_scan {
    const unsigned char *s;
    size_t n;
    int depth;
    const char *msg; /* syntax error message, or NULL */
    size_t pos;      /* its byte position */
    int fatal;       /* not a syntax error: 400 */
    const char *unrepresentable; /* valid for Python, not for JSON (400 unless a syntax error follows) */
    cf_error *err;
} cf_pyjson_scan;

static json_t *cf_pyjson_value(cf_pyjson_scan *sc, size_t idx, size_t *next);

static int cf_pyjson_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t cf_pyjson_skip_ws(const cf_pyjson_scan *sc, size_t idx)
{
    while (idx < sc->n && cf_pyjson_ws(sc->s[idx])) {
        idx++;
    }
    return idx;
}

static json_t *cf_pyjson_fail(cf_pyjson_scan *sc, const char *msg, size_t pos)
{
    sc->msg = msg;
    sc->pos = pos;
    return NULL;
}

static json_t *cf_pyjson_fatal(cf_pyjson_scan *sc, int code, const char *msg)
{
    sc->fatal = 1;
    cf_error_set(sc->err, code, "%s", msg);
    return NULL;
}

/* Length of the valid UTF-8 sequence at s[0,n), or 0. Surrogates, overlong
 * forms and code points past U+10FFFF are invalid. */
static size_t cf_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

/* Whether s[0,n) is valid UTF-8; ASCII words are skipped eight bytes at a
 * time. */
static int cf_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & CF_JSON_HIGH) == 0) {
                i += 8;
                continue;
            }
        }
        size_t l = cf_utf8_len(s + i, n - i);
        if (l == 0) {
            return 0;
        }
        i += l;
    }
    return 1;
}

/* A growable byte buffer for decoded strings. */
typedef struct cf_pyjson_buf {
    char *p;
    size_t len;
    size_t cap;
} cf_pyjson_buf;

static int cf_pyjson_buf_put(cf_pyjson_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static int cf_pyjson_buf_put_cp(cf_pyjson_buf *b, uint32_t cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return cf_pyjson_buf_put(b, u, n);
}

static int cf_pyjson_hex4(const unsigned char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char d = s[i];
        v <<= 4;
        if (d >= '0' && d <= '9') {
            v |= d - '0';
        } else if (d >= 'a' && d <= 'f') {
            v |= d - 'a' + 10;
        } else if (d >= 'A' && d <= 'F') {
            v |= d - 'A' + 10;
        } else {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* scanstring_unicode: end is just after the opening quote. On success
 * *next is just after the closing quote and the decoded text is in buf. */
static int cf_pyjson_string_raw(cf_pyjson_scan *sc, size_t end, size_t *next_out, cf_pyjson_buf *buf)
{
    const unsigned char *s = sc->s;
    size_t len = sc->n;
    size_t begin = end - 1;

    for (;;) {
        size_t next;
        unsigned char c = 0;
        next = cf_json_plain_run(s, end, len);
        if (next < len) {
            c = s[next];
            if (c <= 0x1f) {
                cf_pyjson_fail(sc, "Invalid control character at", next);
                return -1;
            }
        }
        if (next >= len) {
            cf_pyjson_fail(sc, "Unterminated string starting at", begin);
            return -1;
        }
        if (next > end && cf_pyjson_buf_put(buf, s + end, next - end) != 0) {
            goto nomem;
        }
        next++;
        if (c == '"') {
            *next_out = next;
            return 0;
        }
        if (next == len) {
            cf_pyjson_fail(sc, "Unterminated string starting at", begin);
            return -1;
        }
        c = s[next];
        uint32_t cp;
        if (c != 'u') {
            end = next + 1;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                cp = c;
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            default:
                cf_pyjson_fail(sc, "Invalid \\escape", end - 2);
                return -1;
            }
        } else {
            next++;
            end = next + 4;
            if (end >= len || cf_pyjson_hex4(s + next, &cp) != 0) {
                cf_pyjson_fail(sc, "Invalid \\uXXXX escape", next - 1);
                return -1;
            }
            next = end;
            if (cp >= 0xd800 && cp <= 0xdbff && end + 6 < len && s[next] == '\\' &&
                s[next + 1] == 'u') {
                uint32_t c2;
                if (cf_pyjson_hex4(s + next + 2, &c2) != 0) {
                    cf_pyjson_fail(sc, "Invalid \\uXXXX escape", end + 1);
                    return -1;
                }
                if (c2 >= 0xdc00 && c2 <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (c2 - 0xdc00);
                    end += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff) {
                /* Python keeps a lone surrogate; UTF-8 JSON cannot. A later
                 * syntax error still wins, as in Python. */
                sc->unrepresentable = "a string holds a lone surrogate escape";
                cp = 0xfffd;
            }
        }
        if (cf_pyjson_buf_put_cp(buf, cp) != 0) {
            goto nomem;
        }
    }
nomem:
    cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
    return -1;
}

/* A string without escapes (a data URI, most strings) becomes its json_t
 * in one copy, straight from the text: no growing buffer, and no second
 * UTF-8 scan (the whole text was checked). */
static json_t *cf_pyjson_string(cf_pyjson_scan *sc, size_t end, size_t *next)
{
    cf_pyjson_buf buf = {0};
    json_t *v = NULL;
    size_t stop = cf_json_plain_run(sc->s, end, sc->n);
    if (stop < sc->n && sc->s[stop] == '"') {
        v = json_stringn_nocheck((const char *)sc->s + end, stop - end);
        if (v == NULL) {
            return cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
        }
        *next = stop + 1;
        return v;
    }
    if (cf_pyjson_string_raw(sc, end, next, &buf) == 0) {
        v = json_stringn_nocheck(buf.p ? buf.p : "", buf.len);
        if (v == NULL) {
            cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
        }
    }
    free(buf.p);
    return v;
}

/* _match_number_unicode. */
static json_t *cf_pyjson_number(cf_pyjson_scan *sc, size_t start, size_t *next)
{
    const unsigned char *s = sc->s;
    size_t end_idx = sc->n - 1;
    size_t idx = start;
    int is_float = 0;

    if (s[idx] == '-') {
        idx++;
        if (idx > end_idx) {
            return cf_pyjson_fail(sc, "Expecting value", start);
        }
    }
    if (s[idx] >= '1' && s[idx] <= '9') {
        idx++;
        while (idx <= end_idx && s[idx] >= '0' && s[idx] <= '9') {
            idx++;
        }
    } else if (s[idx] == '0') {
        idx++;
    } else {
        return cf_pyjson_fail(sc, "Expecting value", start);
    }
    if (idx < end_idx && s[idx] == '.' && s[idx + 1] >= '0' && s[idx + 1] <= '9') {
        is_float = 1;
        idx += 2;
        while (idx <= end_idx && s[idx] >= '0' && s[idx] <= '9') {
            idx++;
        }
    }
    if (idx < end_idx && (s[idx] == 'e' || s[idx] == 'E')) {
        size_t e_start = idx;
        idx++;
        if (idx < end_idx && (s[idx] == '-' || s[idx] == '+')) {
            idx++;
        }
        while (idx <= end_idx && s[idx] >= '0' && s[idx] <= '9') {
            idx++;
        }
        if (s[idx - 1] >= '0' && s[idx - 1] <= '9') {
            is_float = 1;
        } else {
            idx = e_start;
        }
    }
    *next = idx;

    char small[64];
    size_t n = idx - start;
    char *text = n < sizeof(small) ? small : malloc(n + 1);
    if (text == NULL) {
        return cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
    }
    memcpy(text, s + start, n);
    text[n] = '\0';
    json_t *v = NULL;
    errno = 0;
    if (!is_float) {
        long long ll = strtoll(text, NULL, 10);
        if (errno == 0) {
            v = json_integer(ll);
            goto done;
        }
        /* Python's ints are unbounded; the nearest float keeps the value usable. */
        errno = 0;
    }
    double d = strtod(text, NULL);
    if (isinf(d)) {
        sc->unrepresentable = "a number is too large";
        d = 0.0;
    }
    v = json_real(d);
done:
    if (v == NULL && !sc->fatal) {
        cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
    }
    if (text != small) {
        free(text);
    }
    return v;
}

/* _parse_object_unicode: idx is just after '{'. */
static json_t *cf_pyjson_object(cf_pyjson_scan *sc, size_t idx, size_t *next_out)
{
    const unsigned char *s = sc->s;
    size_t n = sc->n;
    json_t *obj = json_object();
    json_t *val = NULL;
    cf_pyjson_buf key = {0};

    if (obj == NULL) {
        goto nomem;
    }
    idx = cf_pyjson_skip_ws(sc, idx);
    if (idx >= n || s[idx] != '}') {
        for (;;) {
            size_t next;
            if (idx >= n || s[idx] != '"') {
                cf_pyjson_fail(sc, "Expecting property name enclosed in double quotes", idx);
                goto fail;
            }
            key.len = 0;
            if (cf_pyjson_string_raw(sc, idx + 1, &next, &key) != 0) {
                goto fail;
            }
            idx = cf_pyjson_skip_ws(sc, next);
            if (idx >= n || s[idx] != ':') {
                cf_pyjson_fail(sc, "Expecting ':' delimiter", idx);
                goto fail;
            }
            idx = cf_pyjson_skip_ws(sc, idx + 1);
            val = cf_pyjson_value(sc, idx, &next);
            if (val == NULL) {
                goto fail;
            }
            if (json_object_setn_new(obj, key.p ? key.p : "", key.len, val) != 0) {
                val = NULL;
                goto nomem;
            }
            val = NULL;
            idx = cf_pyjson_skip_ws(sc, next);
            if (idx < n && s[idx] == '}') {
                break;
            }
            if (idx >= n || s[idx] != ',') {
                cf_pyjson_fail(sc, "Expecting ',' delimiter", idx);
                goto fail;
            }
            idx = cf_pyjson_skip_ws(sc, idx + 1);
        }
    }
    *next_out = idx + 1;
    free(key.p);
    return obj;
nomem:
    cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
fail:
    free(key.p);
    json_decref(obj);
    return NULL;
}

/* _parse_array_unicode: idx is just after '['. */
static json_t *cf_pyjson_array(cf_pyjson_scan *sc, size_t idx, size_t *next_out)
{
    const unsigned char *s = sc->s;
    size_t n = sc->n;
    json_t *arr = json_array();

    if (arr == NULL) {
        return cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
    }
    idx = cf_pyjson_skip_ws(sc, idx);
    if (idx >= n || s[idx] != ']') {
        for (;;) {
            size_t next;
            json_t *val = cf_pyjson_value(sc, idx, &next);
            if (val == NULL) {
                goto fail;
            }
            if (json_array_append_new(arr, val) != 0) {
                cf_pyjson_fatal(sc, CF_ENOMEM, "out of memory parsing JSON");
                goto fail;
            }
            idx = cf_pyjson_skip_ws(sc, next);
            if (idx < n && s[idx] == ']') {
                break;
            }
            if (idx >= n || s[idx] != ',') {
                cf_pyjson_fail(sc, "Expecting ',' delimiter", idx);
                goto fail;
            }
            idx = cf_pyjson_skip_ws(sc, idx + 1);
        }
    }
    *next_out = idx + 1;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static int cf_pyjson_word(const cf_pyjson_scan *sc, size_t idx, const char *word)
{
    size_t w = strlen(word);
    return idx + w <= sc->n && memcmp(sc->s + idx, word, w) == 0;
}

/* scan_once_unicode: one value starting exactly at idx. */
static json_t *cf_pyjson_value(cf_pyjson_scan *sc, size_t idx, size_t *next)
{
    json_t *v = NULL;
    if (idx >= sc->n) {
        return cf_pyjson_fail(sc, "Expecting value", idx);
    }
    switch (sc->s[idx]) {
    case '"':
        return cf_pyjson_string(sc, idx + 1, next);
    case '{':
    case '[':
        if (++sc->depth > CF_PYJSON_MAX_DEPTH) {
            return cf_pyjson_fatal(sc, CF_EINVAL, "JSON nested too deeply");
        }
        v = sc->s[idx] == '{' ? cf_pyjson_object(sc, idx + 1, next)
                              : cf_pyjson_array(sc, idx + 1, next);
        sc->depth--;
        return v;
    case 'n':
        if (cf_pyjson_word(sc, idx, "null")) {
            *next = idx + 4;
            v = json_null();
        }
        break;
    case 't':
        if (cf_pyjson_word(sc, idx, "true")) {
            *next = idx + 4;
            v = json_true();
        }
        break;
    case 'f':
        if (cf_pyjson_word(sc, idx, "false")) {
            *next = idx + 5;
            v = json_false();
        }
        break;
    default:
        break;
    }
    if (v != NULL) {
        return v;
    }
    return cf_pyjson_number(sc, idx, next);
}

/* Number of code points in s[0,n) of valid UTF-8: the non-continuation bytes. */
static size_t cf_pyjson_chars(const unsigned char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        count += (s[i] & 0xc0) != 0x80;
    }
    return count;
}

json_t *cf_pyjson_loads(const char *text, size_t len, cf_pyjson_error *perr, cf_error *err)
{
    const unsigned char *s = (const unsigned char *)text;
    json_t *v = NULL;
    cf_pyjson_scan sc = {0};

    memset(perr, 0, sizeof(*perr));
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        len -= 3;
    }
    if (!cf_utf8_valid(s, len)) {
        cf_error_set(err, CF_EINVAL, "the body is not valid UTF-8");
        return NULL;
    }
    sc.s = s;
    sc.n = len;
    sc.err = err;

    size_t next = 0;
    v = cf_pyjson_value(&sc, cf_pyjson_skip_ws(&sc, 0), &next);
    if (v != NULL) {
        next = cf_pyjson_skip_ws(&sc, next);
        if (next != len) {
            json_decref(v);
            v = NULL;
            cf_pyjson_fail(&sc, "Extra data", next);
        }
    }
    if (v != NULL && sc.unrepresentable != NULL) {
        json_decref(v);
        cf_error_set(err, CF_EINVAL, "%s", sc.unrepresentable);
        return NULL;
    }
    if (v != NULL) {
        return v;
    }
    if (sc.fatal) {
        return NULL;
    }
    perr->msg = sc.msg;
    perr->pos = cf_pyjson_chars(s, sc.pos);
    perr->lineno = 1;
    size_t last_nl = 0;
    int seen_nl = 0;
    for (size_t i = 0; i < sc.pos; i++) {
        if (s[i] == '\n') {
            perr->lineno++;
            last_nl = i;
            seen_nl = 1;
        }
    }
    perr->colno = seen_nl ? cf_pyjson_chars(s + last_nl, sc.pos - last_nl) : perr->pos + 1;
    cf_error_set(err, CF_EINVAL, "%s: line %zu column %zu (char %zu)", perr->msg, perr->lineno,
                 perr->colno, perr->pos);
    return NULL;
}

json_t *cf_pyjson_error_detail(const cf_pyjson_error *perr, const char *text, size_t len)
{
    char msg[256];
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    snprintf(msg, sizeof(msg), "%s: line %zu column %zu (char %zu)", perr->msg, perr->lineno,
             perr->colno, perr->pos);
    return json_pack("{s:[s,I],s:s,s:s,s:{s:s,s:s%,s:I,s:I,s:I}}", "loc", "body",
                     (json_int_t)perr->pos, "msg", msg, "type", "value_error.jsondecode", "ctx",
                     "msg", perr->msg, "doc", text, len, "pos", (json_int_t)perr->pos, "lineno",
                     (json_int_t)perr->lineno, "colno", (json_int_t)perr->colno);
}
