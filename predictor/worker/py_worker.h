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
};

/* Starts Python, loads the project, runs setup(), sends "ready", then serves
 * "predict" frames until "shutdown" or EOF. Returns 0 then (the caller
 * _exit()s: never Py_FinalizeEx a worker), or a negative CF_E* code with err
 * set when Python could not start or the IPC socket broke. Python's and C's
 * stdio are flushed before it returns. */
int cf_py_worker_run(const struct cf_worker_opts *opts, cf_error *err);

#endif
