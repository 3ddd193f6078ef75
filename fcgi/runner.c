/* runner.c - the queue of predictions, the runner thread and the record table it drives. */
#include "runner_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "files.h"
#include "ipc.h"
#include "log.h"
#include "model_log.h"
#include "metrics.h"
#include "metrics_gpu.h"
#include "state.h"
#include "usage.h"

void cf_runner_lock(cf_runner *r) { pthread_mutex_lock(&r->lock); }
void cf_runner_unlock(cf_runner *r) { pthread_mutex_unlock(&r->lock); }

void cf_runner_wake(cf_runner *r)
{
    char c = 1;
    ssize_t w = write(r->wake[1], &c, 1);
    (void)w; /* a full pipe already wakes the thread */
}

/* ---- webhooks -------------------------------------------------------- */

/* The completed webhook is owed until the receiver took it (or it was
 * given up): the record table keeps that on disk, so a restart sends it
 * again. */
struct webhook_done {
    cf_runner *r;
    cf_prediction *p;
};

static void terminal_webhook_done(void *ctx, int delivered)
{
    struct webhook_done *wd = ctx;
    cf_runner_lock(wd->r);
    cf_records_webhook_delivered(wd->r->records, wd->p);
    cf_runner_unlock(wd->r);
    (void)delivered;
    cf_prediction_decref(wd->p);
    free(wd);
}

/* Sends the webhook for event if the prediction asked for it, applying
 * Cog's throttle to non-terminal events. Called with the lock held. */
void cf_runner_emit(cf_runner *r, cf_prediction *p, unsigned event)
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
    if (terminal) {
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

/* The record table says a persisted record's end is on disk. Lock held. */
static void durable(void *ctx, cf_prediction *p)
{
    cf_runner_emit(ctx, p, CF_EVENT_COMPLETED);
}

/* ---- terminal states -------------------------------------------------- */

/* Moves p to a terminal state (record.h's finish) and sends its completed
 * webhook. Lock held. Does not touch the slot running it. */
void cf_runner_end(cf_runner *r, cf_prediction *p, cf_status status, const char *error)
{
    if (cf_prediction_is_terminal(p))
        return;
    if (cf_records_finish(r->records, p, status, error))
        cf_runner_emit(r, p, CF_EVENT_COMPLETED);
    cf_model_log_end(p->id, "prediction", status == CF_STATUS_FAILED ? p->error : NULL, p->logs);
    cf_metrics_ended(r->metrics, status);
    /* every end is metered, also one that never reached a slot (canceled
     * while queued, a failed download) */
    cf_usage_append(r, p->slot >= 0 && p->slot < r->nslots ? &r->slots[p->slot] : NULL, p);
    pthread_cond_broadcast(&r->drained_cond);
    if (p->park_state == CF_PARK_WAITING)
        cf_carry_push(r, p, 0); /* its request is answered by a connection thread */
    /* A successful sync prediction is in the web server's access log
     * already; the rest is worth an operator's attention. */
    cf_log(p->is_async || status != CF_STATUS_SUCCEEDED ? CF_LOG_INFO : CF_LOG_DEBUG, "CF0301",
           "prediction %s %s", p->id, cf_status_name(status));
}

void cf_runner_client_left(cf_runner *r, cf_prediction *p)
{
    if (cf_prediction_is_terminal(p) || p->cancel_requested)
        return;
    cf_log_info("CF0315", "client of %s went away: canceling it", p->id);
    struct cf_wslot *s = cf_runner_slot_of(r, p);
    if (s) {
        /* a running one is told; one handed to a thread and not sent never starts */
        cf_rw_cancel(r, s, p, NULL);
        cf_runner_wake(r); /* its kill timer joins the poll timeout */
    } else {
        p->cancel_requested = 1; /* queued: it never reaches a worker */
        cf_runner_end(r, p, CF_STATUS_CANCELED, NULL);
    }
}

void cf_runner_add_running(struct cf_wslot *s, cf_prediction *p)
{
    assert(s->nrun < s->capacity);
    s->run[s->nrun++] = p;
}

void cf_runner_end_running(cf_runner *r, struct cf_wslot *s, cf_prediction *p, cf_status status,
                           const char *error)
{
    int k = 0;
    while (k < s->nrun && s->run[k] != p)
        k++;
    if (k == s->nrun)
        return;
    memmove(&s->run[k], &s->run[k + 1], (size_t)(s->nrun - k - 1) * sizeof *s->run);
    s->nrun--;
    if (s->nrun == 0)
        s->idle_since = cf_monotonic();
    cf_runner_end(r, p, status, error);
    if (p->started_at > 0 && p->completed_at >= p->started_at) {
        const char *user = p->context ? json_string_value(json_object_get(p->context,
                                                                          "remote_user"))
                                      : NULL;
        cf_metrics_ran(r->metrics, p->completed_at - p->started_at, user);
    }
    cf_prediction_decref(p);
}

void cf_runner_end_all(cf_runner *r, struct cf_wslot *s, cf_status status, const char *error)
{
    while (s->nrun > 0) {
        cf_prediction *p = s->run[0];
        int canceled = p->cancel_requested && status == CF_STATUS_FAILED;
        cf_runner_end_running(r, s, p, canceled ? CF_STATUS_CANCELED : status,
                              canceled ? NULL : error);
    }
}

struct cf_wslot *cf_runner_slot_of(cf_runner *r, const cf_prediction *p)
{
    for (int i = 0; i < r->nslots; i++)
        for (int k = 0; k < r->slots[i].nrun; k++)
            if (r->slots[i].run[k] == p)
                return &r->slots[i];
    return NULL;
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

/* Where the first queued prediction that may start is: one whose file
 * inputs are local, and while draining only a sync one (its client waits
 * on the connection; async ones stay queued on disk for the next start).
 * Ended ones count too, to be dropped. Its position from the head, or -1. */
static long queue_first(cf_runner *r)
{
    for (size_t i = 0; i < r->qlen; i++) {
        cf_prediction *p = r->queue[(r->qhead + i) % r->qcap];
        int ended = cf_prediction_is_terminal(p);
        if (!ended && !p->prepared)
            continue; /* its files are still on their way: the next one goes first */
        if (!ended && r->draining && p->is_async && r->cfg.state)
            continue;
        return (long)i;
    }
    return -1;
}

/* Removes the prediction at position i from the head and returns it. */
static cf_prediction *queue_remove(cf_runner *r, size_t i)
{
    cf_prediction *p = r->queue[(r->qhead + i) % r->qcap];
    for (size_t j = i; j > 0; j--) /* close the gap towards the head */
        r->queue[(r->qhead + j) % r->qcap] = r->queue[(r->qhead + j - 1) % r->qcap];
    r->qhead = (r->qhead + 1) % r->qcap;
    r->qlen--;
    return p;
}

/* The first queued prediction that may start (queue_first), removed from
 * the queue, or NULL. */
static cf_prediction *queue_take(cf_runner *r)
{
    long i = queue_first(r);
    return i < 0 ? NULL : queue_remove(r, (size_t)i);
}

/* Whether anything the drain waits for is left: the running prediction
 * and queued sync ones. Lock held. */
static int drain_pending(cf_runner *r)
{
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].nrun > 0)
            return 1;
    for (size_t i = 0; i < r->qlen; i++) {
        cf_prediction *p = r->queue[(r->qhead + i) % r->qcap];
        if (!cf_prediction_is_terminal(p) && !(p->is_async && r->cfg.state))
            return 1;
    }
    return 0;
}

