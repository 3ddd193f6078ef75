/* runner.c - queue, dispatch and supervision of the worker process. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sys/types.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "files.h"
#include "ipc.h"
#include "log.h"
#include "model_log.h"
#include "openapi.h"
#include "state.h"
#include "store.h"
#include "upload.h"
#include "webhook.h"

enum worker_state { W_STARTING, W_READY, W_SETUP_FAILED, W_DEFUNCT };

struct cf_runner {
    pthread_mutex_t lock;
    pthread_cond_t ready_cond;
    cf_runner_config cfg;
    cf_store *store;
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
    int draining;          /* shutting down: start nothing new */
    double next_expire;    /* monotonic time of the next state expiry */
    int direct;            /* a request thread is running r->current itself and
                            * is the only reader of the worker's frames */
    int reading;           /* the runner thread is reading a frame unlocked */
    unsigned direct_epoch; /* counts direct runs: a poll result from before one
                            * may describe a frame the direct thread took */
};

void cf_runner_lock(cf_runner *r) { pthread_mutex_lock(&r->lock); }
void cf_runner_unlock(cf_runner *r) { pthread_mutex_unlock(&r->lock); }

static void wake_thread(cf_runner *r)
{
    char c = 1;
    ssize_t w = write(r->wake[1], &c, 1);
    (void)w; /* a full pipe already wakes the thread */
}

/* ---- webhooks -------------------------------------------------------- */

static void persist_or_log(cf_runner *r, cf_prediction *p, int running);

/* A terminal webhook of a persisted prediction is pending on disk until the
 * receiver took it (or it was given up), so a restart sends it again. */
struct webhook_done {
    cf_runner *r;
    cf_prediction *p;
};

static void terminal_webhook_done(void *ctx, int delivered)
{
    struct webhook_done *wd = ctx;
    cf_runner_lock(wd->r);
    wd->p->terminal_webhook_pending = 0;
    persist_or_log(wd->r, wd->p, 0);
    cf_runner_unlock(wd->r);
    (void)delivered;
    cf_prediction_decref(wd->p);
    free(wd);
}

/* Sends the webhook for event if the prediction asked for it, applying
 * Cog's throttle to non-terminal events. Called with the lock held. */
static void emit(cf_runner *r, cf_prediction *p, unsigned event)
{
    if (p->webhook == NULL || !(p->events & event))
        return;
    double now = cf_monotonic();
    if (event != CF_EVENT_COMPLETED) {
        if (event == CF_EVENT_START && r->cfg.throttle < 0.1)
            return;
        if (p->last_webhook > 0 && now - p->last_webhook < r->cfg.throttle)
            return;
    }
    p->last_webhook = now;
    int terminal = event == CF_EVENT_COMPLETED;
    struct webhook_done *wd = NULL;
    if (terminal && r->cfg.state && p->is_async) {
        wd = malloc(sizeof *wd);
        if (wd) {
            wd->r = r;
            wd->p = p;
            cf_prediction_incref(p);
        }
    }
    cf_webhooks_send(r->webhooks, p->webhook, cf_prediction_to_webhook_json(p), terminal,
                     p->traceparent, p->tracestate, wd ? terminal_webhook_done : NULL, wd);
}

/* ---- persistence ------------------------------------------------------ */

/* Async predictions are persisted: their client was promised a result.
 * Sync ones are not (their client is waiting on the connection and learns
 * of a crash from it), so they cost no fsync. Lock held. */
static int persist(cf_runner *r, cf_prediction *p, int running, cf_error *err)
{
    if (r->cfg.state == NULL || !p->is_async)
        return CF_OK;
    return cf_state_save(r->cfg.state, p, running, err);
}

static void persist_or_log(cf_runner *r, cf_prediction *p, int running)
{
    cf_error err;
    cf_error_clear(&err);
    if (persist(r, p, running, &err) != CF_OK)
        cf_log_error("CF0316", "%s", err.msg);
}

/* ---- terminal states -------------------------------------------------- */

/* Moves p to a terminal state: timestamps, temp files, waiters, webhook.
 * Lock held. Does not touch r->current. */
static void finish(cf_runner *r, cf_prediction *p, cf_status status, const char *error)
{
    if (cf_prediction_is_terminal(p))
        return;
    p->status = status;
    p->completed_at = cf_now();
    if (error)
        cf_prediction_set_error(p, error);
    if (p->output_is_iterator && p->output == NULL)
        p->output = json_array();
    cf_files_cleanup(p);
    cf_store_finished(r->store, p);
    pthread_cond_broadcast(&p->done_cond);
    p->terminal_webhook_pending = p->webhook != NULL && (p->events & CF_EVENT_COMPLETED);
    persist_or_log(r, p, 0);
    emit(r, p, CF_EVENT_COMPLETED);
    cf_model_log_end(p->id, "prediction", status == CF_STATUS_FAILED ? p->error : NULL, p->logs);
    /* A successful sync prediction is in the web server's access log
     * already; the rest is worth an operator's attention. */
    cf_log(p->is_async || status != CF_STATUS_SUCCEEDED ? CF_LOG_INFO : CF_LOG_DEBUG, "CF0301",
           "prediction %s %s", p->id, cf_status_name(status));
}

