/* upload.h - file outputs sent to storage instead of inlined as data URIs.
 *
 * Two ways, as in Cog (COG-API.md §8.2): the server's --upload-url (async
 * predictions; a raw PUT of each file to URL/basename, the output becomes
 * the Location the storage answers, without its query) and a request's
 * output_file_prefix (sync predictions; a multipart PUT to prefix+basename,
 * the output becomes exactly that URL).
 */
#ifndef CF_UPLOAD_H
#define CF_UPLOAD_H

#include <jansson.h>

#include "error.h"

typedef struct cf_upload {
    const char *prefix;      /* URL the basename is appended to */
    int multipart;           /* output_file_prefix style */
    const char *prediction_id;
} cf_upload;

/* Uploads every {"$cogfile": path} in *output and replaces it by its URL.
 * Blocking (network): call without locks held. On failure err says which
 * file and why. */
int cf_upload_outputs(json_t **output, const cf_upload *up, cf_error *err);

#endif