/* Whether s may take a prediction now. */
static int slot_free(const struct cf_wslot *s)
{
    return s->state == W_READY && s->nrun < s->capacity && !s->reload_pending;
}

/* Queued predictions that could start now if a slot were free. */
static size_t queue_waiting(cf_runner *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->qlen; i++) {
        cf_prediction *p = r->queue[(r->qhead + i) % r->qcap];
        if (!cf_prediction_is_terminal(p) && p->prepared &&
            !(r->draining && p->is_async && r->cfg.state))
            n++;
    }
    return n;
}

/* Boots offline slots for what waits beyond the slots already booting:
 * scale from zero (or up) on demand, never a refusal. */
static void boot_for_queue(cf_runner *r)
{
    if (r->stopping || r->draining)
        return;
    size_t waiting = queue_waiting(r), booting = 0;
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].state == W_STARTING)
            booting++;
    for (int i = 0; i < r->nslots && booting < waiting; i++) {
        struct cf_wslot *s = &r->slots[i];
        if (s->state != W_OFFLINE)
            continue;
        cf_log_info("CF0324", "slot %d: booting for %zu waiting predictions", s->index,
                    waiting - booting);
        s->state = W_STARTING;
        s->next_start = 0;
        cf_rw_start(r, s);
        booting++;
    }
}

/* Whether p may go to s as a direct run: its request thread waits to
 * talk to the worker itself, and s runs one prediction at a time. */
static int hands_over(const struct cf_wslot *s, const cf_prediction *p)
{
    return p->direct_waiter && s->capacity == 1 && !s->reading && !s->direct;
}

