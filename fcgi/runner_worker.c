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
#include "metrics.h"
#include "openapi.h"
#include "upload.h"
#include "usage.h"

/* ---- logs -------------------------------------------------------------- */

static void setup_logs_append(struct cf_wslot *s, const char *buf, size_t n)
{
    char *grown = realloc(s->setup_logs, s->setup_logs_len + n + 1);
    if (grown == NULL)
        return;
    s->setup_logs = grown;
    memcpy(s->setup_logs + s->setup_logs_len, buf, n);
    s->setup_logs_len += n;
    s->setup_logs[s->setup_logs_len] = '\0';
}

/* Reads what the worker printed so far through its pipe. Lock held. */
void cf_rw_drain_logs(cf_runner *r, struct cf_wslot *s)
{
    char buf[65536];
    int got_any = 0;
    while (s->proc.log_fd >= 0) {
        ssize_t n = read(s->proc.log_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            /* every writer is gone: the worker captured its fds 1 and 2
             * (worker_logs.h) or died. Polling it further would spin. */
            close(s->proc.log_fd);
            s->proc.log_fd = -1;
            break;
        }
        cf_prediction *only = cf_rw_target(s, NULL);
        if (only && only->phase == CF_PHASE_RUNNING) {
            cf_records_log(r->records, only, buf, (size_t)n);
            cf_model_log_write(only->id, buf, (size_t)n);
            got_any = 1;
        } else if (s->state == W_STARTING) {
            setup_logs_append(s, buf, (size_t)n);
            cf_model_log_write("setup", buf, (size_t)n);
        } else {
            /* between predictions, or several run at once: whose is unknown */
            cf_log_info("CF0302", "slot %d: worker output: %.*s", s->index, (int)n, buf);
        }
    }
    cf_prediction *only = cf_rw_target(s, NULL);
    if (got_any && only)
        cf_runner_emit(r, only, CF_EVENT_LOGS);
}

/* ---- worker lifecycle -------------------------------------------------- */

/* ---- the spare ------------------------------------------------------------ */

/* Whether a spare is worth its memory: some slot is offline and may boot. */
static int spare_wanted(const cf_runner *r)
{
    if (r->cfg.idle_timeout <= 0 || r->stopping || r->draining)
        return 0;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].state == W_OFFLINE)
            return 1;
    return 0;
}

static void spare_stop(cf_runner *r)
{
    if (r->spare.pid > 0)
        cf_slot_stop(&r->spare, 1);
    r->spare_ready = 0;
}

double cf_rw_spare_tick(cf_runner *r)
{
    if (!spare_wanted(r)) {
        spare_stop(r);
        return -1;
    }
    if (r->spare.pid > 0)
        return -1;
    double now = cf_monotonic();
    if (now < r->spare_next)
        return r->spare_next - now;
    cf_error err;
    cf_error_clear(&err);
    r->spare_ready = 0;
    if (cf_slot_start_standby(&r->spare, &r->cfg.spec, &err) != CF_OK) {
        cf_log_error("CF0303", "%s", err.msg);
        r->spare_next = now + 5;
        return 5;
    }
    return -1;
}

void cf_rw_spare_frame(cf_runner *r)
{
    cf_error err;
    cf_error_clear(&err);
    json_t *msg = cf_ipc_recv(r->spare.ipc_fd, &err); /* a small frame: under the lock */
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (msg == NULL) {
        /* it died (or could not start Python): not a slot's crash */
        spare_stop(r);
        r->spare_next = cf_monotonic() + 5;
    } else if (type && strcmp(type, "standby") == 0) {
        r->spare_ready = 1;
    } else if (type && strcmp(type, "log") == 0) {
        const char *text = json_string_value(json_object_get(msg, "text"));
        cf_log_info("CF0327", "spare worker output: %s", text ? text : "");
    }
    json_decref(msg);
}

/* Makes the ready spare s's worker: it loads the model now, with s's
 * device. 0, or -1 when there is no ready spare or it cannot be told. */
static int take_spare(cf_runner *r, struct cf_wslot *s)
{
    if (r->spare.pid <= 0 || !r->spare_ready)
        return -1;
    cf_error err;
    json_t *env = json_object();
    if (env && s->device[0])
        json_object_set_new(env, "CUDA_VISIBLE_DEVICES", json_string(s->device));
    json_t *msg = env ? json_pack("{s:s, s:o}", "type", "load", "env", env) : NULL;
    int rc = msg ? cf_ipc_send(r->spare.ipc_fd, msg, &err) : CF_ENOMEM;
    json_decref(msg);
    if (rc != CF_OK) {
        spare_stop(r);
        return -1;
    }
    s->proc = r->spare;
    memset(&r->spare, 0, sizeof r->spare);
    r->spare.ipc_fd = r->spare.log_fd = -1;
    r->spare_ready = 0;
    cf_log_info("CF0326", "worker %d (the spare) loads the model for slot %d%s%s", (int)s->proc.pid,
                s->index, s->device[0] ? " on CUDA device " : "", s->device);
    return 0;
}

