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
 * path under a new p->tempdir: a data URI is decoded once, straight into
 * its file (64 KiB at a time); a URL is downloaded. Values are replaced,
 * arrays too, never changed in place, so p->input_worker may share its
 * arrays with the echoed input. Blocking (downloads). On failure err holds
 * the reason the prediction fails with. */
int cf_files_prepare(cf_prediction *p, cf_error *err);

/* Walks *output and replaces each {"$cogfile": path} by a data URI; *output
 * itself may be replaced (a single file output). Each file is read once
 * (mapped) and encoded into one buffer of its exact size. It touches only
 * *output and the files: call it without any lock, on a value no other
 * thread can see yet (the containers are changed in place). */
int cf_files_encode_outputs(json_t **output, cf_error *err);

/* Calls fn(path, ctx, err) for every {"$cogfile": path} in *output (also a
 * bare one: *output may be replaced) and puts the value it returns (a new
 * reference) in its place. Stops at the first NULL with err set. */
int cf_files_map_outputs(json_t **output, json_t *(*fn)(const char *path, void *ctx, cf_error *err),
                         void *ctx, cf_error *err);

/* Ends p's use of p->tempdir (then NULL). A directory this process made is
 * emptied and kept for the next prediction (its files as truncated spares;
 * all removed at exit); any other one is removed with what is in it. */
void cf_files_cleanup(cf_prediction *p);

/* Copies each {"$cogfile": path} of output to dest (a directory or, for a
 * single file output, a file name) and replaces it by the new path. */
int cf_files_save_outputs(json_t **output, const char *dest, cf_error *err);

#endif