/* Starts p on s: a direct run wakes p's request thread, which sends the
 * frame and reads the answers itself (no hand-off through the runner
 * thread), or gives p's parked request to a carrier (runner_carry.c: this
 * thread when here says it is finishing a direct run); anything else is
 * sent from here. */
static void start_on(cf_runner *r, struct cf_wslot *s, cf_prediction *p, int here)
{
    cf_runner_add_running(s, p);
    if (hands_over(s, p)) {
        s->direct = 1;
        s->direct_epoch++;
        if (p->park_state == CF_PARK_WAITING)
            cf_carry_push(r, p, here);
        else
            pthread_cond_broadcast(&p->done_cond);
    } else {
        cf_rw_send_prediction(r, s, p);
    }
}

static void dispatch(cf_runner *r)
{
    cf_prediction *p;
    for (int i = 0; i < r->nslots && r->qlen > 0 && !r->stopping; i++) {
        struct cf_wslot *s = &r->slots[i];
        while (slot_free(s) && r->qlen > 0 && !r->stopping && (p = queue_take(r)) != NULL) {
            if (cf_prediction_is_terminal(p)) {
                cf_prediction_decref(p);
                continue;
            }
            start_on(r, s, p, 0);
        }
    }
    if (r->qlen > 0)
        boot_for_queue(r);
}

int cf_runner_hand_over(cf_runner *r, struct cf_wslot *s)
{
    long i;
    while (slot_free(s) && !r->stopping && (i = queue_first(r)) >= 0) {
        cf_prediction *p = r->queue[(r->qhead + (size_t)i) % r->qcap];
        if (!cf_prediction_is_terminal(p) && !hands_over(s, p))
            return 0; /* the runner thread sends it */
        queue_remove(r, (size_t)i);
        if (cf_prediction_is_terminal(p)) {
            cf_prediction_decref(p);
            continue;
        }
        start_on(r, s, p, 1);
        return 1;
    }
    return 0;
}

/* ---- file inputs, before the slot ------------------------------------ */

/* Whether p has file inputs to make local (data URIs, URLs). */
static int needs_files(const cf_prediction *p)
{
    const char *name;
    json_t *kind;
    if (p->kinds == NULL || !json_is_object(p->input_worker))
        return 0;
    json_object_foreach(p->kinds, name, kind) {
        const char *k = json_string_value(kind);
        json_t *v = json_object_get(p->input_worker, name);
        if (k && (strcmp(k, "path") == 0 || strcmp(k, "file") == 0) && v && !json_is_null(v))
            return 1;
    }
    return 0;
}

void cf_runner_prepare_files(cf_runner *r, cf_prediction *p)
{
    cf_error err;
    cf_error_clear(&err);
    /* The input moves to a scratch record that only this thread sees (no
     * copy of a large body): nothing reads p's input while it is queued,
     * its accepted state is on disk already, and a p that ends meanwhile
     * does not need it any more. */
    cf_runner_lock(r);
    cf_prediction *scratch = cf_prediction_new(p->id);
    if (scratch) {
        scratch->input_worker = p->input_worker;
        p->input_worker = NULL;
        scratch->kinds = p->kinds ? json_incref(p->kinds) : NULL;
    }
    cf_runner_unlock(r);
    int rc = scratch && scratch->input_worker
                 ? cf_files_prepare(scratch, &err)
                 : cf_error_set(&err, CF_ENOMEM, "out of memory preparing file inputs");
    cf_runner_lock(r);
    if (!cf_prediction_is_terminal(p)) {
        if (rc != CF_OK) {
            cf_runner_end(r, p, CF_STATUS_FAILED, err.msg);
        } else {
            cf_records_prepared(r->records, p, scratch->input_worker, scratch->tempdir);
            scratch->input_worker = NULL;
            scratch->tempdir = NULL;
        }
    }
    p->prepared = 1;
    cf_runner_wake(r);
    cf_runner_unlock(r);
    cf_files_cleanup(scratch); /* what a failed or canceled one downloaded */
    cf_prediction_decref(scratch);
}

struct prepare_job {
    cf_runner *r;
    cf_prediction *p;
};

static void *prepare_main(void *arg)
{
    struct prepare_job *job = arg;
    cf_runner_prepare_files(job->r, job->p);
    cf_runner_lock(job->r);
    job->r->preparing--;
    pthread_cond_broadcast(&job->r->drained_cond);
    cf_runner_unlock(job->r);
    cf_prediction_decref(job->p);
    free(job);
    return NULL;
}

/* Whether p may start as it is; if not, an async p gets a thread that
 * makes its files local (a sync one's request thread does it, in
 * cf_runner_run_direct). Lock held. */