static void finish_current(cf_runner *r, cf_status status, const char *error)
{
    cf_prediction *p = r->current;
    if (p == NULL)
        return;
    r->current = NULL;
    finish(r, p, status, error);
    cf_prediction_decref(p);
}

/* ---- logs -------------------------------------------------------------- */

static void setup_logs_append(cf_runner *r, const char *buf, size_t n)
{
    char *grown = realloc(r->setup_logs, r->setup_logs_len + n + 1);
    if (grown == NULL)
        return;
    r->setup_logs = grown;
    memcpy(r->setup_logs + r->setup_logs_len, buf, n);
    r->setup_logs_len += n;
    r->setup_logs[r->setup_logs_len] = '\0';
}

/* Reads what the worker printed so far. Lock held. Returns 0, or -1 at EOF. */
static int drain_logs(cf_runner *r)
{
    char buf[65536];
    int got_any = 0;
    while (r->slot.log_fd >= 0) {
        ssize_t n = read(r->slot.log_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0)
            return -1;
        if (r->current) {
            cf_prediction_append_logs(r->current, buf, (size_t)n);
            cf_model_log_write(r->current->id, buf, (size_t)n);
            got_any = 1;
        } else if (r->state == W_STARTING) {
            setup_logs_append(r, buf, (size_t)n);
            cf_model_log_write("setup", buf, (size_t)n);
        } else {
            cf_log_info("CF0302", "worker output between predictions: %.*s", (int)n, buf);
        }
    }
    if (got_any)
        emit(r, r->current, CF_EVENT_LOGS);
    return 0;
}

/* ---- worker lifecycle -------------------------------------------------- */

static void start_worker(cf_runner *r)
{
    cf_error err;
    cf_error_clear(&err);
    free(r->setup_logs);
    r->setup_logs = NULL;
    r->setup_logs_len = 0;
    setup_logs_append(r, "", 0);
    r->setup_started = cf_now();
    r->setup_completed = 0;
    r->state = W_STARTING;
    r->kill_at = 0;
    r->setup_deadline = r->cfg.setup_timeout > 0 ? cf_monotonic() + r->cfg.setup_timeout : 0;
    if (cf_slot_start(&r->slot, &r->cfg.spec, &err) != CF_OK) {
        cf_log_error("CF0303", "%s", err.msg);
        r->crashes++;
        r->next_start = cf_monotonic() + fmin(30.0, 0.5 * pow(2, r->crashes));
        if (r->crashes >= 3)
            r->state = W_DEFUNCT;
    }
}

static void worker_died(cf_runner *r)
{
    drain_logs(r);
    int status = cf_slot_stop(&r->slot, 0);
    int code = cf_slot_exitcode(status);
    char msg[256];
    snprintf(msg, sizeof msg,
             "Prediction failed for an unknown reason. It might have run out of memory? "
             "(exitcode %d)", code);
    cf_log_error("CF0304", "worker exited (exitcode %d)", code);
    if (r->state == W_STARTING && !r->ever_ready) {
        /* died while importing or in setup(): as Cog, setup failed */
        r->state = W_SETUP_FAILED;
        r->setup_completed = cf_now();
        r->setup_ok = 0;
        free(r->setup_error);
        char reason[128];
        snprintf(reason, sizeof reason, "worker died during setup (exitcode %d)", code);
        r->setup_error = strdup(reason);
        cf_model_log_end("setup", NULL, r->setup_error, r->setup_logs);
        pthread_cond_broadcast(&r->ready_cond);
        return;
    }
    if (r->state == W_SETUP_FAILED)
        return;
    r->kill_at = 0;
    if (r->stopping) {
        finish_current(r, CF_STATUS_FAILED,
                       "the prediction was interrupted: cog-fcgi stopped while it ran");
        return;
    }
    if (r->current && r->current->cancel_requested) {
        /* we killed it: the model ignored the cancel past its grace period */
        finish_current(r, CF_STATUS_CANCELED, NULL);
        r->state = W_STARTING;
        r->next_start = 0;
        return;
    }
    if (r->reload_pending && r->current == NULL) {
        r->reload_pending = 0;
        r->state = W_STARTING;
        r->next_start = 0;
        return;
    }
    finish_current(r, CF_STATUS_FAILED, msg);
    r->crashes++;
    /* back off 0.5 s, 1 s, 2 s, ... up to 30 s; DEFUNCT while crashing repeatedly */
    r->next_start = cf_monotonic() + fmin(30.0, 0.25 * pow(2, r->crashes));
    r->state = r->crashes >= 5 ? W_DEFUNCT : W_STARTING;
}

/* ---- frames from the worker -------------------------------------------- */

