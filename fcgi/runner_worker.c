/* runner_worker.c - the runner's side of its worker: setup, frames, logs, timers, restarts. */
#include "runner_int.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "files.h"
#include "ipc.h"
#include "log.h"
#include "model_log.h"
#include "openapi.h"
#include "upload.h"

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

/* Reads what the worker printed so far through its pipe. Lock held. */
void cf_rw_drain_logs(cf_runner *r)
{
    char buf[65536];
    int got_any = 0;
    while (r->slot.log_fd >= 0) {
        ssize_t n = read(r->slot.log_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            /* every writer is gone: the worker captured its fds 1 and 2
             * (worker_logs.h) or died. Polling it further would spin. */
            close(r->slot.log_fd);
            r->slot.log_fd = -1;
            break;
        }
        if (r->current && r->current->phase == CF_PHASE_RUNNING) {
            cf_records_log(r->records, r->current, buf, (size_t)n);
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
        cf_runner_emit(r, r->current, CF_EVENT_LOGS);
}

/* ---- worker lifecycle -------------------------------------------------- */

void cf_rw_start(cf_runner *r)
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

void cf_rw_died(cf_runner *r)
{
    cf_rw_drain_logs(r);
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
        cf_runner_end_current(r, CF_STATUS_FAILED,
                       "the prediction was interrupted: cog-fcgi stopped while it ran");
        return;
    }
    if (r->current && r->current->cancel_requested) {
        /* we killed it: the model ignored the cancel past its grace period */
        cf_runner_end_current(r, CF_STATUS_CANCELED, NULL);
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
    cf_runner_end_current(r, CF_STATUS_FAILED, msg);
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
    cf_rw_drain_logs(r);
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

/* Output files become data URIs while the frame is still the reader's
 * own, before the lock is taken: encoding never holds it. An error goes
 * into the frame as "encode_error". p: the prediction the frame is for. */
void cf_rw_encode_frame(int encode, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *key = NULL;
    if (!encode || type == NULL)
        return;
    if (strcmp(type, "output") == 0)
        key = "item";
    else if (strcmp(type, "done") == 0)
        key = "output";
    json_t *v = key ? json_object_get(msg, key) : NULL;
    if (v == NULL || json_is_null(v))
        return;
    cf_error err;
    cf_error_clear(&err);
    json_incref(v);
    if (cf_files_encode_outputs(&v, &err) != CF_OK)
        json_object_set_new(msg, "encode_error", json_string(err.msg));
    else
        json_object_set(msg, key, v);
    json_decref(v);
}

/* Whether frames for the running prediction get their files encoded. */
int cf_rw_wants_encoding(const cf_runner *r)
{
    return r->current && !r->current->raw_files && !r->current->upload_prefix;
}

static void handle_done(cf_runner *r, json_t *msg)
{
    cf_prediction *p = r->current;
    cf_rw_drain_logs(r);
    if (p == NULL || p->phase != CF_PHASE_RUNNING)
        return;
    const char *status = json_string_value(json_object_get(msg, "status"));
    const char *error = json_string_value(json_object_get(msg, "error"));
    const char *encode_error = json_string_value(json_object_get(msg, "encode_error"));
    cf_status st = CF_STATUS_FAILED;
    if (status && strcmp(status, "succeeded") == 0)
        st = CF_STATUS_SUCCEEDED;
    else if (status && strcmp(status, "canceled") == 0)
        st = CF_STATUS_CANCELED;
    if (!p->output_is_iterator) {
        json_t *out = json_object_get(msg, "output");
        cf_records_set_output(r->records, p, out ? json_incref(out) : NULL);
    }
    if (encode_error) {
        cf_runner_end_current(r, CF_STATUS_FAILED, encode_error);
        return;
    }
    if (p->output && p->upload_prefix && st == CF_STATUS_SUCCEEDED) {
        /* network: done without the lock; p stays current (BUSY) meanwhile */
        cf_error err;
        cf_error_clear(&err);
        json_t *out = json_deep_copy(p->output);
        cf_upload up = {p->upload_prefix, p->upload_multipart, p->id};
        cf_runner_unlock(r);
        int rc = out ? cf_upload_outputs(&out, &up, &err) : CF_ENOMEM;
        cf_runner_lock(r);
        if (rc != CF_OK) {
            json_decref(out);
            cf_log_error("CF0320", "prediction %s: %s", p->id, err.msg);
            /* Cog's words, one completed webhook (COG-API.md §16) */
            cf_runner_end_current(r, CF_STATUS_FAILED, "Cog: Got error trying to upload output files");
            return;
        }
        cf_records_set_output(r->records, p, out);
    }
    r->kill_at = 0;
    if (st == CF_STATUS_SUCCEEDED) {
        r->crashes = 0;
        cf_prediction_set_error(p, NULL); /* a deadline the model outran */
    }
    cf_runner_end_current(r, st, st == CF_STATUS_FAILED ? (error ? error : "prediction failed") : NULL);
}

static void handle_output(cf_runner *r, json_t *msg)
{
    cf_prediction *p = r->current;
    if (p == NULL || p->phase != CF_PHASE_RUNNING)
        return;
    cf_rw_drain_logs(r);
    const char *encode_error = json_string_value(json_object_get(msg, "encode_error"));
    if (encode_error)
        cf_log_error("CF0308", "cannot encode an output item: %s", encode_error);
    json_t *item = json_object_get(msg, "item");
    cf_records_output(r->records, p, item ? json_incref(item) : json_null());
    cf_runner_emit(r, p, CF_EVENT_OUTPUT);
}

static void handle_metric(cf_runner *r, json_t *msg)
{
    cf_prediction *p = r->current;
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (p == NULL || name == NULL || p->phase != CF_PHASE_RUNNING)
        return;
    json_t *v = json_object_get(msg, "value");
    cf_records_metric(r->records, p, name, v ? json_incref(v) : json_null());
}

/* What the model printed, in order with its outputs (worker_logs.h). */
static void handle_log(cf_runner *r, json_t *msg)
{
    json_t *text = json_object_get(msg, "text");
    const char *s = json_string_value(text);
    size_t n = json_string_length(text);
    if (s == NULL || n == 0)
        return;
    cf_rw_drain_logs(r); /* anything that came through the pipe before it */
    if (r->current && r->current->phase == CF_PHASE_RUNNING) {
        cf_records_log(r->records, r->current, s, n);
        cf_model_log_write(r->current->id, s, n);
        cf_runner_emit(r, r->current, CF_EVENT_LOGS);
    } else if (r->state == W_STARTING) {
        setup_logs_append(r, s, n);
        cf_model_log_write("setup", s, n);
    } else {
        cf_log_info("CF0302", "worker output between predictions: %.*s", (int)n, s);
    }
}

void cf_rw_frame(cf_runner *r, json_t *msg)
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
    else if (strcmp(type, "log") == 0)
        handle_log(r, msg);
    else if (strcmp(type, "schema") == 0)
        handle_schema(r, msg);
    else
        cf_log_warn("CF0309", "unknown frame type %s from the worker", type);
}

/* ---- cancel, deadlines, reload ----------------------------------------- */

/* Asks the worker to cancel the running prediction p (SIGUSR1 raises
 * CancelationException in predict()); a model that ignores it is killed
 * after the grace period. reason, if not NULL, becomes the error. */
void cf_rw_cancel(cf_runner *r, cf_prediction *p, const char *reason)
{
    p->cancel_requested = 1;
    if (reason)
        cf_prediction_set_error(p, reason);
    cf_records_touch(r->records, p);
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
double cf_rw_timers(cf_runner *r)
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
            cf_rw_cancel(r, cur, msg);
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
            cf_runner_end(r, q, CF_STATUS_CANCELED, msg);
        } else {
            NEXT(q->deadline);
        }
    }
    if (r->reload_pending && r->current == NULL && r->slot.pid > 0 && r->state != W_STARTING)
        retire_worker(r);
#undef NEXT
    return next;
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
        json_t *logs = cf_text_json(r->setup_logs ? r->setup_logs : "", r->setup_logs_len);
        json_object_set_new(setup, "logs", logs ? logs : json_string(""));
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

int cf_runner_wait_ready_for(cf_runner *r, double max_seconds, int (*client_gone)(void *),
                             void *ctx)
{
    cf_runner_lock(r);
    /* a setup timeout ends the wait with it; without one, max_seconds */
    double until = cf_monotonic() + max_seconds;
    if (r->setup_deadline > 0 && r->setup_deadline + 1 < until)
        until = r->setup_deadline + 1;
    int rc = 0;
    while (!r->ever_ready && r->state != W_SETUP_FAILED && r->state != W_DEFUNCT) {
        if (cf_monotonic() >= until) {
            rc = -1;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->ready_cond, &r->lock, &ts);
        if (client_gone) {
            cf_runner_unlock(r);
            int gone = client_gone(ctx);
            cf_runner_lock(r);
            if (gone) {
                rc = -2;
                break;
            }
        }
    }
    cf_runner_unlock(r);
    return rc;
}

/* Sends p's predict frame to the worker. Lock held; dropped while files
 * are prepared and the frame is written. Returns 0, or -1 when p ended
 * already (its files failed, it was canceled) or the worker is gone. */
int cf_rw_send_prediction(cf_runner *r, cf_prediction *p)
{
    cf_error err;
    cf_error_clear(&err);
    int rc;
    if (p->cancel_requested) {
        cf_runner_end_current(r, CF_STATUS_CANCELED, NULL);
        return -1;
    }
    cf_records_start(r->records, p);
    cf_runner_emit(r, p, CF_EVENT_START);
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
        cf_rw_died(r);
        return -1;
    }
    return 0;
}