static void plan_files(cf_runner *r, cf_prediction *p)
{
    p->prepared = !needs_files(p);
    if (p->prepared || !p->is_async)
        return;
    struct prepare_job *job = malloc(sizeof *job);
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (job) {
        *job = (struct prepare_job){r, p};
        cf_prediction_incref(p);
        r->preparing++;
        if (pthread_create(&t, &attr, prepare_main, job) != 0) {
            r->preparing--;
            cf_prediction_decref(p);
            free(job);
            job = NULL;
        }
    }
    pthread_attr_destroy(&attr);
    if (job == NULL) {
        p->prepared = 1;
        cf_runner_end(r, p, CF_STATUS_FAILED, "cannot start a thread to fetch the file inputs");
    }
}

/* ---- the runner thread ------------------------------------------------- */

/* Where each slot's descriptors are in the poll set, and what was polled. */
struct polled {
    pid_t pid;
    unsigned epoch;
    int ipc_i, log_i;
};

/* Reads one frame of s's worker without the lock and handles it. */
static void read_frame(cf_runner *r, struct cf_wslot *s)
{
    cf_error err;
    cf_error_clear(&err);
    /* one prediction at a time: the decision is made before reading;
     * several: the frame's id says whose it is */
    int fd = s->proc.ipc_fd, encode = s->capacity == 1 ? cf_rw_wants_encoding(s, NULL) : -1;
    s->reading = 1;
    cf_runner_unlock(r);
    json_t *msg = cf_ipc_recv(fd, &err);
    if (encode == 1)
        cf_rw_encode_frame(encode, msg);
    cf_runner_lock(r);
    if (encode == -1 && msg && cf_rw_wants_encoding(s, msg)) {
        cf_runner_unlock(r);
        cf_rw_encode_frame(1, msg);
        cf_runner_lock(r);
    }
    s->reading = 0;
    if (msg == NULL) {
        if (strcmp(err.msg, "eof") != 0)
            cf_log_error("CF0311", "worker protocol error: %s", err.msg);
        cf_rw_died(r, s);
    } else {
        cf_rw_frame(r, s, msg);
        json_decref(msg);
    }
}

/* What the runner thread waits for on s's frames. An idle worker sends
 * nothing unasked, so only its end (POLLHUP) is watched: a request
 * thread that then runs a prediction on it directly gets the answer
 * without waking this thread, whose poll set it cannot change. */
static short ipc_events(const struct cf_wslot *s)
{
    int expecting = s->state != W_READY || s->nrun > 0 || s->hc_sent > 0;
    return expecting ? POLLIN : 0;
}

static void *runner_main(void *arg)
{
    pthread_setname_np(pthread_self(), "cf-runner"); /* top -H, ps -L */
    cf_runner *r = arg;
    struct pollfd fds[CF_MAX_WORKERS * 2 + 3];
    struct polled pl[CF_MAX_WORKERS];
    cf_runner_lock(r);
    while (!r->stopping) {
        int timeout = 1000;
        int nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = r->wake[0], .events = POLLIN};
        for (int i = 0; i < r->nslots; i++) {
            struct cf_wslot *s = &r->slots[i];
            int may_start = s->proc.pid == 0 && s->state != W_SETUP_FAILED &&
                            s->state != W_OFFLINE;
            if (may_start && cf_monotonic() >= s->next_start)
                cf_rw_start(r, s);
            else if (may_start) {
                double wait = s->next_start - cf_monotonic();
                int ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
                if (ms < timeout)
                    timeout = ms;
            }
            pl[i] = (struct polled){.pid = s->proc.pid, .epoch = s->direct_epoch,
                                    .ipc_i = -1, .log_i = -1};
            if (s->proc.pid > 0) {
                if (!s->direct) {
                    pl[i].ipc_i = nfds;
                    fds[nfds++] = (struct pollfd){.fd = s->proc.ipc_fd, .events = ipc_events(s)};
                }
                if (s->proc.log_fd >= 0) {
                    pl[i].log_i = nfds;
                    fds[nfds++] = (struct pollfd){.fd = s->proc.log_fd, .events = POLLIN};
                }
            }
        }
        double timer = cf_rw_timers(r);
        if (timer >= 0 && (int)(timer * 1000) + 1 < timeout)
            timeout = (int)(timer * 1000) + 1;
        double spare = cf_rw_spare_tick(r);
        if (spare >= 0 && (int)(spare * 1000) + 1 < timeout)
            timeout = (int)(spare * 1000) + 1;
        double parked = cf_carry_check_parked(r);
        if (parked >= 0 && (int)(parked * 1000) + 1 < timeout)
            timeout = (int)(parked * 1000) + 1;
        int spare_ipc = -1, spare_log = -1;
        pid_t spare_pid = r->spare.pid;
        if (spare_pid > 0) {
            spare_ipc = nfds;
            fds[nfds++] = (struct pollfd){.fd = r->spare.ipc_fd, .events = POLLIN};
            spare_log = nfds;
            fds[nfds++] = (struct pollfd){.fd = r->spare.log_fd, .events = POLLIN};
        }
        cf_runner_unlock(r);
        cf_usage_flush(r);
        int n = poll(fds, (nfds_t)nfds, timeout);
        cf_runner_lock(r);
        if (n > 0 && fds[0].revents) {
            char buf[256];
            while (read(r->wake[0], buf, sizeof buf) > 0) {
            }
        }
        for (int i = 0; n > 0 && i < r->nslots && !r->stopping; i++) {
            struct cf_wslot *s = &r->slots[i];
            if (s->proc.pid != pl[i].pid || pl[i].pid == 0)
                continue; /* the worker changed while we polled (a direct runner saw it die) */
            if (pl[i].log_i >= 0 && fds[pl[i].log_i].revents)
                cf_rw_drain_logs(r, s);
            if (pl[i].ipc_i >= 0 && fds[pl[i].ipc_i].revents && !s->direct &&
                pl[i].epoch == s->direct_epoch)
                read_frame(r, s);
        }
        if (n > 0 && spare_pid > 0 && r->spare.pid == spare_pid) {
            if (fds[spare_log].revents & POLLIN) {
                char buf[4096];
                ssize_t got = read(r->spare.log_fd, buf, sizeof buf);
                if (got > 0)
                    cf_log_info("CF0327", "spare worker output: %.*s", (int)got, buf);
            }
            if (fds[spare_ipc].revents)
                cf_rw_spare_frame(r);
        }
        dispatch(r);
    }
    cf_runner_unlock(r);
    return NULL;
}