static void handle_ready(cf_runner *r, json_t *msg)
{
    cf_error err;
    cf_error_clear(&err);
    drain_logs(r);
    r->setup_completed = cf_now();
    r->setup_deadline = 0;
    r->setup_ok = json_is_true(json_object_get(msg, "ok"));
    free(r->setup_error);
    r->setup_error = NULL;
    const char *e = json_string_value(json_object_get(msg, "error"));
    if (!r->setup_ok)
        r->setup_error = strdup(e ? e : "setup failed");
    json_decref(r->ready_msg);
    r->ready_msg = json_incref(msg);
    json_t *predict = json_object_get(msg, "predict");
    json_t *train = json_object_get(msg, "train");
    if (json_is_object(predict)) {
        json_t *doc = cf_openapi_build(predict, json_is_object(train) ? train : NULL, &err);
        if (doc == NULL)
            cf_log_error("CF0305", "cannot build the OpenAPI document: %s", err.msg);
        json_decref(r->openapi);
        r->openapi = doc;
    }
    r->state = r->setup_ok ? W_READY : W_SETUP_FAILED;
    if (r->setup_ok) {
        r->ever_ready = 1;
        cf_model_log_end("setup", NULL, NULL, NULL);
        cf_log_info("CF0306", "setup succeeded in %.3f s", r->setup_completed - r->setup_started);
    } else {
        cf_model_log_end("setup", NULL, r->setup_error, r->setup_logs);
    }
    pthread_cond_broadcast(&r->ready_cond);
}

/* The worker's early "schema" frame, sent before it imports the module and runs
 * setup(): from now on /openapi.json is served and inputs are validated (422s)
 * while setup() runs. The ready frame that follows replaces it. A worker
 * restarted after a crash sends one too; the schema of its last ready frame
 * stays then. */
static void handle_schema(cf_runner *r, json_t *msg)
{
    cf_error err;
    cf_error_clear(&err);
    json_t *predict = json_object_get(msg, "predict");
    json_t *train = json_object_get(msg, "train");
    if (!json_is_object(predict) || r->ever_ready)
        return;
    json_t *doc = cf_openapi_build(predict, json_is_object(train) ? train : NULL, &err);
    if (doc == NULL) {
        cf_log_error("CF0305", "cannot build the OpenAPI document: %s", err.msg);
        return;
    }
    json_decref(r->openapi);
    r->openapi = doc;
    json_decref(r->ready_msg);
    r->ready_msg = json_incref(msg);
}

static void handle_done(cf_runner *r, json_t *msg)
{
    cf_prediction *p = r->current;
    drain_logs(r);
    if (p == NULL)
        return;
    const char *status = json_string_value(json_object_get(msg, "status"));
    const char *error = json_string_value(json_object_get(msg, "error"));
    cf_status st = CF_STATUS_FAILED;
    if (status && strcmp(status, "succeeded") == 0)
        st = CF_STATUS_SUCCEEDED;
    else if (status && strcmp(status, "canceled") == 0)
        st = CF_STATUS_CANCELED;
    if (!p->output_is_iterator) {
        json_t *out = json_object_get(msg, "output");
        json_decref(p->output);
        p->output = out && !json_is_null(out) ? json_incref(out) : NULL;
    }
    if (p->output && p->upload_prefix && st == CF_STATUS_SUCCEEDED) {
        /* network: done without the lock; p stays current (BUSY) meanwhile */
        cf_error err;
        cf_error_clear(&err);
        json_t *out = json_deep_copy(p->output);
        cf_upload up = {p->upload_prefix, p->upload_multipart, p->id};
        char *prefix = strdup(p->upload_prefix);
        up.prefix = prefix ? prefix : "";
        cf_runner_unlock(r);
        int rc = out ? cf_upload_outputs(&out, &up, &err) : CF_ENOMEM;
        cf_runner_lock(r);
        free(prefix);
        if (rc != CF_OK) {
            json_decref(out);
            cf_log_error("CF0320", "prediction %s: %s", p->id, err.msg);
            /* Cog's words, one completed webhook (COG-API.md §16) */
            finish_current(r, CF_STATUS_FAILED, "Cog: Got error trying to upload output files");
            return;
        }
        json_decref(p->output);
        p->output = out;
    } else if (p->output && !p->raw_files) {
        cf_error err;
        cf_error_clear(&err);
        if (cf_files_encode_outputs(&p->output, &err) != CF_OK) {
            st = CF_STATUS_FAILED;
            error = err.msg;
            finish_current(r, st, error);
            return;
        }
    }
    r->kill_at = 0;
    if (st == CF_STATUS_SUCCEEDED) {
        r->crashes = 0;
        cf_prediction_set_error(p, NULL); /* a deadline the model outran */
    }
    finish_current(r, st, st == CF_STATUS_FAILED ? (error ? error : "prediction failed") : NULL);
}

static void handle_output(cf_runner *r, json_t *msg)
{
    cf_prediction *p = r->current;
    if (p == NULL)
        return;
    drain_logs(r);
    json_t *item = json_object_get(msg, "item");
    json_t *copy = item ? json_deep_copy(item) : json_null();
    if (!p->raw_files && !p->upload_prefix) { /* uploads happen at the end */
        cf_error err;
        cf_error_clear(&err);
        if (cf_files_encode_outputs(&copy, &err) != CF_OK)
            cf_log_error("CF0308", "cannot encode an output item: %s", err.msg);
    }
    if (!json_is_array(p->output)) {
        json_decref(p->output);
        p->output = json_array();
    }
    p->output_is_iterator = 1;
    json_array_append_new(p->output, copy);
    emit(r, p, CF_EVENT_OUTPUT);
}

