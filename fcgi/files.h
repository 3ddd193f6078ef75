/* files.h - file inputs made local before the worker sees them, and file
 * outputs encoded after it is done.
 *
 * Files cross the front/worker boundary as paths: the front decodes data
 * URIs and downloads http(s) URLs into a per-prediction temp directory, and
 * turns the worker's {"$cogfile": path} outputs into data URIs.
 */
#ifndef CF_FILES_H
#define CF_FILES_H

#include <jansson.h>

#include "error.h"
#include "prediction.h"

/* Replaces every file input of p->input_worker (per p->kinds) by a local
 * path under a new p->tempdir. Blocking (downloads). On failure err holds
 * the reason the prediction fails with. */
int cf_files_prepare(cf_prediction *p, cf_error *err);

/* Walks *output and replaces each {"$cogfile": path} by a data URI; *output
 * itself may be replaced (a single file output). */
int cf_files_encode_outputs(json_t **output, cf_error *err);

/* Calls fn(path, ctx, err) for every {"$cogfile": path} in *output (also a
 * bare one: *output may be replaced) and puts the value it returns (a new
 * reference) in its place. Stops at the first NULL with err set. */
int cf_files_map_outputs(json_t **output, json_t *(*fn)(const char *path, void *ctx, cf_error *err),
                         void *ctx, cf_error *err);

/* Removes p->tempdir and what is in it. */
void cf_files_cleanup(cf_prediction *p);

/* Copies each {"$cogfile": path} of output to dest (a directory or, for a
 * single file output, a file name) and replaces it by the new path. */
int cf_files_save_outputs(json_t **output, const char *dest, cf_error *err);

#endif
