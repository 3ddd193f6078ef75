/* openapi.h - Cog's OpenAPI document, assembled from the worker's schemas. */
#ifndef CF_OPENAPI_H
#define CF_OPENAPI_H

#include <jansson.h>

#include "error.h"

/* Builds the whole document GET /openapi.json returns, exactly as Cog
 * 0.15.5 renders it: Cog's fixed paths and components plus, from each
 * SCHEMA of the worker's `ready` message (see ipc.h), "input" as Input,
 * "output" as Output and every entry of "components"; "kinds" is ignored.
 * With train (may be NULL) the /trainings routes and TrainingInput,
 * TrainingOutput, TrainingRequest and TrainingResponse are added.
 * components.schemas is sorted by name, as FastAPI sorts it.
 *
 * predict == NULL (the predictor could not be loaded) gives Cog's document
 * for that state: /shutdown and /health-check only.
 *
 * predict and train are borrowed. Returns a new reference the caller owns,
 * or NULL with err set: CF_EINVAL for a SCHEMA without an "input" or
 * "output" object, CF_ENOMEM. */
json_t *cf_openapi_build(const json_t *predict, const json_t *train, cf_error *err);

#endif