static void handle_metric(cf_runner *r, json_t *msg)
{
    cf_prediction *p = r->current;
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (p == NULL || name == NULL)
        return;
    if (p->metrics == NULL)
        p->metrics = json_object();
    json_t *v = json_object_get(msg, "value");
    json_object_set_new(p->metrics, name, v ? json_incref(v) : json_null());
}

static void handle_frame(cf_runner *r, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (strcmp(type, "ready") == 0)
        handle_ready(r, msg);
    else if (strcmp(type, "done") == 0)
        handle_done(r, msg);
    else if (strcmp(type, "output") == 0)
        handle_output(r, msg);
    else if (strcmp(type, "metric") == 0)
        handle_metric(r, msg);
    else if (strcmp(type, "schema") == 0)
        handle_schema(r, msg);
    else
        cf_log_warn("CF0309", "unknown frame type %s from the worker", type);
}

/* ---- cancel, deadlines, reload ----------------------------------------- */

/* Asks the worker to cancel the running prediction p (SIGUSR1 raises
 * CancelationException in predict()); a model that ignores it is killed
 * after the grace period. reason, if not NULL, becomes the error. */
static void cancel_running(cf_runner *r, cf_prediction *p, const char *reason)
{
    p->cancel_requested = 1;
    if (reason)
        cf_prediction_set_error(p, reason);
    if (r->slot.pid > 0) {
        kill(r->slot.pid, SIGUSR1);
        double grace = r->cfg.cancel_grace > 0 ? r->cfg.cancel_grace : 5.0;
        if (r->kill_at == 0)
            r->kill_at = cf_monotonic() + grace;
    }
}

static void deadline_message(cf_prediction *p, char *buf, size_t len)
{
    snprintf(buf, len, "Prediction canceled: it ran past its deadline (Cancel-After or "
                       "--predict-timeout)");
    (void)p;
}

/* Retires the worker without calling it a crash (SIGHUP reload). */
static void retire_worker(cf_runner *r)
{
    r->reload_pending = 0;
    cf_slot_stop(&r->slot, 0);
    r->state = W_STARTING;
    r->next_start = 0;
    cf_log_info("CF0312", "reloading: the old worker was retired");
}

/* Deadlines of the running and queued predictions, the setup timeout and
 * the kill of a worker that ignores a cancel. Lock held. Returns the
 * seconds until the next timer, or -1 for none. */
static double check_timers(cf_runner *r)
{
    double now = cf_monotonic();
    double next = -1;
#define NEXT(t) do { double d_ = (t) - now; if (next < 0 || d_ < next) next = d_ < 0 ? 0 : d_; } while (0)
    char msg[256];
    if (r->kill_at > 0) {
        if (now >= r->kill_at && r->slot.pid > 0) {
            cf_log_warn("CF0313", "worker %d ignored a cancel: killing it", (int)r->slot.pid);
            kill(r->slot.pid, SIGKILL);
            r->kill_at = 0;
        } else {
            NEXT(r->kill_at);
        }
    }
    if (r->setup_deadline > 0 && r->state == W_STARTING && r->slot.pid > 0) {
        if (now >= r->setup_deadline) {
            char reason[128];
            snprintf(reason, sizeof reason, "setup timed out after %.0f s", r->cfg.setup_timeout);
            cf_log_error("CF0314", "%s: killing the worker", reason);
            setup_logs_append(r, reason, strlen(reason));
            setup_logs_append(r, "\n", 1);
            cf_slot_stop(&r->slot, 1);
            r->state = W_SETUP_FAILED;
            r->setup_ok = 0;
            r->setup_completed = cf_now();
            r->setup_deadline = 0;
            free(r->setup_error);
            r->setup_error = strdup(reason);
            pthread_cond_broadcast(&r->ready_cond);
        } else {
            NEXT(r->setup_deadline);
        }
    }
    cf_prediction *cur = r->current;
    if (cur && cur->deadline > 0 && !cur->cancel_requested) {
        if (now >= cur->deadline) {
            deadline_message(cur, msg, sizeof msg);
            cancel_running(r, cur, msg);
        } else {
            NEXT(cur->deadline);
        }
    }
    for (size_t i = 0; i < r->qlen; i++) {
        cf_prediction *q = r->queue[(r->qhead + i) % r->qcap];
        if (q->deadline <= 0 || cf_prediction_is_terminal(q))
            continue;
        if (now >= q->deadline) {
            deadline_message(q, msg, sizeof msg);
            q->cancel_requested = 1;
            finish(r, q, CF_STATUS_CANCELED, msg);
        } else {
            NEXT(q->deadline);
        }
    }
    if (r->reload_pending && r->current == NULL && r->slot.pid > 0 && r->state != W_STARTING)
        retire_worker(r);
    if (r->cfg.state && now >= r->next_expire) {
        cf_error err;
        cf_error_clear(&err);
        double keep = r->cfg.keep_finished_s > 0 ? r->cfg.keep_finished_s : 86400;
        if (cf_state_expire(r->cfg.state, keep, NULL, NULL, &err) < 0)
            cf_log_warn("CF0318", "expiring old records: %s", err.msg);
        r->next_expire = now + fmin(60.0, keep / 2);
    }
    if (r->cfg.state)
        NEXT(r->next_expire);
#undef NEXT
    return next;
}

