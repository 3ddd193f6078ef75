/* py_worker.h - the worker's serve loop as seen from worker_main.c (no <Python.h> here). */
#ifndef CF_PY_WORKER_H
#define CF_PY_WORKER_H

#include "error.h"

/* What the front told the worker on its command line. Strings are borrowed. */
struct cf_worker_opts {
    const char *project;     /* absolute project directory; already the cwd */
    const char *predict_ref; /* "predict.py:Predictor" or NULL */
    const char *train_ref;   /* "train.py:train" or NULL */
    const char *python;      /* interpreter to configure, e.g. /usr/bin/python3 */
    int ipc_fd;              /* the socket to the front */
    int standby;             /* --standby: a spare for a pool that scales from zero */
};

/* Starts Python, loads the project, runs setup(), sends "ready", then serves
 * "predict" frames until "shutdown" or EOF. Returns 0 then (the caller
 * _exit()s: never Py_FinalizeEx a worker), or a negative CF_E* code with err
 * set when Python could not start or the IPC socket broke. Python's and C's
 * stdio are flushed before it returns. */
int cf_py_worker_run(const struct cf_worker_opts *opts, cf_error *err);

/* With opts->standby the worker first starts Python and imports cog, sends
 * {"type":"standby"} and waits: a {"type":"load","env":{..}} frame sets
 * those environment variables (CUDA_VISIBLE_DEVICES: CUDA is not
 * initialised yet) and goes on as above. The front keeps one such spare
 * while slots are offline, so a boot spends only the model's own import
 * and setup(). EOF while waiting: returns 0. */

#endif