void cf_rw_start(cf_runner *r, struct cf_wslot *s)
{
    cf_error err;
    cf_error_clear(&err);
    free(s->setup_logs);
    s->setup_logs = NULL;
    s->setup_logs_len = 0;
    setup_logs_append(s, "", 0);
    s->setup_started = cf_now();
    s->setup_completed = 0;
    s->boot_started = cf_monotonic();
    s->ready_mono = 0;
    s->state = W_STARTING;
    s->kill_at = 0;
    s->setup_deadline = r->cfg.setup_timeout > 0 ? cf_monotonic() + r->cfg.setup_timeout : 0;
    s->boots++;
    s->hc_sent = 0;
    s->hc_checked = 0;
    if (take_spare(r, s) == 0)
        return;
    if (cf_slot_start(&s->proc, &r->cfg.spec, s->device, &err) != CF_OK) {
        cf_log_error("CF0303", "%s", err.msg);
        s->crashes++;
        s->next_start = cf_monotonic() + fmin(30.0, 0.5 * pow(2, s->crashes));
        if (s->crashes >= 3)
            s->state = W_DEFUNCT;
    }
}

void cf_rw_died(cf_runner *r, struct cf_wslot *s)
{
    cf_rw_drain_logs(r, s);
    int status = cf_slot_stop(&s->proc, 0);
    int code = cf_slot_exitcode(status);
    char msg[256];
    snprintf(msg, sizeof msg,
             "Prediction failed for an unknown reason. It might have run out of memory? "
             "(exitcode %d)", code);
    cf_log_error("CF0304", "slot %d: worker exited (exitcode %d)", s->index, code);
    if (s->state == W_STARTING && !s->ever_ready) {
        /* died while importing or in setup(): as Cog, setup failed */
        s->state = W_SETUP_FAILED;
        s->setup_completed = cf_now();
        s->setup_ok = 0;
        free(s->setup_error);
        char reason[128];
        snprintf(reason, sizeof reason, "worker died during setup (exitcode %d)", code);
        s->setup_error = strdup(reason);
        cf_model_log_end("setup", NULL, s->setup_error, s->setup_logs);
        pthread_cond_broadcast(&r->ready_cond);
        return;
    }
    if (s->state == W_SETUP_FAILED)
        return;
    s->kill_at = 0;
    if (r->stopping) {
        cf_runner_end_all(r, s, CF_STATUS_FAILED,
                          "the prediction was interrupted: cog-fcgi stopped while it ran");
        return;
    }
    int killed = 0;
    for (int k = 0; k < s->nrun; k++)
        killed |= s->run[k]->cancel_requested;
    if (killed) {
        /* we killed it: a model ignored a cancel past its grace period (the
         * others running in the same worker fail with it) */
        cf_runner_end_all(r, s, CF_STATUS_FAILED, msg);
        s->state = W_STARTING;
        s->next_start = 0;
        return;
    }
    if (s->reload_pending && s->nrun == 0) {
        s->reload_pending = 0;
        s->state = W_STARTING;
        s->next_start = 0;
        return;
    }
    cf_runner_end_all(r, s, CF_STATUS_FAILED, msg);
    s->crashes++;
    /* back off 0.5 s, 1 s, 2 s, ... up to 30 s; DEFUNCT while crashing repeatedly */
    s->next_start = cf_monotonic() + fmin(30.0, 0.25 * pow(2, s->crashes));
    s->state = s->crashes >= 5 ? W_DEFUNCT : W_STARTING;
}

/* ---- frames from the worker -------------------------------------------- */

static void handle_ready(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    cf_error err;
    cf_error_clear(&err);
    cf_rw_drain_logs(r, s);
    s->setup_completed = cf_now();
    s->ready_mono = cf_monotonic();
    s->idle_since = s->ready_mono;
    s->setup_deadline = 0;
    s->setup_ok = json_is_true(json_object_get(msg, "ok"));
    free(s->setup_error);
    s->setup_error = NULL;
    const char *e = json_string_value(json_object_get(msg, "error"));
    if (!s->setup_ok)
        s->setup_error = strdup(e ? e : "setup failed");
    /* a pool keeps the schema of a working slot when another one fails */
    int take = r->setup_ok_any == 0 || json_is_true(json_object_get(msg, "ok")) || r->nslots == 1;
    json_t *predict = take ? json_object_get(msg, "predict") : NULL;
    json_t *train = json_object_get(msg, "train");
    if (take) {
        json_decref(r->ready_msg);
        r->ready_msg = json_incref(msg);
    }
    if (json_is_object(predict)) {
        json_t *doc = cf_openapi_build(predict, json_is_object(train) ? train : NULL, &err);
        if (doc == NULL)
            cf_log_error("CF0305", "cannot build the OpenAPI document: %s", err.msg);
        json_decref(r->openapi);
        r->openapi = doc;
    }
    s->state = s->setup_ok ? W_READY : W_SETUP_FAILED;
    json_int_t conc = json_integer_value(json_object_get(msg, "concurrency"));
    if (conc > 1 && conc <= CF_MAX_CONCURRENCY && s->nrun == 0) {
        cf_prediction **run = realloc(s->run, (size_t)conc * sizeof *run);
        if (run) {
            s->run = run;
            s->capacity = (int)conc;
        }
    } else if (s->nrun == 0) {
        s->capacity = 1;
    }
    if (s->setup_ok) {
        s->ever_ready = 1;
        r->setup_ok_any = 1;
        cf_model_log_end("setup", NULL, NULL, NULL);
        cf_log_info("CF0306", "slot %d: setup succeeded in %.3f s", s->index,
                    s->setup_completed - s->setup_started);
    } else {
        cf_model_log_end("setup", NULL, s->setup_error, s->setup_logs);
    }
    pthread_cond_broadcast(&r->ready_cond);
}