/* ---- dispatch --------------------------------------------------------- */

/* Appends p (the queue takes the caller's reference). Grows the ring:
 * recovered predictions may outnumber --queue. */
static int queue_push(cf_runner *r, cf_prediction *p)
{
    if (r->qlen == r->qcap) {
        size_t cap = r->qcap * 2;
        cf_prediction **q = malloc(cap * sizeof *q);
        if (q == NULL)
            return CF_ENOMEM;
        for (size_t i = 0; i < r->qlen; i++)
            q[i] = r->queue[(r->qhead + i) % r->qcap];
        free(r->queue);
        r->queue = q;
        r->qcap = cap;
        r->qhead = 0;
    }
    r->queue[(r->qhead + r->qlen) % r->qcap] = p;
    r->qlen++;
    return CF_OK;
}

static cf_prediction *queue_pop(cf_runner *r)
{
    if (r->qlen == 0)
        return NULL;
    cf_prediction *p = r->queue[r->qhead];
    r->qhead = (r->qhead + 1) % r->qcap;
    r->qlen--;
    return p;
}

/* Hands the next queued prediction to an idle worker. Lock held; dropped
 * while downloading inputs and writing the frame. */
static int start_prediction(cf_runner *r, cf_prediction *p);

static void dispatch(cf_runner *r)
{
    while (r->state == W_READY && r->current == NULL && r->qlen > 0 && !r->stopping &&
           !r->reload_pending && !r->draining) {
        cf_prediction *p = queue_pop(r);
        if (cf_prediction_is_terminal(p)) {
            cf_prediction_decref(p);
            continue;
        }
        r->current = p;
        start_prediction(r, p);
    }
}

/* ---- the runner thread ------------------------------------------------- */

static void *runner_main(void *arg)
{
    cf_runner *r = arg;
    cf_runner_lock(r);
    while (!r->stopping) {
        if (r->slot.pid == 0 && r->state != W_SETUP_FAILED && cf_monotonic() >= r->next_start)
            start_worker(r);
        struct pollfd fds[3];
        int nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
        int ipc_i = -1, log_i = -1;
        pid_t polled = r->slot.pid;
        unsigned epoch = r->direct_epoch;
        if (r->slot.pid > 0) {
            if (!r->direct) {
                ipc_i = nfds;
                fds[nfds++] = (struct pollfd){.fd = r->slot.ipc_fd, .events = POLLIN};
            }
            log_i = nfds;
            fds[nfds++] = (struct pollfd){.fd = r->slot.log_fd, .events = POLLIN};
        }
        int timeout = 1000;
        if (r->slot.pid == 0 && r->state != W_SETUP_FAILED) {
            double wait = r->next_start - cf_monotonic();
            timeout = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
        }
        double timer = check_timers(r);
        if (timer >= 0 && (int)(timer * 1000) + 1 < timeout)
            timeout = (int)(timer * 1000) + 1;
        cf_runner_unlock(r);
        int n = poll(fds, (nfds_t)nfds, timeout);
        cf_runner_lock(r);
        if (n <= 0) {
            dispatch(r);
            continue;
        }
        if (fds[0].revents) {
            char buf[256];
            while (read(r->wake[0], buf, sizeof buf) > 0) {
            }
        }
        if (r->slot.pid != polled || polled == 0) {
            /* the worker changed while we polled (a direct runner saw it die) */
            dispatch(r);
            continue;
        }
        if (log_i >= 0 && (fds[log_i].revents & POLLIN))
            drain_logs(r);
        if (ipc_i >= 0 && fds[ipc_i].revents && !r->direct && epoch == r->direct_epoch) {
            cf_error err;
            cf_error_clear(&err);
            int fd = r->slot.ipc_fd;
            r->reading = 1;
            cf_runner_unlock(r);
            json_t *msg = cf_ipc_recv(fd, &err);
            cf_runner_lock(r);
            r->reading = 0;
            if (msg == NULL) {
                if (strcmp(err.msg, "eof") != 0)
                    cf_log_error("CF0311", "worker protocol error: %s", err.msg);
                worker_died(r);
            } else {
                handle_frame(r, msg);
                json_decref(msg);
            }
        }
        dispatch(r);
    }
    cf_runner_unlock(r);
    return NULL;
}

/* Loads what the state directory holds: finished records become pollable
 * (their completed webhook goes out if it never did), queued ones run
 * again in arrival order. The running ones were already marked
 * interrupted by cf_state_load_all. Before the thread starts: no lock. */