/* Loads what the state directory holds (record.h finishes what was
 * running): owed completed webhooks go out, queued ones run again in
 * arrival order. Before the thread starts. */
static int recover(cf_runner *r, cf_error *err)
{
    cf_prediction **queued = NULL, **owed = NULL;
    size_t nq = 0, no = 0;
    int rc = cf_records_recover(r->records, &queued, &nq, &owed, &no, err);
    cf_runner_lock(r);
    for (size_t i = 0; i < no; i++) {
        cf_runner_emit(r, owed[i], CF_EVENT_COMPLETED);
        cf_prediction_decref(owed[i]);
    }
    for (size_t i = 0; i < nq; i++) {
        cf_prediction *p = queued[i];
        if (queue_push(r, p) != CF_OK) {
            cf_prediction_decref(p);
            rc = cf_error_set(err, CF_ENOMEM, "out of memory recovering predictions");
            continue;
        }
        plan_files(r, p);
    }
    size_t total = cf_records_count(r->records);
    cf_runner_unlock(r);
    free(queued);
    free(owed);
    if (total > 0)
        cf_log_info("CF0317", "recovered %zu predictions from %s: %zu to run", total,
                    cf_state_dir(r->cfg.state), nq);
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
    r->wake[0] = r->wake[1] = -1;
    r->carry_fd = -1;
    r->usage_fd = -1;
    pthread_mutex_init(&r->usage_lock, NULL);
    pthread_mutex_init(&r->usage_buf_lock, NULL);
    r->spare.ipc_fd = r->spare.log_fd = -1;
    r->nslots = cfg->workers > 0 ? cfg->workers : 1;
    if (r->nslots > CF_MAX_WORKERS)
        r->nslots = CF_MAX_WORKERS;
    r->slots = calloc((size_t)r->nslots, sizeof *r->slots);
    size_t ndev = 0;
    while (cfg->devices && cfg->devices[ndev])
        ndev++;
    /* With an idle timeout the pool starts with --min-workers up, and at
     * least one: its ready frame is the schema every request is checked
     * against. The others boot when predictions wait. */
    int warm = r->nslots;
    if (cfg->idle_timeout > 0)
        warm = cfg->min_workers > 1 ? cfg->min_workers : 1;
    for (int i = 0; r->slots && i < r->nslots; i++) {
        struct cf_wslot *s = &r->slots[i];
        s->index = i;
        s->capacity = 1;
        pthread_mutex_init(&s->wlock, NULL);
        s->run = calloc(1, sizeof *s->run);
        if (s->run == NULL) {
            cf_error_set(err, CF_ENOMEM, "out of memory");
            goto fail;
        }
        s->proc.ipc_fd = s->proc.log_fd = -1;
        s->state = i < warm ? W_STARTING : W_OFFLINE;
        if (ndev > 0)
            snprintf(s->device, sizeof s->device, "%s", cfg->devices[(size_t)i % ndev]);
    }
    /* Every request thread takes this lock a few times per prediction, for
     * short stretches: spinning a little before sleeping (glibc's adaptive
     * mutex) saves a sleep and a wake-up each time it is contended. */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&r->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_cond_init(&r->ready_cond, NULL);
    pthread_cond_init(&r->drained_cond, NULL);
    r->qcap = cfg->queue_max + 1;
    r->queue = calloc(r->qcap, sizeof *r->queue);
    cf_records_config rc = {.lock = &r->lock, .state = cfg->state,
                            .spill_dir = cfg->spill_dir, .keep_bytes = cfg->keep_bytes,
                            .keep_seconds = cfg->keep_finished_s};
    if (r->queue == NULL || r->slots == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        goto fail;
    }
    if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        cf_error_set(err, CF_EIO, "cannot create a pipe: %s", strerror(errno));
        goto fail;
    }
    if (cf_carry_init(r, err) != CF_OK)
        goto fail;
    r->records = cf_records_new(&rc, err);
    if (r->records == NULL)
        goto fail;
    cf_records_on_durable(r->records, durable, r);
    r->webhooks = cf_webhooks_new(err);
    if (r->webhooks == NULL)
        goto fail;
    if (cfg->metrics) {
        const char *slash = cfg->spec.project ? strrchr(cfg->spec.project, '/') : NULL;
        r->metrics = cf_metrics_new(slash && slash[1] ? slash + 1 : cfg->spec.project);
        if (r->metrics == NULL) {
            cf_error_set(err, CF_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (cfg->state && recover(r, err) != CF_OK)
        goto fail;
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        cf_error_set(err, CF_EIO, "cannot start the runner thread");
        goto fail;
    }
    return r;
fail:
    cf_metrics_free(r->metrics);
    cf_webhooks_free(r->webhooks, 0);
    cf_records_free(r->records);
    if (r->wake[0] >= 0) {
        close(r->wake[0]);
        close(r->wake[1]);
    }
    if (r->carry_fd >= 0)
        close(r->carry_fd);
    free(r->queue);
    for (int i = 0; r->slots && i < r->nslots; i++)
        free(r->slots[i].run);
    free(r->slots);
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
    cf_runner_wake(r);
    /* the workers go first: a thread blocked reading their frames then sees
     * EOF, so the join below cannot hang on a stuck model */
    for (int i = 0; i < r->nslots; i++)
        if (r->slots[i].proc.pid > 0)
            kill(r->slots[i].proc.pid, SIGKILL);
    cf_runner_unlock(r);
    pthread_join(r->thread, NULL);
    cf_runner_lock(r);
    if (r->spare.pid > 0)
        cf_slot_stop(&r->spare, 1);
    for (int i = 0; i < r->nslots; i++) {
        struct cf_wslot *s = &r->slots[i];
        if (s->proc.pid > 0)
            cf_slot_stop(&s->proc, 1);
        cf_runner_end_all(r, s, CF_STATUS_FAILED,
                          "the prediction was interrupted: cog-fcgi stopped while it ran");
    }
    cf_prediction *p;
    while ((p = queue_pop(r)) != NULL) {
        if (p->is_async && r->cfg.state && !cf_prediction_is_terminal(p)) {
            /* stays queued on disk: it runs when the server is back */
            cf_log_info("CF0319", "prediction %s stays queued for the next start", p->id);
        } else {
            cf_runner_end(r, p, CF_STATUS_FAILED, "the server stopped before the prediction ran");
        }
        cf_prediction_decref(p);
    }
    cf_runner_unlock(r);
    cf_usage_flush(r);
    cf_records_flush(r->records); /* what ended just now reaches the disk */
}

void cf_runner_free(cf_runner *r)
{
    if (r == NULL)
        return;
    cf_runner_stop(r);
    /* fetch threads hold r: they end within --fetch-timeout */
    cf_runner_lock(r);
    while (r->preparing > 0)
        pthread_cond_wait(&r->drained_cond, &r->lock);
    cf_runner_unlock(r);
    cf_webhooks_free(r->webhooks, 5.0);
    cf_records_free(r->records);
    cf_metrics_free(r->metrics);
    json_decref(r->ready_msg);
    json_decref(r->openapi);
    for (int i = 0; i < r->nslots; i++) {
        free(r->slots[i].setup_logs);
        free(r->slots[i].setup_error);
        free(r->slots[i].run);
        pthread_mutex_destroy(&r->slots[i].wlock);
    }
    free(r->slots);
    free(r->queue);
    close(r->wake[0]);
    close(r->wake[1]);
    /* parked requests nobody carried: their threads are gone with the server */
    for (cf_prediction *p = r->carry_head, *next; p; p = next) {
        next = p->carry_next;
        cf_prediction_decref(p);
    }
    close(r->carry_fd);
    cf_usage_flush(r);
    if (r->usage_fd >= 0)
        close(r->usage_fd);
    free(r->usage_buf);
    pthread_mutex_destroy(&r->usage_lock);
    pthread_mutex_destroy(&r->usage_buf_lock);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->ready_cond);
    pthread_cond_destroy(&r->drained_cond);
    free(r);
}