/* The worker's early "schema" frame, sent before it imports the module and runs
 * setup(): from now on /openapi.json is served and inputs are validated (422s)
 * while setup() runs. The ready frame that follows replaces it. A worker
 * restarted after a crash (or another slot of a pool) sends one too; the
 * schema of the last ready frame stays then. */
static void handle_schema(cf_runner *r, json_t *msg)
{
    cf_error err;
    cf_error_clear(&err);
    json_t *predict = json_object_get(msg, "predict");
    json_t *train = json_object_get(msg, "train");
    if (!json_is_object(predict) || r->setup_ok_any)
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

cf_prediction *cf_rw_target(const struct cf_wslot *s, const json_t *msg)
{
    const char *id = msg ? json_string_value(json_object_get(msg, "id")) : NULL;
    if (id == NULL)
        return s->nrun == 1 ? s->run[0] : NULL;
    for (int k = 0; k < s->nrun; k++)
        if (strcmp(s->run[k]->id, id) == 0)
            return s->run[k];
    return NULL;
}

int cf_rw_wants_encoding(const struct cf_wslot *s, const json_t *msg)
{
    const cf_prediction *p = cf_rw_target(s, msg);
    return p && !p->raw_files && !p->upload_prefix;
}

static void handle_done(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    cf_prediction *p = cf_rw_target(s, msg);
    cf_rw_drain_logs(r, s);
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
        cf_runner_end_running(r, s, p, CF_STATUS_FAILED, encode_error);
        return;
    }
    if (p->output && p->upload_prefix && st == CF_STATUS_SUCCEEDED) {
        /* network: done without the lock; p stays running (BUSY) meanwhile */
        cf_error err;
        cf_error_clear(&err);
        json_t *out = json_deep_copy(p->output);
        cf_upload up = {p->upload_prefix, p->upload_multipart, p->id};
        cf_prediction_incref(p);
        cf_runner_unlock(r);
        int rc = out ? cf_upload_outputs(&out, &up, &err) : CF_ENOMEM;
        cf_runner_lock(r);
        cf_prediction_decref(p); /* s still holds it: only done frames end it */
        if (rc != CF_OK) {
            json_decref(out);
            cf_log_error("CF0320", "prediction %s: %s", p->id, err.msg);
            /* Cog's words, one completed webhook (COG-API.md §16) */
            cf_runner_end_running(r, s, p, CF_STATUS_FAILED,
                                  "Cog: Got error trying to upload output files");
            return;
        }
        cf_records_set_output(r->records, p, out);
    }
    int others_canceled = 0;
    for (int k = 0; k < s->nrun; k++)
        others_canceled |= s->run[k] != p && s->run[k]->cancel_requested;
    if (!others_canceled)
        s->kill_at = 0;
    if (r->nslots > 1 || r->cfg.idle_timeout > 0)
        cf_records_metric(r->records, p, "total_time",
                          json_real(round((cf_monotonic() - p->accepted_mono) * 1e6) / 1e6));
    if (st == CF_STATUS_SUCCEEDED) {
        s->crashes = 0;
        cf_prediction_set_error(p, NULL); /* a deadline the model outran */
    }
    cf_runner_end_running(r, s, p, st,
                          st == CF_STATUS_FAILED ? (error ? error : "prediction failed") : NULL);
}

static void handle_output(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    cf_prediction *p = cf_rw_target(s, msg);
    if (p == NULL || p->phase != CF_PHASE_RUNNING)
        return;
    cf_rw_drain_logs(r, s);
    const char *encode_error = json_string_value(json_object_get(msg, "encode_error"));
    if (encode_error)
        cf_log_error("CF0308", "cannot encode an output item: %s", encode_error);
    json_t *item = json_object_get(msg, "item");
    cf_records_output(r->records, p, item ? json_incref(item) : json_null());
    cf_runner_emit(r, p, CF_EVENT_OUTPUT);
}

static void handle_metric(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    cf_prediction *p = cf_rw_target(s, msg);
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (p == NULL || name == NULL || p->phase != CF_PHASE_RUNNING)
        return;
    json_t *v = json_object_get(msg, "value");
    if (json_is_number(v))
        cf_metrics_custom(r->metrics, name, json_number_value(v));
    cf_records_metric(r->records, p, name, v ? json_incref(v) : json_null());
}