static int recover(cf_runner *r, cf_error *err)
{
    cf_prediction **recs = NULL;
    size_t n = 0;
    int rc = cf_state_load_all(r->cfg.state, &recs, &n, err);
    if (rc != CF_OK)
        return rc;
    size_t queued = 0, finished = 0;
    for (size_t i = 0; i < n; i++) {
        cf_prediction *p = recs[i];
        p->is_async = 1;
        if (cf_store_put(r->store, p) != CF_OK) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory recovering predictions");
        } else if (cf_prediction_is_terminal(p)) {
            cf_store_finished(r->store, p);
            if (p->terminal_webhook_pending)
                emit(r, p, CF_EVENT_COMPLETED);
            finished++;
        } else {
            cf_prediction_incref(p);
            if (queue_push(r, p) != CF_OK) {
                cf_prediction_decref(p);
                rc = cf_error_set(err, CF_ENOMEM, "out of memory recovering predictions");
            }
            queued++;
        }
        cf_prediction_decref(p);
    }
    free(recs);
    if (n > 0)
        cf_log_info("CF0317", "recovered %zu predictions from %s: %zu to run, %zu finished", n,
                    cf_state_dir(r->cfg.state), queued, finished);
    return rc;
}

/* ---- public API -------------------------------------------------------- */

cf_runner *cf_runner_new(const cf_runner_config *cfg, cf_error *err)
{
    cf_runner *r = calloc(1, sizeof *r);
    if (r == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->slot.ipc_fd = r->slot.log_fd = -1;
    r->wake[0] = r->wake[1] = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->ready_cond, NULL);
    r->qcap = cfg->queue_max + 1;
    r->queue = calloc(r->qcap, sizeof *r->queue);
    r->store = cf_store_new(cfg->keep_finished ? cfg->keep_finished : 10000);
    if (r->queue == NULL || r->store == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        goto fail;
    }
    if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        cf_error_set(err, CF_EIO, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    r->webhooks = cf_webhooks_new(err);
    if (r->webhooks == NULL)
        goto fail;
    if (cfg->state && recover(r, err) != CF_OK)
        goto fail;
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        cf_error_set(err, CF_EIO, "cannot start the runner thread");
        goto fail;
    }
    return r;
fail:
    cf_webhooks_free(r->webhooks, 0);
    if (r->wake[0] >= 0) {
        close(r->wake[0]);
        close(r->wake[1]);
    }
    cf_store_free(r->store);
    free(r->queue);
    free(r);
    return NULL;
}

void cf_runner_stop(cf_runner *r)
{
    cf_runner_lock(r);
    if (r->stopping) {
        cf_runner_unlock(r);
        return;
    }
    r->stopping = 1;
    wake_thread(r);
    /* the worker goes first: a thread blocked reading its frames then sees
     * EOF, so the join below cannot hang on a stuck model */
    if (r->slot.pid > 0)
        kill(r->slot.pid, SIGKILL);
    cf_runner_unlock(r);
    pthread_join(r->thread, NULL);
    cf_runner_lock(r);
    if (r->slot.pid > 0)
        cf_slot_stop(&r->slot, 1);
    finish_current(r, CF_STATUS_FAILED,
                   "the prediction was interrupted: cog-fcgi stopped while it ran");
    cf_prediction *p;
    while ((p = queue_pop(r)) != NULL) {
        if (p->is_async && r->cfg.state && !cf_prediction_is_terminal(p)) {
            /* stays queued on disk: it runs when the server is back */
            cf_log_info("CF0319", "prediction %s stays queued for the next start", p->id);
        } else {
            finish(r, p, CF_STATUS_FAILED, "the server stopped before the prediction ran");
        }
        cf_prediction_decref(p);
    }
    cf_runner_unlock(r);
}

void cf_runner_free(cf_runner *r)
{
    if (r == NULL)
        return;
    cf_runner_stop(r);
    cf_webhooks_free(r->webhooks, 5.0);
    cf_store_free(r->store);
    json_decref(r->ready_msg);
    json_decref(r->openapi);
    free(r->setup_logs);
    free(r->setup_error);
    free(r->queue);
    close(r->wake[0]);
    close(r->wake[1]);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->ready_cond);
    free(r);
}

json_t *cf_runner_health_json(cf_runner *r)
{
    cf_runner_lock(r);
    const char *status = "STARTING";
    switch (r->state) {
    case W_STARTING: status = r->ever_ready && r->crashes ? "BUSY" : "STARTING"; break;
    case W_READY: status = r->current ? "BUSY" : "READY"; break;
    case W_SETUP_FAILED: status = "SETUP_FAILED"; break;
    case W_DEFUNCT: status = "DEFUNCT"; break;
    }
    json_t *setup = json_object();
    if (r->setup_completed > 0) {
        char a[64], b[64];
        cf_format_time(r->setup_started, a, sizeof a);
        cf_format_time(r->setup_completed, b, sizeof b);
        json_object_set_new(setup, "started_at", json_string(a));
        json_object_set_new(setup, "completed_at", json_string(b));
        json_object_set_new(setup, "logs", json_string(r->setup_logs ? r->setup_logs : ""));
        json_object_set_new(setup, "status", json_string(r->setup_ok ? "succeeded" : "failed"));
    }
    cf_runner_unlock(r);
    return json_pack("{s:s, s:o}", "status", status, "setup", setup);
}

