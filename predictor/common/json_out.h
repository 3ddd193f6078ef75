/* json_out.h - compact JSON text as Cog's server writes it. */
#ifndef CF_JSON_OUT_H
#define CF_JSON_OUT_H

#include <jansson.h>

/* Receives the text in pieces; returns 0, or nonzero to stop the writer. */
typedef int (*cf_json_sink)(void *ctx, const char *data, size_t len);

/* Where the text goes: a growing buffer (cf_json_dumps, cf_json_buf_open),
 * nowhere but a count (cf_json_length), or a sink fed through a small
 * staging buffer, long runs straight from the json_t's own memory
 * (cf_json_write). The fields are json_out.c's. */
typedef struct cf_json_buf {
    char *data;
    size_t len, cap;
    int oom;
    size_t count;      /* bytes produced, every mode */
    int counting;      /* count only */
    cf_json_sink sink; /* or NULL */
    void *ctx;
    int failed;        /* the sink failed: stop producing */
    char *stage;       /* sink mode: small pieces gathered */
    size_t staged;
    size_t limit;      /* growing mode: stop past this many bytes (0: none) */
} cf_json_buf;

/* A text written piece by piece, for a caller that writes an object from
 * its own fields rather than build a json_t first: open, then raw text,
 * strings and values, then close, which answers as cf_json_dumps_upto. */
void cf_json_buf_open(cf_json_buf *b, size_t max);
void cf_json_buf_raw(cf_json_buf *b, const char *s, size_t n);
/* A string literal, its length known at compile time. */
#define CF_JSON_BUF_LIT(b, s) cf_json_buf_raw((b), "" s, sizeof(s) - 1)
void cf_json_buf_string(cf_json_buf *b, const char *s, size_t n);
void cf_json_buf_value(cf_json_buf *b, const json_t *v);
/* Raw text of a C string (a number, a status name); a JSON string or
 * null; a value or null. */
void cf_json_buf_cstr(cf_json_buf *b, const char *s);
void cf_json_buf_string_or_null(cf_json_buf *b, const char *s);
void cf_json_buf_value_or_null(cf_json_buf *b, const json_t *v);
char *cf_json_buf_close(cf_json_buf *b, size_t *len);

/* Serialises v compactly (no spaces, object keys in insertion order, UTF-8
 * kept as is) with floats as Python's repr writes them: 0.1, not jansson's
 * 0.10000000000000001, and 1.0 for a whole float. Returns a malloc'd string
 * or NULL when out of memory. */
char *cf_json_dumps(const json_t *v);

/* cf_json_dumps for a text expected to be small, in one walk: NULL when
 * it is longer than max bytes (then *len is its whole length, counted
 * without being written: use cf_json_dumps or cf_json_write) or memory
 * ran out (*len 0); else *len is its length. */
char *cf_json_dumps_upto(const json_t *v, size_t max, size_t *len);

/* The length of cf_json_dumps(v) without building it (a Content-Length). */
size_t cf_json_length(const json_t *v);


/* Writes the same text as cf_json_dumps to sink, in order: small pieces
 * gathered into a 16 KiB buffer, long strings (a data URI) handed over
 * from v's own memory, so no copy of the whole text exists. Returns 0, or
 * -1 when the sink failed or memory ran out (the text is then cut short). */
int cf_json_write(const json_t *v, cf_json_sink sink, void *ctx);

#endif
