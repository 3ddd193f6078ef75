/* cogyaml.h - loading and checking a project's cog.yaml (Cog's v1.0 schema). */
#ifndef CF_COGYAML_H
#define CF_COGYAML_H

#include <stddef.h>

#include "error.h"

/* What cog.yaml says, as far as cog-fcgi cares. Every string and array is
 * owned by the struct and released by cf_cogyaml_cleanup(); a field that the
 * file does not set is NULL (strings, arrays) or 0 (numbers). Arrays are
 * NULL-terminated. */
typedef struct cf_cogyaml {
    char *predict;          /* "predict.py:Predictor", from `predict:` or v0.22's `run:` */
    char *train;            /* `train:` */
    int gpu;                /* build.gpu */
    char *python_version;   /* build.python_version as written ("3.11", 3.11 -> "3.11") */
    int concurrency_max;    /* concurrency.max */
    char **environment;     /* top-level `environment`: "NAME=value" strings */
    char **python_packages; /* build.python_packages */
    char *python_requirements; /* build.python_requirements */
    char **system_packages; /* build.system_packages */
    char *image;            /* `image:` */
} cf_cogyaml;

/* Reads and checks the cog.yaml at path into *out (caller storage, fully
 * overwritten). Returns 0, or a negative CF_E* code with err->msg naming the
 * file, the 1-based line and the key, e.g.
 *   cog.yaml:3: unknown key "buidl" at the top level
 * CF_EINVAL for a file Cog would reject (syntax, unknown keys, wrong types,
 * an empty file), CF_ENOTFOUND / CF_EIO when it cannot be read, CF_ENOMEM.
 * On failure *out is left zeroed, so cf_cogyaml_cleanup() is always safe.
 * A file without predict/run is accepted: the caller decides. */
int cf_cogyaml_load(const char *path, cf_cogyaml *out, cf_error *err);

/* Frees everything *y owns and zeroes it. y may be NULL. */
void cf_cogyaml_cleanup(cf_cogyaml *y);

/* Compares build.python_version's major.minor with `embedded` ("3.11" or
 * "3.11.2"). Returns 1 with a warning in buf when they differ, 0 (buf empty)
 * when they match or cog.yaml names no version. */
int cf_cogyaml_python_mismatch(const cf_cogyaml *y, const char *embedded,
                               char *buf, size_t len);

#endif