/* The slot whose setup failed when no slot is ready (the predictor
 * cannot run: 503), or NULL. */
const struct cf_wslot *cf_runner_failed_slot(const cf_runner *r)
{
    const struct cf_wslot *failed = NULL;
    for (int i = 0; i < r->nslots; i++) {
        if (r->slots[i].state == W_READY)
            return NULL;
        if (failed == NULL && r->slots[i].state == W_SETUP_FAILED)
            failed = &r->slots[i];
    }
    return failed;
}

/* Slots that could take a prediction without waiting for another to
 * finish: idle ones, and offline ones (they boot for it). */
static size_t free_slots(const cf_runner *r)
{
    size_t n = 0;
    for (int i = 0; i < r->nslots; i++) {
        const struct cf_wslot *s = &r->slots[i];
        if (slot_free(s))
            n += (size_t)(s->capacity - s->nrun);
        else if (s->state == W_OFFLINE)
            n += (size_t)s->capacity;
    }
    return n;
}

static int admit(cf_runner *r, const cf_prediction *p, cf_error *err)
{
    const struct cf_wslot *failed = cf_runner_failed_slot(r);
    if (failed)
        return cf_error_set(err, CF_EUNAVAIL, "setup failed: %s",
                            failed->setup_error ? failed->setup_error : "unknown error");
    if (r->stopping || r->draining)
        return cf_error_set(err, CF_EUNAVAIL, "the server is shutting down");
    int idle = r->qlen + r->reserved < free_slots(r);
    if (!idle && r->qlen + r->reserved >= r->cfg.queue_max)
        return cf_error_set(err, CF_EBUSY, "Already running a prediction");
    if (p->is_async && r->cfg.state == NULL && r->cfg.state_error)
        return cf_error_set(err, CF_EUNAVAIL, "cannot accept async predictions: state "
                            "directory unavailable");
    return CF_OK;
}