int cf_runner_run_direct(cf_runner *r, cf_prediction *p, int (*client_gone)(void *), void *ctx)
{
    int gone = 0;
    cf_runner_lock(r);
    if (!p->prepared) {
        /* its files first, on this thread; then the runner starts it */
        cf_runner_unlock(r);
        cf_runner_prepare_files(r, p);
        return cf_runner_wait_client(r, p, client_gone, ctx);
    }
    if (r->current != p || !r->direct) {
        cf_runner_unlock(r);
        return cf_runner_wait_client(r, p, client_gone, ctx);
    }
    if (cf_rw_send_prediction(r, p) == 0) {
        while (r->current == p) {
            int fd = r->slot.ipc_fd, encode = cf_rw_wants_encoding(r);
            cf_runner_unlock(r);
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int n = poll(&pfd, 1, 100);
            json_t *msg = NULL;
            cf_error err;
            cf_error_clear(&err);
            if (n > 0) {
                msg = cf_ipc_recv(fd, &err);
                cf_rw_encode_frame(encode, msg);
            } else if (!gone && client_gone(ctx))
                gone = 1;
            cf_runner_lock(r);
            if (gone == 1 && r->current == p && !p->cancel_requested) {
                cf_log_info("CF0315", "client of %s went away: canceling it", p->id);
                cf_rw_cancel(r, p, NULL);
                cf_runner_wake(r);
                gone = 2;
            }
            if (n <= 0)
                continue;
            if (msg == NULL) {
                if (strcmp(err.msg, "eof") != 0)
                    cf_log_error("CF0311", "worker protocol error: %s", err.msg);
                cf_rw_died(r);
                break;
            }
            cf_rw_frame(r, msg);
            json_decref(msg);
        }
    }
    r->direct = 0;
    cf_runner_wake(r); /* the runner reads frames again and starts what is queued */
    cf_runner_unlock(r);
    if (!cf_prediction_is_terminal(p))
        return cf_runner_wait_client(r, p, client_gone, ctx) || gone;
    return gone != 0;
}

/* Whether p may be accepted now; lock held. */