/* runner_int.h - what runner.c (queue, records, the thread) and
 * runner_worker.c (the worker: its frames, logs, timers, restarts) share.
 * Not for other files: they use runner.h. Every function here is called
 * with the runner's lock held unless it says otherwise.
 */
#ifndef CF_RUNNER_INT_H
#define CF_RUNNER_INT_H

#include <pthread.h>

#include "record.h"
#include "runner.h"
#include "webhook.h"

enum worker_state { W_STARTING, W_READY, W_SETUP_FAILED, W_DEFUNCT };

struct cf_runner {
    pthread_mutex_t lock;
    pthread_cond_t ready_cond;
    pthread_cond_t drained_cond; /* a prediction ended: cf_runner_drain looks again */
    cf_runner_config cfg;
    cf_records *records;
    cf_webhooks *webhooks;
    cf_prediction **queue; /* ring of queued records, each holding a reference */
    size_t qhead, qlen, qcap;
    cf_prediction *current; /* running, with a reference */
    cf_slot slot;
    enum worker_state state;
    int ever_ready;
    double setup_started, setup_completed;
    char *setup_logs;
    size_t setup_logs_len;
    int setup_ok;
    char *setup_error;
    json_t *ready_msg; /* the worker's ready frame */
    json_t *openapi;
    int wake[2];
    int stopping;
    pthread_t thread;
    int crashes;       /* consecutive crashes, for backoff */
    double next_start; /* monotonic time the next worker may start */
    double setup_deadline; /* monotonic; 0 = none */
    double kill_at;        /* monotonic time to SIGKILL a worker ignoring a cancel */
    int reload_pending;    /* retire the worker when idle, start one with cfg.spec */
    int draining;          /* shutting down: only queued sync predictions start */
    double next_expire;    /* monotonic time of the next state expiry */
    int direct;            /* a request thread is running r->current itself and
                            * is the only reader of the worker's frames */
    int reading;           /* the runner thread is reading a frame unlocked */
    unsigned direct_epoch; /* counts direct runs: a poll result from before one
                            * may describe a frame the direct thread took */
    size_t reserved;       /* submits between admission and acceptance */
    int preparing;         /* threads fetching file inputs (cf_runner_prepare_files) */
};

/* runner.c */
/* Wakes the runner thread out of its poll. Any thread, lock or not. */
void cf_runner_wake(cf_runner *r);
/* Sends p's webhook for event (CF_EVENT_*) when it asked for it, throttled. */
void cf_runner_emit(cf_runner *r, cf_prediction *p, unsigned event);
/* Ends p (record.h's finish) and sends its completed webhook. */
void cf_runner_end(cf_runner *r, cf_prediction *p, cf_status status, const char *error);
/* Ends r->current and clears it. */
void cf_runner_end_current(cf_runner *r, cf_status status, const char *error);

/* Makes p's file inputs local (decodes data URIs, downloads URLs) into a
 * temp dir, without the slot: a slow URL delays only p. Then p may start;
 * on failure p ends failed. Lock NOT held: it is taken around the edges. */
void cf_runner_prepare_files(cf_runner *r, cf_prediction *p);

/* runner_worker.c */
/* Starts a worker (r->slot); on failure schedules the next try. */
void cf_rw_start(cf_runner *r);
/* The worker's ipc fd said EOF (or an error): reaps it and decides what
 * the running prediction and the worker state become. */
void cf_rw_died(cf_runner *r);
/* Reads what the worker printed through its pipe (before it captured its
 * own fds 1 and 2); closes the pipe at EOF. */
void cf_rw_drain_logs(cf_runner *r);
/* Handles one frame from the worker. */
void cf_rw_frame(cf_runner *r, json_t *msg);
/* Whether frames for the running prediction get their files encoded. */
int cf_rw_wants_encoding(const cf_runner *r);
/* Encodes the output files of a frame the reader owns. Lock NOT held. */
void cf_rw_encode_frame(int encode, json_t *msg);
/* Cancels the running p (SIGUSR1, then SIGKILL after the grace period). */
void cf_rw_cancel(cf_runner *r, cf_prediction *p, const char *reason);
/* Deadlines, the setup timeout, the kill timer, a pending reload. Seconds
 * until the next timer, or -1. */
double cf_rw_timers(cf_runner *r);
/* Starts p (record.h's start) and sends it to the worker; the lock is
 * dropped while the frame is written. 0, or -1 when p ended or the worker
 * is gone. */
int cf_rw_send_prediction(cf_runner *r, cf_prediction *p);

#endif
