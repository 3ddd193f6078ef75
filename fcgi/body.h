/* body.h - turn a prediction request body into a JSON object, as FastAPI does. */
#ifndef CF_BODY_H
#define CF_BODY_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* FastAPI's answer (HTTP 400) for a body it cannot even decode. */
#define CF_BODY_PARSE_ERROR "There was an error parsing the body"

/* Parses a prediction request body (COG-API.md section 3, case 06).
 * body may be NULL or len 0 (no body); content_type may be NULL (no header);
 * for_put: PUT requires a body.
 * Returns 0 and *out = a new reference to the request object: {} for a POST
 * without a body (or with the body `null`).
 * Returns CF_EINVAL for a request FastAPI refuses:
 *   - with 422 items appended to details (borrowed array): a non-JSON content
 *     type or a JSON value that is not an object ("value is not a valid
 *     dict"), a PUT without a body ("field required"), malformed JSON
 *     (value_error.jsondecode with Python's message and position);
 *   - with nothing appended: the body cannot be decoded at all (not UTF-8,
 *     nested too deeply, a value JSON cannot hold): answer 400
 *     {"detail": CF_BODY_PARSE_ERROR}; err says why.
 * CF_ENOMEM otherwise. */
int cf_body_parse(const char *body, size_t len, const char *content_type, int for_put, json_t **out,
                  json_t *details, cf_error *err);

/* Whether FastAPI reads a body with this Content-Type as JSON: no header or
 * an empty one, or application/json, application/<anything>+json (any case,
 * parameters ignored). */
int cf_body_is_json_type(const char *content_type);

#endif
