/* pool_opts.c - parsing --workers, --gpus, --idle-timeout, --min-workers and --metrics (numbers through opt_parse.h). */
#include "pool_opts.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt_parse.h"

void cf_pool_opts_init(cf_pool_opts *o)
{
    memset(o, 0, sizeof *o);
    o->workers = 1;
    o->metrics = 1;
}

/* The NVIDIA devices the driver lists (/proc/driver/nvidia/gpus/ has one
 * directory per card), as indices "0".."n-1" written into o->gpus. */
static int all_gpus(cf_pool_opts *o, cf_error *err)
{
    DIR *d = opendir("/proc/driver/nvidia/gpus");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    if (n == 0)
        return cf_error_set(err, CF_EINVAL, "--gpus all: no NVIDIA GPU found "
                            "(/proc/driver/nvidia/gpus is empty or missing)");
    size_t len = 0;
    for (int i = 0; i < n && i < CF_MAX_WORKERS; i++)
        len += (size_t)snprintf(o->gpus + len, sizeof o->gpus - len, "%s%d", i ? "," : "", i);
    return CF_OK;
}

static int gpus(cf_pool_opts *o, const char *v, cf_error *err)
{
    if (strcmp(v, "all") == 0) {
        if (all_gpus(o, err) != CF_OK)
            return err->code;
    } else if (snprintf(o->gpus, sizeof o->gpus, "%s", v) >= (int)sizeof o->gpus) {
        return cf_error_set(err, CF_EINVAL, "--gpus: the list is too long");
    }
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(o->gpus, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        /* an index or a UUID (GPU-..., MIG-...): what CUDA_VISIBLE_DEVICES takes */
        for (const char *c = tok; *c; c++)
            if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= 'A' && *c <= 'Z') || *c == '-' || *c == '/' || *c == ':'))
                return cf_error_set(err, CF_EINVAL, "--gpus: \"%s\" is not a device index "
                                    "or UUID", tok);
        if (n == CF_MAX_WORKERS)
            return cf_error_set(err, CF_EINVAL, "--gpus: more than %d devices", CF_MAX_WORKERS);
        o->devices[n++] = tok;
    }
    o->devices[n] = NULL;
    if (n == 0)
        return cf_error_set(err, CF_EINVAL, "--gpus: expected 0,1,... or all, got \"%s\"", v);
    return CF_OK;
}

int cf_pool_opts_set(cf_pool_opts *o, const char *name, const char *value, cf_error *err)
{
    long n;
    if (strcmp(name, "--workers") == 0) {
        if (cf_opt_long(name, value, 1, CF_MAX_WORKERS, &n, err) != CF_OK)
            return err->code;
        o->workers = (int)n;
        return CF_OK;
    }
    if (strcmp(name, "--min-workers") == 0) {
        if (cf_opt_long(name, value, 0, CF_MAX_WORKERS, &n, err) != CF_OK)
            return err->code;
        o->min_workers = (int)n;
        return CF_OK;
    }
    if (strcmp(name, "--idle-timeout") == 0)
        return cf_opt_seconds(name, value, 0, 366 * 86400.0, &o->idle_timeout, err);
    if (strcmp(name, "--gpus") == 0)
        return gpus(o, value, err);
    if (strcmp(name, "--metrics") == 0) {
        if (strcmp(value, "off") == 0) {
            o->metrics = 0;
        } else if (strcmp(value, "on") == 0) {
            o->metrics = 1;
        } else if (strchr(value, ':') != NULL) {
            o->metrics = 2;
            o->metrics_listen = value;
        } else {
            return cf_error_set(err, CF_EINVAL, "--metrics: expected off, on or HOST:PORT, "
                                "got \"%s\"", value);
        }
        return CF_OK;
    }
    return cf_error_set(err, CF_EINVAL, "unknown pool option %s", name);
}

int cf_pool_opts_apply(const cf_pool_opts *o, cf_runner_config *cfg, cf_error *err)
{
    if (o->min_workers > o->workers)
        return cf_error_set(err, CF_EINVAL, "--min-workers %d is more than --workers %d",
                            o->min_workers, o->workers);
    cfg->workers = o->workers;
    cfg->min_workers = o->min_workers;
    cfg->idle_timeout = o->idle_timeout;
    cfg->devices = o->devices[0] ? o->devices : NULL;
    cfg->metrics = o->metrics != 0;
    return CF_OK;
}