/* What the model printed, in order with its outputs (worker_logs.h). */
static void handle_log(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    json_t *text = json_object_get(msg, "text");
    const char *str = json_string_value(text);
    size_t n = json_string_length(text);
    if (str == NULL || n == 0)
        return;
    cf_rw_drain_logs(r, s); /* anything that came through the pipe before it */
    cf_prediction *p = cf_rw_target(s, msg);
    if (p && p->phase == CF_PHASE_RUNNING) {
        cf_records_log(r->records, p, str, n);
        cf_model_log_write(p->id, str, n);
        cf_runner_emit(r, p, CF_EVENT_LOGS);
    } else if (s->state == W_STARTING) {
        setup_logs_append(s, str, n);
        cf_model_log_write("setup", str, n);
    } else {
        cf_log_info("CF0302", "slot %d: worker output: %.*s", s->index, (int)n, str);
    }
}

/* The answer to a healthcheck frame (cf_runner_health_json waits for it). */
static void handle_healthcheck(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    const char *e = json_string_value(json_object_get(msg, "error"));
    s->hc_sent = 0;
    s->hc_checked = 1;
    s->hc_ok = json_is_true(json_object_get(msg, "ok"));
    snprintf(s->hc_error, sizeof s->hc_error, "%s", s->hc_ok ? "" : e ? e : "Healthcheck failed");
    pthread_cond_broadcast(&r->ready_cond);
}

void cf_rw_frame(cf_runner *r, struct cf_wslot *s, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (strcmp(type, "ready") == 0)
        handle_ready(r, s, msg);
    else if (strcmp(type, "done") == 0)
        handle_done(r, s, msg);
    else if (strcmp(type, "output") == 0)
        handle_output(r, s, msg);
    else if (strcmp(type, "metric") == 0)
        handle_metric(r, s, msg);
    else if (strcmp(type, "log") == 0)
        handle_log(r, s, msg);
    else if (strcmp(type, "healthcheck") == 0)
        handle_healthcheck(r, s, msg);
    else if (strcmp(type, "schema") == 0)
        handle_schema(r, msg);
    else
        cf_log_warn("CF0309", "unknown frame type %s from the worker", type);
}

/* ---- cancel, deadlines, reload ----------------------------------------- */

/* Asks the worker to cancel the running prediction p (SIGUSR1 raises
 * CancelationException in predict()); a model that ignores it is killed
 * after the grace period. reason, if not NULL, becomes the error. */
void cf_rw_cancel(cf_runner *r, struct cf_wslot *s, cf_prediction *p, const char *reason)
{
    p->cancel_requested = 1;
    if (reason)
        cf_prediction_set_error(p, reason);
    cf_records_touch(r->records, p);
    if (p->phase == CF_PHASE_QUEUED)
        return; /* handed to a request thread that has not sent it: it never starts
                 * (cf_rw_send_prediction), so the worker is neither signaled nor timed */
    if (s->proc.pid > 0 && s->capacity > 1) {
        /* several run in the worker's event loop: the frame names which one
         * (a small frame: the socket buffer takes it without blocking) */
        cf_error err;
        json_t *msg = json_pack("{s:s, s:s}", "type", "cancel", "id", p->id);
        pthread_mutex_lock(&s->wlock);
        int sent = msg ? cf_ipc_send(s->proc.ipc_fd, msg, &err) : CF_ENOMEM;
        pthread_mutex_unlock(&s->wlock);
        if (sent != CF_OK)
            kill(s->proc.pid, SIGKILL); /* cannot tell it: the slot restarts */
        json_decref(msg);
        double grace = r->cfg.cancel_grace > 0 ? r->cfg.cancel_grace : 5.0;
        if (s->kill_at == 0)
            s->kill_at = cf_monotonic() + grace;
    } else if (s->proc.pid > 0) {
        kill(s->proc.pid, SIGUSR1);
        double grace = r->cfg.cancel_grace > 0 ? r->cfg.cancel_grace : 5.0;
        if (s->kill_at == 0)
            s->kill_at = cf_monotonic() + grace;
    }
}

static void deadline_message(cf_prediction *p, char *buf, size_t len)
{
    snprintf(buf, len, "Prediction canceled: it ran past its deadline (Cancel-After or "
                       "--predict-timeout)");
    (void)p;
}

/* Retires the worker without calling it a crash (SIGHUP reload). */
static void retire_worker(struct cf_wslot *s)
{
    s->reload_pending = 0;
    cf_slot_stop(&s->proc, 0);
    s->state = W_STARTING;
    s->next_start = 0;
    cf_log_info("CF0312", "reloading: the old worker was retired");
}

/* Ends an idle worker past --idle-timeout: its process goes, and with it
 * its memory (GPU memory included); the next prediction boots it again. */
static void take_offline(cf_runner *r, struct cf_wslot *s)
{
    double idle = cf_monotonic() - s->idle_since;
    cf_slot_stop(&s->proc, 0);
    s->state = W_OFFLINE;
    s->kill_at = 0;
    cf_log_info("CF0325", "slot %d: idle for %.1f s, its worker went offline", s->index, idle);
    (void)r;
}

