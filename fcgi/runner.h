/* runner.h - the queue of predictions and the worker that runs them.
 *
 * The runner owns the prediction records (through its record table), a bounded FIFO
 * queue of accepted predictions, and a pool of worker slots (--workers). Its
 * thread starts the workers, reads their frames and logs, hands the next
 * queued prediction to the first idle slot, restarts a worker that died (the
 * other slots keep serving), ends workers idle past --idle-timeout and boots
 * one again when a prediction comes.
 * Request threads only submit, look up, wait and cancel; every record field
 * is read and written under the runner's lock.
 */
#ifndef CF_RUNNER_H
#define CF_RUNNER_H

#include <jansson.h>

#include "error.h"
#include "prediction.h"
#include "slot.h"

/* The most worker slots one runner has (--workers). */
#define CF_MAX_WORKERS 64

typedef struct cf_runner_config {
    cf_worker_spec spec;
    size_t queue_max;        /* predictions that may wait; 0 = Cog's 409 when busy */
    size_t keep_bytes;       /* --keep-memory: bytes of finished records in memory */
    const char *spill_dir;   /* where finished records spill, NULL = a private temp dir */
    double throttle;         /* seconds between non-terminal webhooks */
    double predict_timeout;  /* default deadline of a prediction, 0 = none */
    double setup_timeout;    /* limit on import + setup(), 0 = none */
    double cancel_grace;     /* seconds a canceled prediction has before its worker is killed */
    struct cf_state *state;  /* where async predictions are persisted, or NULL */
    const char *state_error; /* why there is no state: async predictions get 503 */
    double keep_finished_s;  /* finished records stay findable this long */
    const char *upload_url;  /* --upload-url: async predictions' files go there */
    int workers;             /* --workers: worker slots, 0 = 1 */
    const char *const *devices; /* --gpus: CUDA_VISIBLE_DEVICES per slot, round-robin;
                             * NULL-terminated, NULL = not pinned */
    double idle_timeout;     /* --idle-timeout: an idle worker ends after this, 0 = never */
    int min_workers;         /* --min-workers: workers kept up despite the idle timeout */
    const char *usage_path;  /* the usage log (usage.h), NULL = none */
    int metrics;             /* keep the counters of GET /metrics (metrics.h) */
} cf_runner_config;

typedef struct cf_runner cf_runner;

/* Creates the runner and starts its thread, which starts the worker. The
 * strings in cfg must outlive the runner. With cfg->state, the predictions
 * persisted there are recovered first: finished ones become pollable (and
 * an undelivered completed webhook is sent), queued ones run again. */
cf_runner *cf_runner_new(const cf_runner_config *cfg, cf_error *err);
/* Stops the thread and the worker; the running and queued predictions end
 * failed and their waiters wake. The runner stays valid for them. */
void cf_runner_stop(cf_runner *r);
/* Stops (if needed) and frees: only once nobody else uses the runner. */
void cf_runner_free(cf_runner *r);

void cf_runner_lock(cf_runner *r);
void cf_runner_unlock(cf_runner *r);

/* GET /health-check body. New reference. */
json_t *cf_runner_health_json(cf_runner *r);
/* The OpenAPI document, or NULL while the predictor is not loaded. New ref. */
json_t *cf_runner_openapi(cf_runner *r);
/* The SCHEMA of the predict (or train) entry from the worker's ready
 * message. New reference, NULL if unknown. Returns the setup state in
 * *ready: 1 ready, 0 starting, -1 failed (with the reason in err). */
json_t *cf_runner_schema(cf_runner *r, int training, int *ready, cf_error *err);
/* Blocks until the worker has reported ready (or failed). For the CLI. */
void cf_runner_wait_ready(cf_runner *r);
/* Waits as cf_runner_wait_ready does, but no longer than the setup timeout
 * (when there is one) or max_seconds, and asks client_gone(ctx) (may be
 * NULL; called without the lock) every 100 ms. 0 once setup is over
 * (ready or failed), -1 when the wait timed out, -2 when the client went
 * away. */
int cf_runner_wait_ready_for(cf_runner *r, double max_seconds, int (*client_gone)(void *),
                             void *ctx);

/* Accepts p: queues it, records it in the store and sends the start
 * webhook. CF_EBUSY when the queue is full, CF_EUNAVAIL when no prediction
 * can run (setup failed); err says why. The runner takes its own reference.
 * When accepted is not NULL it receives (new reference) the response object
 * as it was at acceptance, before the worker could touch it: the 202 body. */
