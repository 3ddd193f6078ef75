/* pool_opts.h - the serve flags of the worker pool: --workers, --gpus, --idle-timeout, --min-workers. */
#ifndef CF_POOL_OPTS_H
#define CF_POOL_OPTS_H

#include "error.h"
#include "runner.h"

typedef struct cf_pool_opts {
    int workers;           /* 1 unless --workers */
    double idle_timeout;   /* 0 = never */
    int min_workers;
    char gpus[256];        /* --gpus as given, split in place */
    const char *devices[CF_MAX_WORKERS + 1]; /* NULL-terminated; devices[0] NULL = none */
    int metrics;           /* --metrics: 0 off, 1 on (through the web server), 2 own listener */
    const char *metrics_listen; /* HOST:PORT for 2 */
} cf_pool_opts;

void cf_pool_opts_init(cf_pool_opts *o);

/* One flag: name is "--workers", "--gpus", "--idle-timeout",
 * "--min-workers" or "--metrics". 0, or CF_EINVAL with a message naming
 * the flag. value must outlive o (argv). */
int cf_pool_opts_set(cf_pool_opts *o, const char *name, const char *value, cf_error *err);

/* Checks the flags together (--min-workers <= --workers). Copies them
 * into cfg. 0 or CF_EINVAL. */
int cf_pool_opts_apply(const cf_pool_opts *o, cf_runner_config *cfg, cf_error *err);

#endif