int cf_runner_submit(cf_runner *r, cf_prediction *p, json_t **accepted, cf_error *err)
{
    cf_runner_lock(r);
    int rc = admit(r, p, err);
    if (rc != CF_OK)
        goto out;
    p->accepted_mono = cf_monotonic();
    if (p->deadline <= 0 && r->cfg.predict_timeout > 0)
        p->deadline = p->accepted_mono + r->cfg.predict_timeout;
    if (p->is_async && r->cfg.upload_url && p->upload_prefix == NULL)
        p->upload_prefix = strdup(r->cfg.upload_url);
    if (p->is_async && r->cfg.state) {
        /* on disk before anyone is told it was accepted, without the lock */
        r->reserved++;
        cf_runner_unlock(r);
        rc = cf_records_persist_new(r->records, p, err);
        cf_runner_lock(r);
        r->reserved--;
    }
    if (rc == CF_OK && cf_records_accept(r->records, p) != CF_OK)
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    if (rc != CF_OK) {
        cf_runner_unlock(r);
        cf_records_unpersist(r->records, p);
        return rc;
    }
    cf_prediction_incref(p);
    if (accepted)
        *accepted = cf_prediction_to_json(p);
    plan_files(r, p);
    struct cf_wslot *idle = NULL;
    for (int i = 0; i < r->nslots && idle == NULL && r->qlen == 0; i++)
        if (slot_free(&r->slots[i]) && !r->slots[i].reading && r->slots[i].capacity == 1)
            idle = &r->slots[i];
    if (!p->is_async && idle && p->prepared && !r->draining && !r->stopping) {
        /* Fast path: the request thread runs it (cf_runner_run_direct),
         * saving two thread hand-offs per prediction. */
        cf_runner_add_running(idle, p);
        idle->direct = 1;
        idle->direct_epoch++;
    } else {
        queue_push(r, p); /* fails only out of memory: recovered ones may exceed --queue */
        /* With every slot busy a sync p is handed over when one frees up
         * (cf_runner_hand_over, or the runner's dispatch after a frame):
         * the runner thread has nothing to do now. */
        if (p->is_async || !p->prepared || free_slots(r) > 0)
            cf_runner_wake(r);
    }
out:
    cf_runner_unlock(r);
    return rc;
}

