/* app.h - what every request handler needs: options and the runner. */
#ifndef CF_APP_H
#define CF_APP_H

#include <stddef.h>

#include "runner.h"

typedef struct cf_app {
    cf_runner *runner;
    int has_train;            /* cog.yaml has train: */
    size_t max_body;          /* bytes */
    void (*request_shutdown)(void); /* POST /shutdown */
    int playground_off;       /* --no-playground: / is JSON always, /docs 404 */
    const char *project_dir;  /* examples.json is read from here (or NULL) */
    int metrics_fcgi;         /* GET /metrics answers through the web server */
    struct cf_queue *queue;   /* `cog-fcgi queue --listen`: its consumer, shown in health and
                               * metrics; NULL for `serve` */
} cf_app;

#endif
