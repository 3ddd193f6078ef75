/* runner_int.h - what runner.c (queue, records, the thread) and
 * runner_worker.c (the workers: their frames, logs, timers, restarts) share.
 * Not for other files: they use runner.h. Every function here is called
 * with the runner's lock held unless it says otherwise.
 */
#ifndef CF_RUNNER_INT_H
#define CF_RUNNER_INT_H

#include <pthread.h>

#include "record.h"
#include "runner.h"
#include "webhook.h"

/* The states of one worker slot (struct cf_wslot), as Replicate names an
 * instance's: offline (no process), booting (import + setup()), then
 * ready, which is "active" while it runs a prediction and "idle" between.
 *
 *          boot            ready frame (ok)
 *  OFFLINE -----> STARTING -----------------> READY <--+ done / canceled
 *     ^              |   \ ready (not ok),        |    |
 *     |              |    \ died in setup,        +----+ send
 *     |  idle timeout|     v setup timeout        |
 *     +--------------+-- SETUP_FAILED             | died: STARTING after
 *     |                                           |  a backoff (DEFUNCT
 *     +-------------------------------------------+  after 5 in a row)
 *
 * A slot leaves READY for OFFLINE only when it has nothing to run and has
 * been idle past --idle-timeout (and more than --min-workers are up).
 * Boots, crash restarts and SIGHUP reloads all go through cf_rw_start. */
/* The most predictions one worker runs at once (concurrency.max). */
#define CF_MAX_CONCURRENCY 256

enum worker_state { W_OFFLINE, W_STARTING, W_READY, W_SETUP_FAILED, W_DEFUNCT };

struct cf_wslot {
    int index;
    char device[32];       /* its CUDA_VISIBLE_DEVICES ("" = not pinned) */
    cf_slot proc;          /* the process; proc.pid 0 when none */
    enum worker_state state;
    cf_prediction **run;   /* running, each with a reference: nrun of capacity */
    int nrun;
    int capacity;          /* predictions at once: the ready frame's concurrency
                            * (an async predictor's concurrency.max), else 1 */
    int ever_ready;
    double setup_started, setup_completed; /* wall clock */
    double boot_started;   /* monotonic start of the current boot */
    double ready_mono;     /* monotonic time its setup completed, 0 = not yet */
    char *setup_logs;
    size_t setup_logs_len;
    int setup_ok;
    char *setup_error;
    int crashes;           /* consecutive crashes, for backoff */
    double next_start;     /* monotonic time the next worker may start */
    double setup_deadline; /* monotonic; 0 = none */
    double kill_at;        /* monotonic time to SIGKILL a worker ignoring a cancel */
    double idle_since;     /* monotonic time it became idle */
    int reload_pending;    /* retire the worker when idle, start one with cfg.spec */
    int direct;            /* a request thread is running run[0] itself and
                            * is the only reader of the worker's frames */
    int reading;           /* the runner thread is reading a frame unlocked */
    unsigned direct_epoch; /* counts direct runs: a poll result from before one
                            * may describe a frame the direct thread took */
    unsigned long boots;   /* processes started */
    pthread_mutex_t wlock; /* one frame at a time on proc.ipc_fd: a predict frame is
                            * written without the runner's lock, a cancel frame with it */
    double hc_sent;        /* monotonic time a healthcheck frame went out, 0 = none out */
    int hc_checked;        /* a healthcheck answer (or its timeout) is in hc_ok/hc_error */
    int hc_ok;
    char hc_error[512];
};

struct cf_runner {
    pthread_mutex_t lock;
    pthread_cond_t ready_cond;
    pthread_cond_t drained_cond; /* a prediction ended: cf_runner_drain looks again */
    cf_runner_config cfg;
    cf_records *records;
    cf_webhooks *webhooks;
    cf_prediction **queue; /* ring of queued records, each holding a reference */
    size_t qhead, qlen, qcap;
    struct cf_wslot *slots;
    int nslots;
    json_t *ready_msg; /* the latest ready frame of a worker */
    int setup_ok_any;  /* some worker's setup succeeded once */
    json_t *openapi;
    int wake[2];
    int stopping;
    pthread_t thread;
    int draining;          /* shutting down: only queued sync predictions start */
    size_t reserved;       /* submits between admission and acceptance */
    int preparing;         /* threads fetching file inputs (cf_runner_prepare_files) */
    struct cf_metrics *metrics; /* counters for GET /metrics (metrics.h), or NULL */
    cf_slot spare;         /* with --idle-timeout, while a slot is offline: a worker with
                            * Python and cog loaded, waiting to become a slot's (pid 0: none) */
    int spare_ready;       /* its standby frame came */
    double spare_next;     /* monotonic time a spare may be started again */
    int usage_fd;          /* the usage log, open (usage.c), or -1; usage_lock */
    double usage_checked;  /* monotonic time the log's path was last looked at */
    char *usage_buf;       /* lines not written yet (usage_buf_lock) */
    size_t usage_len, usage_cap;
    pthread_mutex_t usage_buf_lock; /* taken inside the runner's lock, never around it */
    pthread_mutex_t usage_lock; /* the one writer of the usage log */
    int carry_fd;          /* eventfd (semaphore): parked requests on carry_head */
    cf_prediction *carry_head, *carry_tail; /* parked requests to carry, each with a reference */
    size_t nparked;        /* predictions with park_state CF_PARK_WAITING */
    double parked_checked; /* monotonic time their clients were last asked */
};

