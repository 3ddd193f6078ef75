/* json_in.h - the request-body JSON reader: fails exactly as Python's json module does. */
#ifndef CF_JSON_IN_H
#define CF_JSON_IN_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* A json.JSONDecodeError: msg is static ("Expecting value", ...), pos a
 * code point offset into the document, lineno/colno 1-based as Python counts. */
typedef struct cf_pyjson_error {
    const char *msg;
    size_t pos;
    size_t lineno;
    size_t colno;
} cf_pyjson_error;

/* Parses text[0,len) (UTF-8; a leading BOM is skipped, as json.loads(bytes)
 * does) with the grammar and error positions of CPython 3.11's json module
 * (duplicate keys: the last wins, in the first one's place).
 * Returns a new reference, or NULL with:
 *   CF_EINVAL and perr->msg set: a syntax error, reported as Python would
 *     (perr->pos etc. relative to the text after the BOM);
 *   CF_EINVAL and perr->msg NULL: the bytes are not UTF-8, the nesting is
 *     too deep, or Python would accept the text but JSON cannot hold the
 *     value (a lone surrogate, a float overflowing to infinity); FastAPI
 *     answers those with 400 (the reason is in err);
 *   CF_ENOMEM.
 * NaN and Infinity, which Python accepts, are refused as "Expecting value". */
json_t *cf_pyjson_loads(const char *text, size_t len, cf_pyjson_error *perr, cf_error *err);

/* FastAPI's 422 item for a decode error of the document text[0,len) (the
 * same text given to cf_pyjson_loads): {"loc":["body",pos],"msg":"<msg>:
 * line L column C (char P)","type":"value_error.jsondecode","ctx":{"msg",
 * "doc","pos","lineno","colno"}}. Returns a new reference or NULL (memory). */
json_t *cf_pyjson_error_detail(const cf_pyjson_error *perr, const char *text, size_t len);

#endif