json_t *cf_runner_openapi(cf_runner *r)
{
    cf_runner_lock(r);
    json_t *doc = r->openapi ? json_incref(r->openapi) : NULL;
    cf_runner_unlock(r);
    return doc;
}

json_t *cf_runner_schema(cf_runner *r, int training, int *ready, cf_error *err)
{
    cf_runner_lock(r);
    json_t *schema = NULL;
    if (r->ready_msg) {
        json_t *s = json_object_get(r->ready_msg, training ? "train" : "predict");
        if (json_is_object(s))
            schema = json_incref(s);
    }
    if (r->state == W_SETUP_FAILED) {
        *ready = -1;
        cf_error_set(err, CF_EUNAVAIL, "setup failed: %s",
                     r->setup_error ? r->setup_error : "unknown error");
    } else {
        *ready = r->ever_ready ? 1 : 0;
    }
    cf_runner_unlock(r);
    return schema;
}

void cf_runner_wait_ready(cf_runner *r)
{
    cf_runner_lock(r);
    while (!r->ever_ready && r->state != W_SETUP_FAILED && r->state != W_DEFUNCT)
        pthread_cond_wait(&r->ready_cond, &r->lock);
    cf_runner_unlock(r);
}

/* Sends p's predict frame to the worker. Lock held; dropped while files
 * are prepared and the frame is written. Returns 0, or -1 when p ended
 * already (its files failed, it was canceled) or the worker is gone. */
static int start_prediction(cf_runner *r, cf_prediction *p)
{
    cf_error err;
    cf_error_clear(&err);
    cf_runner_unlock(r);
    int rc = cf_files_prepare(p, &err);
    cf_runner_lock(r);
    if (rc != CF_OK) {
        finish_current(r, CF_STATUS_FAILED, err.msg);
        return -1;
    }
    if (p->cancel_requested) {
        finish_current(r, CF_STATUS_CANCELED, NULL);
        return -1;
    }
    persist_or_log(r, p, 1);
    json_t *msg = json_pack("{s:s, s:s, s:s, s:O}", "type", "predict", "id", p->id, "mode",
                            p->is_training ? "train" : "predict", "input",
                            p->input_worker ? p->input_worker : json_object());
    if (msg && p->context)
        json_object_set(msg, "context", p->context);
    int fd = r->slot.ipc_fd;
    cf_runner_unlock(r);
    rc = msg ? cf_ipc_send(fd, msg, &err) : CF_ENOMEM;
    json_decref(msg);
    cf_runner_lock(r);
    if (rc != CF_OK) {
        cf_log_error("CF0310", "cannot send a prediction to the worker: %s", err.msg);
        worker_died(r);
        return -1;
    }
    return 0;
}

int cf_runner_run_direct(cf_runner *r, cf_prediction *p, int (*client_gone)(void *), void *ctx)
{
    int gone = 0;
    cf_runner_lock(r);
    if (r->current != p || !r->direct) {
        cf_runner_unlock(r);
        return cf_runner_wait_client(r, p, client_gone, ctx);
    }
    if (start_prediction(r, p) == 0) {
        while (r->current == p) {
            int fd = r->slot.ipc_fd;
            cf_runner_unlock(r);
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int n = poll(&pfd, 1, 100);
            json_t *msg = NULL;
            cf_error err;
            cf_error_clear(&err);
            if (n > 0)
                msg = cf_ipc_recv(fd, &err);
            else if (!gone && client_gone(ctx))
                gone = 1;
            cf_runner_lock(r);
            if (gone == 1 && r->current == p && !p->cancel_requested) {
                cf_log_info("CF0315", "client of %s went away: canceling it", p->id);
                cancel_running(r, p, NULL);
                wake_thread(r);
                gone = 2;
            }
            if (n <= 0)
                continue;
            if (msg == NULL) {
                if (strcmp(err.msg, "eof") != 0)
                    cf_log_error("CF0311", "worker protocol error: %s", err.msg);
                worker_died(r);
                break;
            }
            handle_frame(r, msg);
            json_decref(msg);
        }
    }
    r->direct = 0;
    wake_thread(r); /* the runner reads frames again and starts what is queued */
    cf_runner_unlock(r);
    if (!cf_prediction_is_terminal(p))
        return cf_runner_wait_client(r, p, client_gone, ctx) || gone;
    return gone != 0;
}