/* Workers up (booting or ready), for --min-workers. */
static int slots_up(const cf_runner *r)
{
    int n = 0;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].state == W_STARTING || r->slots[i].state == W_READY)
            n++;
    return n;
}

/* The timers of one slot; *next as cf_rw_timers returns it. */
static void slot_timers(cf_runner *r, struct cf_wslot *s, double now, double *next)
{
#define NEXT(t) do { double d_ = (t) - now; if (*next < 0 || d_ < *next) *next = d_ < 0 ? 0 : d_; } while (0)
    char msg[256];
    if (s->kill_at > 0) {
        if (now >= s->kill_at && s->proc.pid > 0) {
            cf_log_warn("CF0313", "worker %d ignored a cancel: killing it", (int)s->proc.pid);
            kill(s->proc.pid, SIGKILL);
            s->kill_at = 0;
        } else {
            NEXT(s->kill_at);
        }
    }
    if (s->setup_deadline > 0 && s->state == W_STARTING && s->proc.pid > 0) {
        if (now >= s->setup_deadline) {
            char reason[128];
            snprintf(reason, sizeof reason, "setup timed out after %.0f s", r->cfg.setup_timeout);
            cf_log_error("CF0314", "%s: killing the worker", reason);
            setup_logs_append(s, reason, strlen(reason));
            setup_logs_append(s, "\n", 1);
            cf_slot_stop(&s->proc, 1);
            s->state = W_SETUP_FAILED;
            s->setup_ok = 0;
            s->setup_completed = cf_now();
            s->setup_deadline = 0;
            free(s->setup_error);
            s->setup_error = strdup(reason);
            pthread_cond_broadcast(&r->ready_cond);
        } else {
            NEXT(s->setup_deadline);
        }
    }
    for (int k = 0; k < s->nrun; k++) {
        cf_prediction *cur = s->run[k];
        if (cur->deadline <= 0 || cur->cancel_requested)
            continue;
        if (now >= cur->deadline) {
            deadline_message(cur, msg, sizeof msg);
            cf_rw_cancel(r, s, cur, msg);
        } else {
            NEXT(cur->deadline);
        }
    }
    if (s->reload_pending && s->nrun == 0 && s->proc.pid > 0 && s->state != W_STARTING)
        retire_worker(s);
    if (r->cfg.idle_timeout > 0 && s->state == W_READY && s->nrun == 0 && !s->direct &&
        !s->reading && r->qlen == 0 && s->proc.pid > 0 && !r->stopping) {
        if (now >= s->idle_since + r->cfg.idle_timeout) {
            if (slots_up(r) > r->cfg.min_workers)
                take_offline(r, s);
        } else {
            NEXT(s->idle_since + r->cfg.idle_timeout);
        }
    }
#undef NEXT
}

/* Deadlines of the running and queued predictions, the setup timeouts,
 * the kill of a worker that ignores a cancel, pending reloads and idle
 * timeouts. Lock held. Returns the seconds until the next timer, or -1. */
double cf_rw_timers(cf_runner *r)
{
    double now = cf_monotonic();
    double next = -1;
    char msg[256];
    for (int i = 0; i < r->nslots; i++)
        slot_timers(r, &r->slots[i], now, &next);
    for (size_t i = 0; i < r->qlen; i++) {
        cf_prediction *q = r->queue[(r->qhead + i) % r->qcap];
        if (q->deadline <= 0 || cf_prediction_is_terminal(q))
            continue;
        if (now >= q->deadline) {
            deadline_message(q, msg, sizeof msg);
            q->cancel_requested = 1;
            cf_runner_end(r, q, CF_STATUS_CANCELED, msg);
        } else if (next < 0 || q->deadline - now < next) {
            next = q->deadline - now;
        }
    }
    return next;
}

const char *cf_rw_state_name(const struct cf_wslot *s)
{
    switch (s->state) {
    case W_OFFLINE: return "offline";
    case W_STARTING: return "booting";
    case W_READY: return s->nrun > 0 ? "active" : "idle";
    case W_SETUP_FAILED: return "setup_failed";
    case W_DEFUNCT: return "defunct";
    }
    return "unknown";
}

/* Whether any slot's setup succeeded once (the schema is known). */
static int any_ever_ready(const cf_runner *r)
{
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].ever_ready)
            return 1;
    return 0;
}

static int all_defunct(const cf_runner *r)
{
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].state != W_DEFUNCT)
            return 0;
    return 1;
}

/* Cog's status word for the whole pool. READY while a prediction could
 * start now (an idle slot, or an offline one that boots for it), BUSY
 * when every slot is taken. */
static const char *pool_status(const cf_runner *r)
{
    if (cf_runner_failed_slot(r))
        return "SETUP_FAILED";
    if (all_defunct(r))
        return "DEFUNCT";
    if (!any_ever_ready(r))
        return "STARTING";
    for (int i = 0; i < r->nslots; i++) {
        const struct cf_wslot *s = &r->slots[i];
        if ((s->state == W_READY && s->nrun < s->capacity && !s->reload_pending) ||
            s->state == W_OFFLINE)
            return "READY";
    }
    /* every slot runs, reloads or restarts after a crash */
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].nrun > 0 || r->slots[i].ever_ready)
            return "BUSY";
    return "STARTING";
}

