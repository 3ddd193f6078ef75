/* examples.h - a project's examples.json: named inputs (and recorded outputs) shown as presets.
 *
 * The file is {"examples": [{"name": "...", "input": {...}, "output": ...,
 * "description": "..."}, ...]}: name and input required, output and description optional.
 */
#ifndef CF_EXAMPLES_H
#define CF_EXAMPLES_H

#include <jansson.h>

#include "error.h"

/* Reads PROJECT_DIR/examples.json. Returns a new reference: the document, or
 * {"examples": []} when the project has no such file; NULL with err filled
 * (CF_EINVAL with the line, or CF_EIO) when it cannot be read or has the wrong shape. */
json_t *cf_examples_load(const char *project_dir, cf_error *err);

/* Records one example in PROJECT_DIR/examples.json, replacing the one of the same name
 * (kept in place) or appending it. input and output are borrowed; output may be NULL.
 * The file is replaced atomically (written beside it, then renamed). 0, or a negative
 * code with err filled; a file that exists but is not valid is left untouched. */
int cf_examples_save(const char *project_dir, const char *name, const json_t *input,
                     const json_t *output, cf_error *err);

/* `cog-fcgi predict ... --save-example NAME`: saves input, and output unless the model's
 * Output schema (in openapi, borrowed, may be NULL) has files, whose values on the command
 * line are local paths a browser cannot open. *with_output says which. As cf_examples_save. */
int cf_examples_record(const char *project_dir, const char *name, const json_t *input,
                       const json_t *output, const json_t *openapi, int *with_output,
                       cf_error *err);

#endif
