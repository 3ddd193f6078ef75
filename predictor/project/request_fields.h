/* request_fields.h - check PredictionRequest's own fields and parse datetimes as pydantic 1 does. */
#ifndef CF_REQUEST_FIELDS_H
#define CF_REQUEST_FIELDS_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

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

#endif
