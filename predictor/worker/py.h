/* py.h - the one header that includes <Python.h>: the worker's Python-facing pieces.
 *
 * Only predictor/worker/py_*.c include this file. The worker's main thread holds the
 * GIL from cf_py_init() on and releases it only around blocking IPC; every
 * function here expects the GIL held (assert(PyGILState_Check())).
 */
#ifndef CF_PY_H
#define CF_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <jansson.h>

#include "error.h"

/* --- py_interp.c: interpreter start-up ------------------------------------ */

/* Initialises the main interpreter for the project: isolated config with site
 * packages, program/executable = python_exe (a venv's bin/python works),
 * unbuffered stdio, no Python signal handlers; sys.path gets project first,
 * then the directory holding the cog package, then $PYTHONPATH. Checks that
 * the runtime libpython is the version we were built against. Must be called
 * once, after cf_py_runtime_register(). Returns 0 or CF_EINVAL/CF_ENOMEM. */
int cf_py_init(const char *python_exe, const char *project, cf_error *err);

/* Writes Python's sys.stdout/sys.stderr buffers and then C stdio to their fds,
 * so the front has every log byte before it reads the next frame. */
void cf_py_flush(void);

/* Turns the pending Python exception (there must be one) into err with code,
 * as "<what>: <ExcType>: <message>", and clears it. Returns code. */
int cf_py_error_take(cf_error *err, int code, const char *what);

/* --- py_convert.c: the one place json_t meets PyObject ----------------------- */

/* A new reference built from value (borrowed): object -> dict (key order
 * kept), array -> list, string -> str, integer -> int, real -> float,
 * true/false -> bool, null -> None. NULL with err set on failure (no Python
 * exception left set). */
PyObject *cf_py_from_json(const json_t *value, cf_error *err);

/* A new json_t built from obj (borrowed): dict with str keys, list/tuple,
 * str, bool, int (64-bit), finite float, None. Anything else, a too deep
 * structure or an integer out of range gives NULL with err CF_EINVAL (no
 * Python exception left set). */
json_t *cf_py_to_json(PyObject *obj, cf_error *err);

/* --- py_runtime.c: the bridge to cog._runtime -------------------------------- */

/* Registers the built-in module _cogfcgi (send(dict) writes one IPC frame to
 * ipc_fd: the cog package's way to send output and metric frames). Call
 * before cf_py_init(). Returns 0 or CF_ENOMEM. */
int cf_py_runtime_register(int ipc_fd);

/* Imports the project, reads the signatures and runs setup(): returns the
 * ready frame (new reference). NULL with err only when cog itself cannot be
 * imported; a broken project still gives a ready frame with ok=false. */
json_t *cf_py_runtime_start(const char *project, const char *predict_ref,
                            const char *train_ref, cf_error *err);

/* Runs one predict frame (msg borrowed); returns the done frame (new
 * reference), or NULL with err if the runtime itself broke. */
json_t *cf_py_runtime_handle(const json_t *msg, cf_error *err);

/* Serves frames with cog._runtime.serve(): the event loop of a predictor
 * whose ready frame said concurrency > 1 reads the frames itself and runs
 * up to that many predictions at once. Returns 0 at EOF, or a negative
 * code with err. */
int cf_py_runtime_serve(cf_error *err);

/* The standby of a spare worker (py_worker.h): imports cog._runtime,
 * sends the standby frame, waits for the load frame and applies its env.
 * 0 when loaded, 1 at EOF, or a negative code with err. */
int cf_py_runtime_standby(int fd, cf_error *err);

/* Runs the predictor's healthcheck() (Cog's 5 s limit) and returns the
 * answer frame {"type":"healthcheck","ok":..,"error":..}; NULL with err. */
json_t *cf_py_runtime_healthcheck(cf_error *err);

#endif