/* The slot whose setup the health answer shows: a failed one when the
 * pool failed, else the first whose setup completed. */
static const struct cf_wslot *setup_slot(const cf_runner *r)
{
    const struct cf_wslot *failed = cf_runner_failed_slot(r);
    if (failed)
        return failed;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].setup_completed > 0)
            return &r->slots[i];
    return NULL;
}

/* The pool's own keys: only when there is a pool (several slots or an
 * idle timeout), so a single worker answers exactly as Cog does. */
static void add_pool_keys(cf_runner *r, json_t *o)
{
    if (r->nslots == 1 && r->cfg.idle_timeout <= 0)
        return;
    json_t *slots = json_array();
    for (int i = 0; i < r->nslots; i++) {
        const struct cf_wslot *s = &r->slots[i];
        json_t *so = json_pack("{s:i, s:s}", "slot", s->index, "state", cf_rw_state_name(s));
        if (so == NULL)
            continue;
        if (s->device[0])
            json_object_set_new(so, "device", json_string(s->device));
        if (s->proc.pid > 0)
            json_object_set_new(so, "pid", json_integer(s->proc.pid));
        json_object_set_new(so, "capacity", json_integer(s->capacity));
        if (s->hc_checked)
            json_object_set_new(so, "healthy", json_boolean(s->hc_ok));
        json_t *ids = json_array();
        for (int k = 0; k < s->nrun; k++)
            json_array_append_new(ids, json_string(s->run[k]->id));
        json_object_set_new(so, "predictions", ids);
        json_array_append_new(slots, so);
    }
    json_object_set_new(o, "slots", slots);
    json_object_set_new(o, "queue_depth", json_integer((json_int_t)r->qlen));
    if (r->cfg.idle_timeout > 0)
        json_object_set_new(o, "spare", json_string(r->spare.pid <= 0 ? "none"
                                                    : r->spare_ready ? "ready" : "starting"));
}

/* The user's healthcheck() (Cog 0.16.10+), run per slot: every idle
 * slot gets a healthcheck frame and this waits for the answers, 5 s at
 * most as Cog (a busy slot keeps its last answer). Returns the first
 * failure's text, or NULL when all are healthy. Lock held; dropped while
 * waiting. */
static const char *user_healthcheck(cf_runner *r)
{
    if (!json_is_true(json_object_get(r->ready_msg, "healthcheck")))
        return NULL;
    double now = cf_monotonic();
    for (int i = 0; i < r->nslots; i++) {
        struct cf_wslot *s = &r->slots[i];
        if (s->state != W_READY || s->nrun > 0 || s->hc_sent > 0 || s->proc.pid <= 0)
            continue;
        cf_error err;
        json_t *msg = json_pack("{s:s}", "type", "healthcheck");
        pthread_mutex_lock(&s->wlock);
        if (msg && cf_ipc_send(s->proc.ipc_fd, msg, &err) == CF_OK)
            s->hc_sent = now;
        pthread_mutex_unlock(&s->wlock);
        json_decref(msg);
    }
    for (;;) {
        int waiting = 0;
        now = cf_monotonic();
        for (int i = 0; i < r->nslots; i++) {
            struct cf_wslot *s = &r->slots[i];
            if (s->hc_sent <= 0)
                continue;
            if (now - s->hc_sent < 5.5 && s->state == W_READY) {
                waiting = 1;
            } else if (s->state == W_READY) {
                /* the worker did not answer in time (a sync healthcheck in a
                 * busy worker): Cog's timeout answer; the frame stays out */
                s->hc_checked = 1;
                s->hc_ok = 0;
                snprintf(s->hc_error, sizeof s->hc_error, "Healthcheck failed: user-defined "
                         "healthcheck timed out after 5.0 seconds");
            } else {
                s->hc_sent = 0; /* the worker went away */
            }
        }
        if (!waiting)
            break;
        struct timespec ts = cf_realtime_after(0.050);
        pthread_cond_timedwait(&r->ready_cond, &r->lock, &ts);
    }
    for (int i = 0; i < r->nslots; i++) {
        const struct cf_wslot *s = &r->slots[i];
        if (s->state == W_READY && s->hc_checked && !s->hc_ok)
            return s->hc_error;
    }
    return NULL;
}

