/* intake.h - from a parsed request body to a prediction record.
 *
 * Validation against the model's schema, the request-level fields (id,
 * created_at, webhook, filter, context) and the two views of the input:
 * what the worker gets and what clients see echoed (secrets masked, File
 * inputs as {}). Shared by the HTTP handler and `cog-fcgi predict`.
 */
#ifndef CF_INTAKE_H
#define CF_INTAKE_H

#include <jansson.h>

#include "error.h"
#include "prediction.h"

/* schema: the worker's SCHEMA (borrowed). body: the request object
 * (borrowed). id: the id to use (NULL: the body's "id", else generated).
 * Returns a new record, or NULL: with err->code CF_EINVAL when the request
 * is invalid and its 422 items appended to details, another code on
 * failure. */
cf_prediction *cf_intake(const json_t *schema, const json_t *body, const char *id,
                         json_t *details, cf_error *err);

#endif
