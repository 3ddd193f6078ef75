/* multipart.h - multipart/form-data prediction requests, file parts spooled to disk.
 *
 * `curl -F image=@photo.jpg -F prompt=hi .../predictions`: each part is one
 * input named by its name. A part with a filename is written to a new file
 * as it arrives (64 KiB at a time, never whole in memory) in a spool
 * directory with an unguessable name (/tmp/cog-fcgi-form-PID-<32 hex>);
 * its input value is "cog-fcgi-form:<32 hex>/<name>", which validation
 * accepts as a file URL and files.c resolves to that file (moved into the
 * prediction's input directory). Other parts are text, typed by the
 * schema (cf_form_to_body). The fields id, webhook, webhook_events_filter
 * and output_file_prefix are the request's own unless the model has an
 * input of that name.
 */
#ifndef CF_MULTIPART_H
#define CF_MULTIPART_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stddef.h>

#include "error.h"

#define CF_FORM_SCHEME "cog-fcgi-form:"

typedef struct cf_form_part {
    char *name;
    char *filename; /* NULL: a text part */
    char *value;    /* a text part's bytes (NUL-terminated), or the file's URL */
    size_t len;
} cf_form_part;

typedef struct cf_form {
    cf_form_part *parts;
    size_t n;
    char spool[256]; /* "" until a file part came */
    int kept;        /* the spool belongs to an accepted prediction now */
} cf_form;

/* 1 when content_type is multipart/form-data; copies its boundary. */
int cf_multipart_boundary(const char *content_type, char *out, size_t len);

/* Reads a whole multipart body from in. At most max_body bytes are read
 * into parts (text and files together; more: *too_large, the rest is
 * drained). CF_EINVAL with what is wrong for a malformed body, CF_EIO when
 * a file cannot be written, CF_ENOMEM. *form is filled also on failure;
 * cf_form_free it. */
int cf_multipart_read(FCGX_Stream *in, const char *boundary, size_t max_body, cf_form *form,
                      int *too_large, cf_error *err);

/* The same from any source: read(ctx, buf, n) returns up to n bytes, 0 at
 * the end (unit tests feed it in pieces). */
int cf_multipart_read_from(int (*read)(void *ctx, char *buf, int n), void *ctx,
                           const char *boundary, size_t max_body, cf_form *form, int *too_large,
                           cf_error *err);

/* The request object {"input": {...}, ...} of form, each text part parsed as
 * the JSON value that the schema's type for its input wants (integer,
 * number, boolean, array, object; a value that does not parse stays a
 * string, so validation answers its usual 422); repeated names and array
 * inputs become arrays. schema: the worker's SCHEMA (borrowed). New
 * reference or NULL (out of memory). */
json_t *cf_form_to_body(const cf_form *form, const json_t *schema);

/* The spool now belongs to a prediction: cf_form_free leaves its files. */
void cf_form_keep(cf_form *form);

/* Frees form; removes its spool directory and files unless kept. */
void cf_form_free(cf_form *form);

/* For files.c: the spooled file that a "cog-fcgi-form:..." value names,
 * into path. CF_EINVAL when value is not one or names no spooled file. */
int cf_form_file_path(const char *value, char *path, size_t len, cf_error *err);

#endif