json_t *cf_runner_health_json(cf_runner *r)
{
    cf_runner_lock(r);
    const char *status = pool_status(r);
    const char *hc_error = NULL;
    if (strcmp(status, "READY") == 0 || strcmp(status, "BUSY") == 0) {
        hc_error = user_healthcheck(r);
        status = hc_error ? "UNHEALTHY" : pool_status(r);
    }
    const struct cf_wslot *s = setup_slot(r);
    json_t *setup = json_object();
    if (s && s->setup_completed > 0) {
        char a[64], b[64];
        cf_format_time(s->setup_started, a, sizeof a);
        cf_format_time(s->setup_completed, b, sizeof b);
        json_object_set_new(setup, "started_at", json_string(a));
        json_object_set_new(setup, "completed_at", json_string(b));
        json_t *logs = cf_text_json(s->setup_logs ? s->setup_logs : "", s->setup_logs_len);
        json_object_set_new(setup, "logs", logs ? logs : json_string(""));
        json_object_set_new(setup, "status", json_string(s->setup_ok ? "succeeded" : "failed"));
    }
    json_t *o = json_pack("{s:s, s:o}", "status", status, "setup", setup);
    if (o && hc_error)
        json_object_set_new(o, "user_healthcheck_error", json_string(hc_error));
    if (o)
        add_pool_keys(r, o);
    cf_runner_unlock(r);
    return o;
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
        json_t *sc = json_object_get(r->ready_msg, training ? "train" : "predict");
        if (json_is_object(sc))
            schema = json_incref(sc);
    }
    const struct cf_wslot *failed = cf_runner_failed_slot(r);
    if (failed) {
        *ready = -1;
        cf_error_set(err, CF_EUNAVAIL, "setup failed: %s",
                     failed->setup_error ? failed->setup_error : "unknown error");
    } else {
        *ready = any_ever_ready(r) ? 1 : 0;
    }
    cf_runner_unlock(r);
    return schema;
}

/* Whether a setup wait is over: a slot got ready once, or none can. */
static int setup_over(const cf_runner *r)
{
    return any_ever_ready(r) || cf_runner_failed_slot(r) || all_defunct(r);
}

void cf_runner_wait_ready(cf_runner *r)
{
    cf_runner_lock(r);
    while (!setup_over(r))
        pthread_cond_wait(&r->ready_cond, &r->lock);
    cf_runner_unlock(r);
}