/* runner.c */
/* Wakes the runner thread out of its poll. Any thread, lock or not. */
void cf_runner_wake(cf_runner *r);
/* Sends p's webhook for event (CF_EVENT_*) when it asked for it, throttled. */
void cf_runner_emit(cf_runner *r, cf_prediction *p, unsigned event);
/* Ends p (record.h's finish) and sends its completed webhook. */
void cf_runner_end(cf_runner *r, cf_prediction *p, cf_status status, const char *error);
/* Ends p, running in s, and takes it out of s. */
void cf_runner_end_running(cf_runner *r, struct cf_wslot *s, cf_prediction *p, cf_status status,
                           const char *error);
/* Ends every prediction running in s with status (canceled instead for
 * those whose cancel was asked: the worker was killed for them). */
void cf_runner_end_all(cf_runner *r, struct cf_wslot *s, cf_status status, const char *error);
/* p's client went away: p is canceled as if it had asked (one running is
 * told, one queued ends now); nothing if it ended or a cancel was asked. */
void cf_runner_client_left(cf_runner *r, cf_prediction *p);
/* Puts p into s's running set (a free place is there). */
void cf_runner_add_running(struct cf_wslot *s, cf_prediction *p);

/* Makes p's file inputs local (decodes data URIs, downloads URLs) into a
 * temp dir, without the slot: a slow URL delays only p. Then p may start;
 * on failure p ends failed. Lock NOT held: it is taken around the edges. */
void cf_runner_prepare_files(cf_runner *r, cf_prediction *p);

/* The slot whose setup failed while no slot is ready, or NULL. */
const struct cf_wslot *cf_runner_failed_slot(const cf_runner *r);
/* The slot running p, or NULL. */
struct cf_wslot *cf_runner_slot_of(cf_runner *r, const cf_prediction *p);

/* runner_carry.c */
/* The eventfd; -1 and a message on failure. */
int cf_carry_init(cf_runner *r, cf_error *err);
/* p, parked and waiting, has a slot handed to it or has ended: its request
 * is carried on by this thread after its own request (here, on a carrier
 * thread, from a hand-over in cf_runner_run_direct), else by a connection
 * thread the carry fd wakes. */
void cf_carry_push(cf_runner *r, cf_prediction *p, int here);
/* Every 100 ms while requests are parked: asks their clients whether they
 * are still there and cancels the predictions of those that left. Seconds
 * until it wants to run again, or -1 when nothing is parked. */
double cf_carry_check_parked(cf_runner *r);
/* After a hand-over of s to the request this thread carries next: sends
 * its predict frame now, so that the worker runs it while this thread
 * answers its own client (lock dropped while the frame is written). */
void cf_carry_start_here(cf_runner *r, struct cf_wslot *s);

/* runner_worker.c */
/* Starts s's worker (a boot); on failure schedules the next try. */
void cf_rw_start(cf_runner *r, struct cf_wslot *s);
/* s's ipc fd said EOF (or an error): reaps it and decides what its
 * running prediction and its state become. */
void cf_rw_died(cf_runner *r, struct cf_wslot *s);
/* Reads what s's worker printed through its pipe (before it captured its
 * own fds 1 and 2); closes the pipe at EOF. */
void cf_rw_drain_logs(cf_runner *r, struct cf_wslot *s);
/* Handles one frame from s's worker. */
void cf_rw_frame(cf_runner *r, struct cf_wslot *s, json_t *msg);
/* The running prediction a frame of s is for: by its "id", else the only
 * one running; NULL when none. msg NULL: the only one. */
cf_prediction *cf_rw_target(const struct cf_wslot *s, const json_t *msg);
/* Whether that prediction's frames get their files encoded. */
int cf_rw_wants_encoding(const struct cf_wslot *s, const json_t *msg);
/* Encodes the output files of a frame the reader owns. Lock NOT held. */
void cf_rw_encode_frame(int encode, json_t *msg);
/* Cancels p running in s (SIGUSR1, then SIGKILL after the grace period). */
void cf_rw_cancel(cf_runner *r, struct cf_wslot *s, cf_prediction *p, const char *reason);
/* Deadlines, setup timeouts, kill timers, pending reloads, idle timeouts
 * of every slot and the queue. Seconds until the next timer, or -1. */
double cf_rw_timers(cf_runner *r);
/* Starts p (record.h's start) in s and sends it to the worker; the lock
 * is dropped while the frame is written. 0, or -1 when p ended or the
 * worker is gone. */
int cf_rw_send_prediction(cf_runner *r, struct cf_wslot *s, cf_prediction *p);
/* Starts p on s for the thread that runs it directly: its deadline timer,
 * then cf_rw_send_prediction (same answer). */
int cf_rw_start_direct(cf_runner *r, struct cf_wslot *s, cf_prediction *p);
/* Keeps the spare: starts one while a slot is offline, ends it when none
 * is (or at a reload). Seconds until it wants to be asked again, or -1. */
double cf_rw_spare_tick(cf_runner *r);
/* The spare's ipc fd is readable: its standby frame, a log, or EOF. */
void cf_rw_spare_frame(cf_runner *r);
/* Hands s, free after a direct run, to the first queued prediction if its
 * request thread waits to run it directly (cf_runner_run_direct); 1 if it
 * did, 0 when the runner thread must dispatch. runner.c. */
int cf_runner_hand_over(cf_runner *r, struct cf_wslot *s);
/* Name of a slot's state for health and /metrics: offline, booting,
 * active, idle, setup_failed, defunct. */
const char *cf_rw_state_name(const struct cf_wslot *s);

#endif
