/* slot.h - one worker process: spawning it and the descriptors that reach it.
 *
 * A slot is an embedded-Python worker started by posix_spawn (never a bare
 * fork of the front). The front talks to it over a socket pair (frames, see
 * ipc.h). Its fds 1 and 2 start as a pipe the front reads: the worker soon
 * captures them itself and sends what the model prints as log frames
 * (worker_logs.h), so the pipe carries only what it prints before that.
 */
#ifndef CF_SLOT_H
#define CF_SLOT_H

#include <sys/types.h>

#include "error.h"

typedef struct cf_worker_spec {
    const char *worker_exe;   /* path of cog-fcgi-worker */
    const char *project;      /* project directory (absolute) */
    const char *predict_ref;  /* "predict.py:Predictor" or NULL */
    const char *train_ref;    /* or NULL */
    const char *python;       /* interpreter to configure, NULL = /usr/bin/python3 */
    char *const *environment; /* extra NAME=value strings (cog.yaml), NULL-terminated or NULL */
    int concurrency_max;      /* from cog.yaml, 0 = unset */
    unsigned long long memory_limit; /* bytes of address space for the worker, 0 = none */
} cf_worker_spec;

typedef struct cf_slot {
    pid_t pid;     /* 0 when not running */
    int ipc_fd;    /* our end of the socket pair */
    int log_fd;    /* read end of the worker's stdout/stderr pipe, non-blocking */
} cf_slot;

/* Finds cog-fcgi-worker: $COG_FCGI_WORKER, else next to this executable.
 * Writes the path into buf. 0 or CF_ENOTFOUND. */
int cf_slot_find_worker(char *buf, size_t len, cf_error *err);

/* Starts a worker for spec. On success slot holds its pid and our fds.
 * device, when not NULL or "", becomes its CUDA_VISIBLE_DEVICES (--gpus),
 * replacing any inherited or cog.yaml value. */
int cf_slot_start(cf_slot *slot, const cf_worker_spec *spec, const char *device, cf_error *err);

/* Starts a spare (`cog-fcgi-worker --standby`): Python and cog load, then
 * it waits for a load frame (py_worker.h) before importing the model. */
int cf_slot_start_standby(cf_slot *slot, const cf_worker_spec *spec, cf_error *err);

/* Closes our descriptors (the worker sees EOF and exits), sends SIGKILL if
 * `kill_it`, and reaps it. Returns the wait status, or -1 if none. */
int cf_slot_stop(cf_slot *slot, int kill_it);

/* Reaps the worker after its ipc fd reported EOF; waits up to a second for it
 * to exit, then kills it. Returns the wait status. */
int cf_slot_reap(cf_slot *slot);

/* Describes a wait status as Cog does: the exit code, or -signal. */
int cf_slot_exitcode(int wstatus);

#endif
