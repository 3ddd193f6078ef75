/* project.c - reading a project's cog.yaml into what the runner needs. */
#include "project.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The Python the worker embeds, as the build saw it. */
#ifndef CF_PYTHON_VERSION
#define CF_PYTHON_VERSION "3.11"
#endif

int cf_project_load(cf_project *proj, const char *dir, cf_error *err)
{
    memset(proj, 0, sizeof *proj);
    if (realpath(dir, proj->dir) == NULL)
        return cf_error_set(err, CF_ENOTFOUND, "project directory %s: %s", dir, strerror(errno));
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cog.yaml", proj->dir);
    int rc = cf_cogyaml_load(path, &proj->yaml, err);
    if (rc != CF_OK)
        return rc;
    if (proj->yaml.predict == NULL) {
        cf_cogyaml_cleanup(&proj->yaml);
        return cf_error_set(err, CF_EINVAL, "%s: no predict: (or run:) entry to serve", path);
    }
    char warning[256];
    if (cf_cogyaml_python_mismatch(&proj->yaml, CF_PYTHON_VERSION, warning, sizeof warning))
        cf_log_warn("CF0101", "%s", warning);
    rc = cf_slot_find_worker(proj->worker_exe, sizeof proj->worker_exe, err);
    if (rc != CF_OK) {
        cf_cogyaml_cleanup(&proj->yaml);
        return rc;
    }
    proj->spec.worker_exe = proj->worker_exe;
    proj->spec.project = proj->dir;
    proj->spec.predict_ref = proj->yaml.predict;
    proj->spec.train_ref = proj->yaml.train;
    proj->spec.environment = proj->yaml.environment;
    proj->spec.concurrency_max = proj->yaml.concurrency_max;
    proj->spec.python = getenv("COG_FCGI_PYTHON");
    char venv[PATH_MAX + 8];
    snprintf(venv, sizeof venv, "%s/.venv", proj->dir);
    if (access(venv, F_OK) == 0 && cf_project_use_venv(proj, venv, err) != CF_OK)
        cf_log_warn("CF0102", "%s: ignored", err->msg);
    return CF_OK;
}

int cf_project_use_venv(cf_project *proj, const char *venv, cf_error *err)
{
    char python[PATH_MAX + 16];
    snprintf(python, sizeof python, "%s/bin/python", venv);
    /* Keep the venv's path (not its target): Python finds pyvenv.cfg next
     * to the executable it was told, and never set home to the venv. */
    if (access(python, X_OK) != 0)
        return cf_error_set(err, CF_ENOTFOUND, "virtualenv %s has no bin/python: %s", venv,
                            strerror(errno));
    char abs[PATH_MAX];
    if (realpath(venv, abs) == NULL)
        return cf_error_set(err, CF_ENOTFOUND, "virtualenv %s: %s", venv, strerror(errno));
    if (strlen(abs) + 12 > sizeof proj->python)
        return cf_error_set(err, CF_EINVAL, "virtualenv path too long: %s", abs);
    memcpy(proj->python, abs, strlen(abs));
    strcpy(proj->python + strlen(abs), "/bin/python");
    proj->spec.python = proj->python;
    cf_log_info("CF0103", "using the virtualenv %s", abs);
    return CF_OK;
}

void cf_project_cleanup(cf_project *proj)
{
    cf_cogyaml_cleanup(&proj->yaml);
}
