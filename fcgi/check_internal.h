/* check_internal.h - what the pieces of `cog-fcgi check` share: the report and running a program. */
#ifndef CF_CHECK_INTERNAL_H
#define CF_CHECK_INTERNAL_H

#include <limits.h>

#include <jansson.h>

#include "cogyaml.h"

#ifndef CF_PYTHON_VERSION
#define CF_PYTHON_VERSION "3.11"
#endif

/* A torch import alone can take seconds; a broken CUDA setup can hang. */
#define PY_PROBE_TIMEOUT 60.0

/* The report being built. */
typedef struct cf_checker {
    json_t *checks;         /* [{name, status, detail, fix}] */
    int errors, warnings, oks;
    char project[PATH_MAX];
    char python[PATH_MAX + 32]; /* the interpreter the worker will use */
    int venv;               /* python is a virtualenv's */
    json_t *py;             /* the interpreter's report, or NULL */
} cf_checker;

/* Adds one check. status is "ok", "warn" or "error"; fix may be NULL. */
__attribute__((format(printf, 5, 6))) void cf_check_add(cf_checker *c, const char *status,
                                                       const char *name, const char *fix,
                                                       const char *fmt, ...);

/* Runs argv (found on PATH) with stdin from /dev/null and its stdout (and
 * stderr when merge_stderr) captured; kills it after timeout_s. 0 with *out
 * (malloc'd, NUL-terminated, the caller frees) and *wstatus; CF_ENOTFOUND
 * when the program does not exist; CF_EIO with err set when it cannot be
 * started or does not finish in time. */
int cf_check_run(char *const argv[], int merge_stderr, double timeout_s, char **out,
                 int *wstatus, cf_error *err);

/* That predict.py (and train's file) compile, and what they import and run (check_source.c). */
void cf_check_sources(cf_checker *c, const cf_cogyaml *y);
/* A virtualenv made by another Python than the embedded one (check_source.c). */
void cf_check_venv_origin(cf_checker *c);

#endif