int cf_runner_wait_ready_for(cf_runner *r, double max_seconds, int (*client_gone)(void *),
                             void *ctx)
{
    cf_runner_lock(r);
    /* a setup timeout ends the wait with it; without one, max_seconds */
    double until = cf_monotonic() + max_seconds;
    for (int i = 0; i < r->nslots; i++) {
        double d = r->slots[i].setup_deadline;
        if (d > 0 && d + 1 < until)
            until = d + 1;
    }
    int rc = 0;
    while (!setup_over(r)) {
        if (cf_monotonic() >= until) {
            rc = -1;
            break;
        }
        struct timespec ts = cf_realtime_after(0.100);
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

/* p's predict frame (new reference), or NULL when out of memory. Built
 * key by key: json_pack parses its format string on every call. */
static json_t *predict_frame(const cf_prediction *p)
{
    json_t *msg = json_object();
    json_t *input = p->input_worker ? json_incref(p->input_worker) : json_object();
    if (msg == NULL || input == NULL ||
        json_object_set_new_nocheck(msg, "type", json_string_nocheck("predict")) != 0 ||
        json_object_set_new(msg, "id", json_string(p->id)) != 0 ||
        json_object_set_new_nocheck(msg, "mode",
                                    json_string_nocheck(p->is_training ? "train" : "predict")) != 0 ||
        json_object_set_new_nocheck(msg, "input", json_incref(input)) != 0 ||
        (p->context && json_object_set_nocheck(msg, "context", p->context) != 0)) {
        json_decref(input);
        json_decref(msg);
        return NULL;
    }
    json_decref(input);
    return msg;
}

/* Sends p's predict frame to the worker. Lock held; dropped while files
 * are prepared and the frame is written. Returns 0, or -1 when p ended
 * already (its files failed, it was canceled) or the worker is gone. */
int cf_rw_send_prediction(cf_runner *r, struct cf_wslot *s, cf_prediction *p)
{
    cf_error err;
    cf_error_clear(&err);
    int rc;
    if (p->cancel_requested) {
        cf_runner_end_running(r, s, p, CF_STATUS_CANCELED, NULL);
        return -1;
    }
    cf_records_start(r->records, p);
    p->slot = s->index;
    if (r->nslots > 1 || r->cfg.idle_timeout > 0) {
        /* the pool's timings, beside Cog's predict_time (Replicate's names) */
        double now = cf_monotonic();
        double boot = 0;
        if (s->ready_mono > p->accepted_mono)
            boot = s->ready_mono - fmax(s->boot_started, p->accepted_mono);
        cf_records_metric(r->records, p, "queue_time", json_real(round((now - p->accepted_mono) * 1e6) / 1e6));
        if (boot > 0)
            cf_records_metric(r->records, p, "boot_time", json_real(round(boot * 1e6) / 1e6));
    }
    if (r->metrics) {
        double now = cf_monotonic();
        int booted = s->ready_mono > p->accepted_mono;
        cf_metrics_started(r->metrics, now - p->accepted_mono,
                           booted ? s->ready_mono - fmax(s->boot_started, p->accepted_mono) : -1);
    }
    cf_runner_emit(r, p, CF_EVENT_START);
    json_t *msg = predict_frame(p);
    int fd = s->proc.ipc_fd;
    cf_runner_unlock(r);
    pthread_mutex_lock(&s->wlock);
    rc = msg ? cf_ipc_send(fd, msg, &err) : CF_ENOMEM;
    pthread_mutex_unlock(&s->wlock);
    json_decref(msg);
    cf_runner_lock(r);
    if (rc != CF_OK) {
        cf_log_error("CF0310", "cannot send a prediction to the worker: %s", err.msg);
        cf_rw_died(r, s);
        return -1;
    }
    return 0;
}

int cf_rw_start_direct(cf_runner *r, struct cf_wslot *s, cf_prediction *p)
{
    if (p->deadline > 0)
        cf_runner_wake(r); /* its timer joins the runner's poll timeout */
    return cf_rw_send_prediction(r, s, p);
}

/* Talks to s's worker for p, which s runs directly for this thread: sends
 * the predict frame and reads frames until p leaves s. *gone follows the
 * client (1: it went away, 2: and p was canceled for it). Lock held. */
static void run_on_slot(cf_runner *r, struct cf_wslot *s, cf_prediction *p,
                        int (*client_gone)(void *), void *ctx, int *gone)
{
    /* the frame may have gone already (cf_carry_start_here) */
    if (p->phase == CF_PHASE_QUEUED && cf_rw_start_direct(r, s, p) != 0)
        return;
    while (cf_runner_slot_of(r, p) == s) {
        int fd = s->proc.ipc_fd, encode = cf_rw_wants_encoding(s, NULL);
        cf_runner_unlock(r);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, 100);
        json_t *msg = NULL;
        cf_error err;
        cf_error_clear(&err);
        if (n > 0) {
            msg = cf_ipc_recv(fd, &err);
            cf_rw_encode_frame(encode, msg);
        } else if (!*gone && client_gone(ctx))
            *gone = 1;
        cf_runner_lock(r);
        if (*gone == 1 && cf_runner_slot_of(r, p) == s && !p->cancel_requested) {
            cf_log_info("CF0315", "client of %s went away: canceling it", p->id);
            cf_rw_cancel(r, s, p, NULL);
            cf_runner_wake(r);
            *gone = 2;
        }
        if (n <= 0)
            continue;
        if (msg == NULL) {
            if (strcmp(err.msg, "eof") != 0)
                cf_log_error("CF0311", "worker protocol error: %s", err.msg);
            cf_rw_died(r, s);
            break;
        }
        cf_rw_frame(r, s, msg);
        json_decref(msg);
    }
}

/* Whether the runner thread must look at the pool after a direct run on s
 * ended and nothing queued took s: something waits, s changed state, or a
 * timer (idle, kill) depends on it. Lock held. */
static int runner_has_work(const cf_runner *r, const struct cf_wslot *s)
{
    return r->qlen > 0 || s->state != W_READY || s->reload_pending || s->kill_at > 0 ||
           s->hc_sent > 0 || r->cfg.idle_timeout > 0 || r->draining || r->stopping;
}

int cf_runner_run_direct(cf_runner *r, cf_prediction *p, int (*client_gone)(void *), void *ctx,
                         cf_answer *final, cf_parked *park)
{
    int gone = 0;
    cf_runner_lock(r);
    if (!p->prepared) {
        /* its files first, on this thread; then it waits for a slot */
        cf_runner_unlock(r);
        cf_runner_prepare_files(r, p);
        cf_runner_lock(r);
    }
    /* While p waits, a slot that frees up is handed to this thread
     * (cf_runner_hand_over), which then runs p as the fast path of
     * cf_runner_submit does: the runner thread never carries its frames. */
    p->direct_waiter = 1;
    if (park && !cf_prediction_is_terminal(p) && cf_runner_slot_of(r, p) == NULL) {
        /* it waits without this thread (runner_carry.c) */
        p->parked = park;
        p->park_state = CF_PARK_WAITING;
        r->nparked++;
        cf_runner_unlock(r);
        return CF_RUN_PARKED;
    }
    while (!cf_prediction_is_terminal(p)) {
        struct cf_wslot *s = cf_runner_slot_of(r, p);
        if (s && s->direct && s->nrun == 1 && s->run[0] == p) {
            run_on_slot(r, s, p, client_gone, ctx, &gone);
            s->direct = 0;
            p->direct_waiter = 0;
            if (cf_runner_hand_over(r, s))
                cf_carry_start_here(r, s); /* the next one's frame before this answer */
            else if (runner_has_work(r, s))
                cf_runner_wake(r); /* the runner reads frames again, starts what is queued */
            continue;
        }
        struct timespec ts = cf_realtime_after(0.100);
        pthread_cond_timedwait(&p->done_cond, &r->lock, &ts);
        if (gone || cf_prediction_is_terminal(p))
            continue;
        cf_runner_unlock(r);
        gone = client_gone(ctx);
        cf_runner_lock(r);
        if (gone)
            cf_runner_client_left(r, p);
    }
    p->direct_waiter = 0;
    if (final) {
        final->text = final->text_max ? cf_prediction_response_text(p, final->text_max, &final->len)
                                      : NULL;
        final->json = final->text ? NULL : cf_prediction_to_json(p);
    }
    cf_runner_unlock(r);
    cf_usage_flush(r); /* p's line before its client has the answer */
    return gone != 0;
}
