/* files_dir.h - file outputs written to a directory and served by the web server.
 *
 * With --files-dir DIR --files-url URL, a file output is not inlined as a
 * data URI (a 100 MB file would be 133 MB of base64 through the responder):
 * it is copied to DIR under a unique unguessable name (32 random hex digits,
 * a dash, its own name) and answered as URL + that name. A GET of such a URL
 * that reaches cog-fcgi (URL's path) is answered with no body and a header
 * that makes the web server send the file itself: nginx's
 * "X-Accel-Redirect: PREFIX/NAME" (an `internal` location that aliases DIR,
 * --files-accel PREFIX, default /cog-fcgi-files/), or Apache mod_xsendfile's
 * "X-Sendfile: DIR/NAME" (--files-sendfile). Files are never removed by
 * cog-fcgi: expire them with a cron job or a tmpfiles.d rule.
 */
#ifndef CF_FILES_DIR_H
#define CF_FILES_DIR_H

#include <jansson.h>

#include "error.h"
#include "http.h"

typedef struct cf_files_dir_config {
    const char *dir;          /* --files-dir, or NULL: off */
    const char *url;          /* --files-url (default /files/) */
    const char *accel_prefix; /* --files-accel (default /cog-fcgi-files/) */
    int sendfile;             /* --files-sendfile: X-Sendfile instead */
} cf_files_dir_config;

/* Set once at start-up. CF_EINVAL when dir is not a writable directory. */
int cf_files_dir_configure(const cf_files_dir_config *cfg, cf_error *err);

/* 1 when --files-dir is in force. */
int cf_files_dir_enabled(void);

/* Copies the file at path into the directory (streamed, never whole in
 * memory) and returns its URL as a new json string, or NULL with err set. */
json_t *cf_files_dir_store(const char *path, cf_error *err);

/* When req's path is under --files-url's path: answers it (X-Accel-Redirect
 * / X-Sendfile, 404 for a name not there, 405 for a method but GET/HEAD)
 * and returns 1; else 0. */
int cf_files_dir_route(cf_request *req);

#endif