int cf_runner_submit(cf_runner *r, cf_prediction *p, json_t **accepted, cf_error *err)
{
    int rc = CF_OK;
    cf_runner_lock(r);
    if (r->state == W_SETUP_FAILED) {
        rc = cf_error_set(err, CF_EUNAVAIL, "setup failed: %s",
                          r->setup_error ? r->setup_error : "unknown error");
        goto out;
    }
    int idle = r->state == W_READY && r->current == NULL && r->qlen == 0;
    if (!idle && r->qlen >= r->cfg.queue_max) {
        rc = cf_error_set(err, CF_EBUSY, "Already running a prediction");
        goto out;
    }
    if (p->is_async && r->cfg.state == NULL && r->cfg.state_error) {
        rc = cf_error_set(err, CF_EUNAVAIL, "cannot accept async predictions: %s",
                          r->cfg.state_error);
        goto out;
    }
    if (p->started_at <= 0)
        p->started_at = cf_now();
    if (p->deadline <= 0 && r->cfg.predict_timeout > 0)
        p->deadline = cf_monotonic() + r->cfg.predict_timeout;
    if (p->is_async && r->cfg.upload_url && p->upload_prefix == NULL)
        p->upload_prefix = strdup(r->cfg.upload_url);
    /* on disk before anyone is told it was accepted */
    rc = persist(r, p, 0, err);
    if (rc != CF_OK)
        goto out;
    if (cf_store_put(r->store, p) != CF_OK) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
        goto out;
    }
    cf_prediction_incref(p);
    emit(r, p, CF_EVENT_START);
    if (accepted)
        *accepted = cf_prediction_to_json(p);
    if (!p->is_async && idle && !r->draining && !r->reload_pending && !r->reading &&
        !r->stopping) {
        /* Fast path: the request thread runs it (cf_runner_run_direct),
         * saving two thread hand-offs per prediction. */
        r->current = p;
        r->direct = 1;
        r->direct_epoch++;
    } else {
        queue_push(r, p); /* cannot fail: qlen < queue_max < qcap */
        wake_thread(r);
    }
out:
    cf_runner_unlock(r);
    return rc;
}

cf_prediction *cf_runner_find(cf_runner *r, const char *id)
{
    cf_runner_lock(r);
    cf_prediction *p = cf_store_get(r->store, id);
    if (p)
        cf_prediction_incref(p);
    cf_runner_unlock(r);
    /* Memory keeps the recent records; a finished async one older than
     * that is still on disk. Running ones are always in memory. */
    if (p == NULL && r->cfg.state) {
        cf_runner_lock(r);
        p = cf_state_load(r->cfg.state, id);
        cf_runner_unlock(r);
        if (p && !cf_prediction_is_terminal(p)) {
            cf_prediction_decref(p);
            p = NULL;
        }
    }
    return p;
}

void cf_runner_wait(cf_runner *r, cf_prediction *p)
{
    cf_runner_lock(r);
    while (!cf_prediction_is_terminal(p))
        pthread_cond_wait(&p->done_cond, &r->lock);
    cf_runner_unlock(r);
}

int cf_runner_wait_client(cf_runner *r, cf_prediction *p, int (*client_gone)(void *), void *ctx)
{
    int gone = 0;
    cf_runner_lock(r);
    while (!cf_prediction_is_terminal(p)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->done_cond, &r->lock, &ts);
        if (gone || cf_prediction_is_terminal(p))
            continue;
        cf_runner_unlock(r);
        gone = client_gone(ctx);
        cf_runner_lock(r);
        if (gone && !cf_prediction_is_terminal(p) && !p->cancel_requested) {
            cf_log_info("CF0315", "client of %s went away: canceling it", p->id);
            if (p == r->current) {
                cancel_running(r, p, NULL);
                wake_thread(r);
            } else {
                p->cancel_requested = 1;
                finish(r, p, CF_STATUS_CANCELED, NULL);
            }
        }
    }
    cf_runner_unlock(r);
    return gone;
}

int cf_runner_drain(cf_runner *r, double grace)
{
    double until = cf_monotonic() + grace;
    cf_runner_lock(r);
    r->draining = 1;
    while (r->current != NULL && cf_monotonic() < until) {
        cf_prediction *p = r->current;
        cf_prediction_incref(p);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&p->done_cond, &r->lock, &ts);
        cf_prediction_decref(p);
    }
    int finished = r->current == NULL;
    cf_runner_unlock(r);
    return finished;
}

void cf_runner_reload(cf_runner *r, const cf_worker_spec *spec)
{
    cf_runner_lock(r);
    r->cfg.spec = *spec;
    if (r->state == W_SETUP_FAILED || r->state == W_DEFUNCT) {
        /* nothing to wait for: start again now */
        if (r->slot.pid > 0)
            cf_slot_stop(&r->slot, 1);
        r->state = W_STARTING;
        r->crashes = 0;
        r->next_start = 0;
        r->ever_ready = 0;
    } else {
        r->reload_pending = 1;
    }
    wake_thread(r);
    cf_runner_unlock(r);
}

json_t *cf_runner_prediction_json(cf_runner *r, cf_prediction *p)
{
    cf_runner_lock(r);
    json_t *o = cf_prediction_to_json(p);
    cf_runner_unlock(r);
    return o;
}

int cf_runner_cancel(cf_runner *r, const char *id)
{
    int rc = CF_OK;
    cf_runner_lock(r);
    cf_prediction *p = cf_store_get(r->store, id);
    if (p == NULL || cf_prediction_is_terminal(p) || p->cancel_requested) {
        rc = CF_ENOTFOUND;
    } else if (p == r->current) {
        cancel_running(r, p, NULL);
        wake_thread(r); /* so the kill timer is armed in the poll timeout */
    } else {
        /* still queued: it never reaches the worker (dispatch skips it) */
        p->cancel_requested = 1;
        finish(r, p, CF_STATUS_CANCELED, NULL);
    }
    cf_runner_unlock(r);
    return rc;
}