cf_prediction *cf_runner_find(cf_runner *r, const char *id)
{
    return cf_records_find(r->records, id);
}

void cf_runner_wait(cf_runner *r, cf_prediction *p)
{
    cf_runner_lock(r);
    while (!cf_prediction_is_terminal(p))
        pthread_cond_wait(&p->done_cond, &r->lock);
    cf_runner_unlock(r);
}

int cf_runner_drain(cf_runner *r, double grace)
{
    double until = cf_monotonic() + grace;
    cf_runner_lock(r);
    r->draining = 1;
    cf_runner_wake(r);
    while (drain_pending(r) && cf_monotonic() < until) {
        struct timespec ts = cf_realtime_after(0.050);
        pthread_cond_timedwait(&r->drained_cond, &r->lock, &ts);
    }
    int finished = !drain_pending(r);
    cf_runner_unlock(r);
    return finished;
}

void cf_runner_reload(cf_runner *r, const cf_worker_spec *spec)
{
    cf_runner_lock(r);
    r->cfg.spec = *spec;
    if (r->spare.pid > 0) /* it has the old spec: the next one gets the new */
        cf_slot_stop(&r->spare, 1);
    r->spare_ready = 0;
    for (int i = 0; i < r->nslots; i++) {
        struct cf_wslot *s = &r->slots[i];
        if (s->state == W_SETUP_FAILED || s->state == W_DEFUNCT) {
            /* nothing to wait for: start again now */
            if (s->proc.pid > 0)
                cf_slot_stop(&s->proc, 1);
            s->state = W_STARTING;
            s->crashes = 0;
            s->next_start = 0;
            s->ever_ready = 0;
        } else if (s->state != W_OFFLINE) {
            s->reload_pending = 1; /* an offline one boots with the new spec anyway */
        }
    }
    cf_runner_wake(r);
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
    cf_prediction *p = cf_records_get(r->records, id);
    struct cf_wslot *s = p ? cf_runner_slot_of(r, p) : NULL;
    if (p == NULL || cf_prediction_is_terminal(p) || p->cancel_requested) {
        rc = CF_ENOTFOUND;
    } else if (s) {
        cf_rw_cancel(r, s, p, NULL);
        cf_runner_wake(r); /* so the kill timer is armed in the poll timeout */
    } else {
        /* still queued: it never reaches the worker (dispatch skips it) */
        p->cancel_requested = 1;
        cf_runner_end(r, p, CF_STATUS_CANCELED, NULL);
    }
    cf_runner_unlock(r);
    cf_usage_flush(r);
    return rc;
}

void cf_runner_wait_change(cf_runner *r, cf_prediction *p, double seconds)
{
    struct timespec ts = cf_realtime_after(seconds);
    pthread_cond_timedwait(&p->done_cond, &r->lock, &ts);
}

char *cf_runner_metrics_text(cf_runner *r, size_t *len)
{
    char *buf = NULL;
    cf_gpu_proc procs[CF_MAX_WORKERS];
    size_t nprocs = 0;
    static const enum worker_state order[] = {W_OFFLINE, W_STARTING, W_READY, W_READY,
                                              W_SETUP_FAILED, W_DEFUNCT};
    *len = 0;
    cf_runner_lock(r);
    if (r->metrics == NULL) {
        cf_runner_unlock(r);
        return NULL;
    }
    cf_metrics_pool pool = {.queue_depth = r->qlen};
    for (int i = 0; i < r->nslots; i++) {
        const struct cf_wslot *s = &r->slots[i];
        for (int k = 0; k < 6; k++)
            if (order[k] == s->state && (s->state != W_READY || (k == 3) == (s->nrun > 0)))
                pool.slots_by_state[k]++;
        pool.boots += s->boots;
        pool.capacity += s->capacity;
        if (s->proc.pid > 0)
            procs[nprocs++] = (cf_gpu_proc){s->proc.pid, s->index, s->device};
    }
    int rc = cf_metrics_render(r->metrics, &pool, &buf, len);
    /* the labels outlive the lock: the model name and devices never change */
    const char *model = cf_metrics_model(r->metrics);
    cf_runner_unlock(r);
    if (rc == CF_OK)
        rc = cf_gpu_render(model, procs, nprocs, &buf, len);
    if (rc != CF_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}