int cf_runner_submit(cf_runner *r, cf_prediction *p, json_t **accepted, cf_error *err);

/* A record by id with a new reference (caller decrefs), or NULL. */
cf_prediction *cf_runner_find(cf_runner *r, const char *id);

/* Waits for p to reach a terminal state. */
void cf_runner_wait(cf_runner *r, cf_prediction *p);


/* Graceful stop: no queued prediction starts any more; waits up to grace
 * seconds for the running one to finish. Returns 1 if it finished. */
int cf_runner_drain(cf_runner *r, double grace);

/* A sync prediction's answer, taken under the same hold of the lock that
 * saw it end: its text when it is short (written from the record, no
 * json_t built), else its response object. */
typedef struct cf_answer {
    size_t text_max; /* in: the longest text wanted; 0: the object always */
    json_t *json;    /* out: the response object (new reference), or NULL */
    char *text;      /* out: or its text (malloc'd, len bytes); both NULL: out of memory */
    size_t len;
} cf_answer;

/* A sync request that waits for a slot without a thread. Whichever thread
 * frees a slot for its prediction, or ends the prediction while it waits,
 * carries the request on (cf_runner_carry_pending); the runner thread asks
 * client_gone of every parked request each 100 ms (a hang-up cancels). */
typedef struct cf_parked {
    int (*client_gone)(void *ctx);
    void *ctx;
    /* Answers the request with final (whose text or object it takes)
     * unless gone, then frees the request and this struct. Called without
     * the lock, on the thread that carries it. */
    void (*finish)(struct cf_parked *self, cf_answer *final, int gone);
    size_t text_max; /* its cf_answer's */
    int gone;        /* the runner saw its client leave while it waited */
} cf_parked;

/* p->park_state */
enum { CF_PARK_NONE = 0, CF_PARK_WAITING, CF_PARK_CARRIED };

/* cf_runner_run_direct's answer when it parked the request. */
#define CF_RUN_PARKED 2

/* Runs a sync prediction that cf_runner_submit accepted, on the calling
 * thread when the worker was idle or a slot is handed to it (then this
 * thread reads the worker's frames itself), else waits for
 * one, asking client_gone(ctx) every 100 ms (without the lock): a client
 * that left gets its prediction canceled. Returns 1 if the client went away. With
 * final, *final receives p's answer (above).
 * With park, a p that would wait is parked instead (CF_RUN_PARKED is
 * returned at once): from then on park belongs to the runner until its
 * finish is called, perhaps before this function has returned. */
int cf_runner_run_direct(cf_runner *r, cf_prediction *p, int (*client_gone)(void *), void *ctx,
                         cf_answer *final, cf_parked *park);

/* Marks the calling thread as one that calls cf_runner_carry_pending after
 * each request: a slot it frees for a parked request is carried by it,
 * with no wake-up of another thread. */
void cf_runner_be_carrier(void);
/* An eventfd that is readable while parked requests wait for a thread to
 * carry them (a slot was freed for them by the runner thread, or they
 * ended while they waited). */
int cf_runner_carry_fd(cf_runner *r);
/* When the carry fd was readable: takes one parked request off the
 * runner's list (NULL when another thread took it), for
 * cf_runner_carry_pending. */
cf_prediction *cf_runner_carry_take(cf_runner *r);
/* Carries taken (or NULL), then the parked requests this thread was given
 * by its own hand-overs (see above). */
void cf_runner_carry_pending(cf_runner *r, cf_prediction *taken);

/* Reloads the project: a new worker with spec starts when the current
 * prediction has finished; queued predictions wait for it. The strings in
 * spec must outlive the runner. */
void cf_runner_reload(cf_runner *r, const cf_worker_spec *spec);

/* The response JSON of p, taken under the lock. New reference. */
json_t *cf_runner_prediction_json(cf_runner *r, cf_prediction *p);

/* Waits, lock held, up to seconds for p to change: one more event in its
 * log (record.h) or its end. May return early (spurious wake-up). */
void cf_runner_wait_change(cf_runner *r, cf_prediction *p, double seconds);

/* GET /metrics: the Prometheus text (malloc'd, *len bytes, caller frees),
 * or NULL when metrics are off (or out of memory). */
char *cf_runner_metrics_text(cf_runner *r, size_t *len);

/* Cancels a queued or running prediction. 0, or CF_ENOTFOUND when no such
 * prediction is queued or running. */
int cf_runner_cancel(cf_runner *r, const char *id);

#endif
