/* validate.h - check and coerce a prediction request the way Cog's pydantic 1 models do. */
#ifndef CF_VALIDATE_H
#define CF_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

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

/* Checks the request-level fields of a prediction request body (borrowed
 * object) after the input: id, created_at, context, output_file_prefix,
 * webhook (pydantic AnyUrl: "invalid or missing URL scheme", ...),
 * webhook_events_filter (a set of start/output/logs/completed; the item
 * index in loc). null is allowed for each. Returns 0, or CF_EINVAL with the
 * 422 items appended to details, or CF_ENOMEM. */
int cf_validate_request_fields(const json_t *body, json_t *details, cf_error *err);

/* Parses a datetime as pydantic 1 does (ISO 8601 "YYYY-MM-DD[T ]HH:MM[:SS[.f]][Z|+HH[:]MM]",
 * or a unix time in seconds or milliseconds, also as a string) and writes
 * Python's isoformat() of it to out: "2024-05-06T07:08:09Z" gives
 * "2024-05-06T07:08:09+00:00"; microseconds appear only when not zero; a
 * value without a zone stays without one. Returns 0, or CF_EINVAL when the
 * text is not a datetime ("invalid datetime format") or out is too small
 * (33 bytes always suffice). */
int cf_normalize_datetime(const char *in, char *out, size_t outlen);

/* The same for a JSON value: a string, or a number (bools count as 0/1,
 * as in Python). */
int cf_normalize_datetime_json(const json_t *value, char *out, size_t outlen);

/* Python's repr() of a finite double ("1.0", "0.1", "1e+16", "1e-05"), the
 * way pydantic writes floats into messages and str() coerces them. out
 * should hold 32 bytes. Returns out. */
char *cf_py_float_repr(double d, char *out, size_t outlen);

#endif
