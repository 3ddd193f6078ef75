/* project.h - a Cog project directory: its cog.yaml and the worker spec. */
#ifndef CF_PROJECT_H
#define CF_PROJECT_H

#include <limits.h>

#include "cogyaml.h"
#include "error.h"
#include "slot.h"

typedef struct cf_project {
    char dir[PATH_MAX];           /* absolute */
    char worker_exe[PATH_MAX];
    char python[PATH_MAX];        /* a virtualenv's interpreter, or "" */
    cf_cogyaml yaml;
    cf_worker_spec spec;          /* points into the fields above */
} cf_project;

/* Loads DIR/cog.yaml and finds the worker. Warns when build.python_version
 * differs from the embedded Python. 0 or an error naming the file and line. */
int cf_project_load(cf_project *proj, const char *dir, cf_error *err);
void cf_project_cleanup(cf_project *proj);

/* Makes the worker use the virtualenv at venv (its bin/python): the
 * hosted user's own packages. NULL means PROJECT/.venv when it exists,
 * which cf_project_load already applied. CF_ENOTFOUND if venv has no
 * bin/python. */
int cf_project_use_venv(cf_project *proj, const char *venv, cf_error *err);

#endif
