/* validate.h - check and coerce a prediction request the way Cog's pydantic 1 models do. */
#ifndef CF_VALIDATE_H
#define CF_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "pyfloat.h"
#include "request_fields.h" /* the request-level half, for callers of both */

/* Validates a prediction's `input` (borrowed, NULL or JSON null = {})
 * against input_schema (components.schemas.Input, COG-API.md section 11.1).
 * components maps component names to schemas, for the
 * {"allOf":[{"$ref":"#/components/schemas/<name>"}]} of choices (the map
 * itself or a full "components" object holding "schemas"; may be NULL).
 * kinds ({"name":"path"|"file"|"secret"}, may be NULL) marks file and secret
 * inputs; without it "format":"uri" and "x-cog-secret" in the schema do.
 *
 * Returns 0 and *validated = a new object with every declared property in
 * x-order: values coerced as pydantic 1 does (section 10, with section 16's
 * refusal of 2.5 for an int), defaults filled in as given, absent optional
 * inputs null, unknown keys dropped. An Input with no properties at all
 * (**kwargs) keeps every key as given.
 * Returns CF_EINVAL when an input is invalid, with one 422 item per failing
 * input appended to details (borrowed JSON array) in Input field order:
 * {"loc":["body","input",name(,index)],"msg":..,"type":..(,"ctx":..)}.
 * Other negatives (CF_ENOMEM; CF_EPROTO for a schema pattern PCRE2 cannot
 * compile) set err; details may then hold a partial list: answer 500. */
int cf_validate_input(const json_t *input_schema, const json_t *components, const json_t *kinds,
                      const json_t *input, json_t **validated, json_t *details, cf_error *err);

/* The cf_pylike_* helpers are plain C that reproduces what Python prints or
 * parses (repr, str.strip, float()); the cf_py_* names are kept for the
 * worker's calls into the embedded interpreter (predictor/worker/). */

/* ---- shared with request_fields.c; not for other callers ---- */

/* One validation run: where 422 items go, and whether it failed fatally. */
typedef struct cf_vctx {
    const json_t *components;
    json_t *details; /* borrowed: where errors go */
    cf_error *err;
    int failed; /* a fatal error (memory, schema): code, and err */
    int code;
} cf_vctx;

/* Python's str.strip() for the ASCII whitespace it strips. */
void cf_pylike_strip(const char **s, size_t *len);

/* float(str): 0 and *out for a finite number, -1 for text Python refuses or
 * for inf/nan (which JSON cannot carry). */
int cf_pylike_parse_float(const char *s, size_t len, double *out);

/* Python's repr() of a str: single quotes unless the text holds a single
 * quote and no double quote. Malloc'd, NULL on no memory. */
char *cf_pylike_str_repr(const char *s);

/* Code points in len bytes of UTF-8. */
size_t cf_utf8_chars(const char *s, size_t len);

/* Marks c failed with CF_ENOMEM (once). */
void cf_v_oom(cf_vctx *c);

/* Appends {"loc":loc,"msg","type"(,"ctx")} to c->details; ctx is stolen.
 * Always returns NULL. */
json_t *cf_v_error(cf_vctx *c, const json_t *loc, const char *msg, const char *type, json_t *ctx);

/* loc + [name], a new array (NULL on no memory). */
json_t *cf_v_loc_key(const json_t *loc, const char *name);

/* str_validator: a new string, or NULL with an error appended. */
json_t *cf_v_str(cf_vctx *c, const json_t *v, const json_t *loc);

/* A value (maybe null) against a schema: the coerced value (new), or NULL
 * with an error appended; null passes when allow_null or "nullable". */
json_t *cf_v_nullable(cf_vctx *c, const json_t *schema, const json_t *v, const json_t *loc,
                      const char *kind, int allow_null);

/* One non-null value against a property or item schema, as cf_v_nullable. */
json_t *cf_v_value(cf_vctx *c, const json_t *prop, const json_t *v, const json_t *loc, const char *kind);

#endif
