/* webhook.c - per-receiver webhook queues and the pool of threads that sends them. */
#include "webhook.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "http_client.h"
#include "json_out.h"
#include "log.h"
#include "webhook_sign.h"

/* Cog's 12 quick retries (0.1 s, 0.2 s, ... 51.2 s), then, so that a
 * receiver that is down for a while still gets its terminal webhook, one
 * try a minute for an hour more. */
#define MAX_RETRIES 12
#define SLOW_RETRIES 60
#define MAX_WORKERS 64
/* Results of deliveries whose record could not even be allocated. */
#define OOM_SLOTS 64

typedef struct delivery {
    struct delivery *next;
    char *url;
    char *body;
    char *traceparent;
    char *tracestate;
    char *prediction;  /* the body's "id", or NULL */
    char msg_id[40];   /* webhook-id: the same on every attempt */
    int terminal;
    int is_start;      /* non-terminal without output or logs: never replaced */
    int attempts;
    int delivered;     /* the receiver answered (any status but a retryable one) */
    void (*done)(void *ctx, int delivered); /* called once, without our lock */
    void *done_ctx;
    double not_before; /* monotonic; for retries */
} delivery;

/* One host:port. Its queue is sent in order; several deliveries may be in
 * flight at once, never two of the same prediction. */
typedef struct receiver {
    struct receiver *next;
    char *key;
    delivery *head, *tail; /* not sent yet, in arrival order */
    delivery *retry;       /* terminal deliveries waiting for their backoff */
    delivery *inflight;    /* being posted by a sender */
    int busy;              /* how many: at most per_receiver */
} receiver;

typedef struct oom_notice {
    void (*done)(void *ctx, int delivered);
    void *ctx;
} oom_notice;

struct cf_webhooks {
    double timeout_s;
    int per_receiver;   /* senders one receiver may hold at once */
    cf_webhook_key key; /* key.len == 0: unsigned */
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;   /* on CLOCK_MONOTONIC */
    receiver *receivers;   /* least recently served first */
    delivery *failed;      /* out of memory before queueing: done(ctx, 0) */
    oom_notice oom[OOM_SLOTS];
    int oom_n;
    size_t queued;         /* in queues and retry lists, not in flight */
    int stopping;
    double stop_deadline;
};

/* ---- settings ---------------------------------------------------------- */

static cf_webhook_config configured = {CF_WEBHOOK_TIMEOUT_DEFAULT, CF_WEBHOOK_WORKERS_DEFAULT, NULL};
static char configured_secret[512];

void cf_webhook_config_init(cf_webhook_config *cfg)
{
    cfg->timeout_s = CF_WEBHOOK_TIMEOUT_DEFAULT;
    cfg->workers = CF_WEBHOOK_WORKERS_DEFAULT;
    cfg->secret = NULL;
}

static int check_config(const cf_webhook_config *cfg, cf_webhook_key *key, cf_error *err)
{
    if (!(cfg->timeout_s > 0) || !isfinite(cfg->timeout_s))
        return cf_error_set(err, CF_EINVAL, "the webhook timeout must be more than 0 seconds");
    if (cfg->workers < 1 || cfg->workers > MAX_WORKERS)
        return cf_error_set(err, CF_EINVAL, "webhook workers must be 1 to %d", MAX_WORKERS);
    key->len = 0;
    if (cfg->secret != NULL)
        return cf_webhook_key_parse(cfg->secret, key, err);
    return CF_OK;
}

int cf_webhooks_configure(const cf_webhook_config *cfg, cf_error *err)
{
    cf_webhook_key key;
    int rc = check_config(cfg, &key, err);
    if (rc != CF_OK)
        return rc;
    configured = *cfg;
    if (cfg->secret) {
        /* key_parse bounds the secret to well under this buffer */
        snprintf(configured_secret, sizeof configured_secret, "%s", cfg->secret);
        configured.secret = configured_secret;
    }
    return CF_OK;
}

/* ---- receivers --------------------------------------------------------- */

void cf_webhook_receiver_key(const char *url, char *out, size_t len)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL || len == 0) {
        if (len)
            snprintf(out, len, "%s", url);
        return;
    }
    const char *port = strncasecmp(url, "https", (size_t)(sep - url)) == 0 && sep - url == 5
                           ? "443" : "80";
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            host = auth + i + 1;
    const char *end = auth + alen;
    const char *host_end = host;
    if (*host == '[') {
        while (host_end < end && *host_end != ']')
            host_end++;
        if (host_end < end)
            host_end++;
    } else {
        while (host_end < end && *host_end != ':')
            host_end++;
    }
    if (host_end < end && *host_end == ':' && host_end + 1 < end)
        port = host_end + 1;
    int plen = port == host_end + 1 ? (int)(end - port) : (int)strlen(port);
    snprintf(out, len, "%.*s:%.*s", (int)(host_end - host), host, plen, port);
    for (char *p = out; *p && *p != ':'; p++)
        *p = (char)tolower((unsigned char)*p);
    if (*out == '[') /* an IPv6 host has colons of its own */
        for (char *p = out; *p && *p != ']'; p++)
            *p = (char)tolower((unsigned char)*p);
}

/* The receiver for key, created if needed, or NULL when out of memory. Lock held. */
static receiver *receiver_get(cf_webhooks *w, const char *key)
{
    receiver **pp = &w->receivers;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0)
            return *pp;
    receiver *r = calloc(1, sizeof *r);
    if (r == NULL || (r->key = strdup(key)) == NULL) {
        free(r);
        return NULL;
    }
    *pp = r;
    return r;
}

/* Unlinks and frees r when it has nothing left to do. Lock held. */
static void receiver_release(cf_webhooks *w, receiver *r)
{
    if (r->busy || r->head || r->retry || r->inflight)
        return;
    for (receiver **pp = &w->receivers; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    free(r->key);
    free(r);
}

/* Moves r to the end of the list: receivers take turns. Lock held. */
static void receiver_to_back(cf_webhooks *w, receiver *r)
{
    receiver **pp = &w->receivers;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp == NULL)
        return;
    *pp = r->next;
    r->next = NULL;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
}

/* ---- deliveries ------------------------------------------------------- */

static void delivery_free(delivery *d)
{
    if (d == NULL)
        return;
    free(d->url);
    free(d->body);
    free(d->traceparent);
    free(d->tracestate);
    free(d->prediction);
    free(d);
}

/* POSTs one delivery, waiting at most timeout_s. Returns 1 when done (sent,
 * or failed for good), 0 when it should be retried. */
static int post_once(cf_webhooks *w, delivery *d, double timeout_s)
{
    char agent[128], auth[1024], parent[1024], state[1024];
    char hid[64], hts[64], hsig[32 + CF_WEBHOOK_SIGNATURE_MAX];
    const char *headers[10];
    int n = 0;
    headers[n++] = "Content-Type: application/json";
    snprintf(agent, sizeof agent, "User-Agent: cog-worker/0.15.5 cog-fcgi/%s", CF_VERSION);
    headers[n++] = agent;
    const char *token = getenv("WEBHOOK_AUTH_TOKEN");
    if (token && *token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (d->traceparent) {
        snprintf(parent, sizeof parent, "traceparent: %s", d->traceparent);
        headers[n++] = parent;
    }
    if (d->tracestate) {
        snprintf(state, sizeof state, "tracestate: %s", d->tracestate);
        headers[n++] = state;
    }
    cf_error err;
    cf_error_clear(&err);
    size_t body_len = strlen(d->body);
    if (w->key.len > 0) {
        /* signed per attempt: a receiver checks that the timestamp is recent */
        long long ts = (long long)time(NULL);
        char sig[CF_WEBHOOK_SIGNATURE_MAX];
        if (cf_webhook_sign(&w->key, d->msg_id, ts, d->body, body_len, sig, &err) != CF_OK) {
            d->attempts++;
            cf_log_warn("CF0807", "webhook to %s not sent: cannot sign it: %s", d->url, err.msg);
            return !d->terminal || d->attempts > MAX_RETRIES + SLOW_RETRIES;
        }
        snprintf(hid, sizeof hid, "webhook-id: %s", d->msg_id);
        snprintf(hts, sizeof hts, "webhook-timestamp: %lld", ts);
        snprintf(hsig, sizeof hsig, "webhook-signature: %s", sig);
        headers[n++] = hid;
        headers[n++] = hts;
        headers[n++] = hsig;
    }
    headers[n] = NULL;
    cf_http_response resp;
    int rc = cf_http_request("POST", d->url, headers, d->body, body_len, timeout_s, CF_HTTP_POLICY,
                             &resp, &err);
    long status = resp.status;
    cf_http_response_cleanup(&resp);
    d->attempts++;
    if (rc != CF_OK && strstr(err.msg, "fetch policy") != NULL) {
        /* a webhook URL the policy refuses (cloud metadata, --fetch-deny)
         * stays refused: no retry */
        cf_log_warn("CF0806", "webhook not sent: %s", err.msg);
        return 1;
    }
    int retryable = rc != CF_OK || status == 429 || status == 500 || status == 502 ||
                    status == 503 || status == 504;
    if (!retryable) {
        d->delivered = 1;
        return 1;
    }
    if (rc != CF_OK && strstr(err.msg, "time limit") != NULL)
        /* http_client words a timeout after the fetch policy's limit, not ours */
        cf_log_warn("CF0801", "webhook to %s failed (try %d): no answer within %g s", d->url,
                    d->attempts, timeout_s);
    else if (rc != CF_OK)
        cf_log_warn("CF0801", "webhook to %s failed (try %d): %s", d->url, d->attempts, err.msg);
    else
        cf_log_warn("CF0802", "webhook to %s answered %ld (try %d)", d->url, status, d->attempts);
    /* without libcurl no retry can succeed */
    if (rc != CF_OK && cf_http_available(NULL) != CF_OK)
        return 1;
    if (!d->terminal || d->attempts > MAX_RETRIES + SLOW_RETRIES) {
        if (d->terminal)
            cf_log_error("CF0805", "giving up the terminal webhook to %s after %d tries",
                         d->url, d->attempts);
        return 1;
    }
    return 0;
}

/* Whether a and b are webhooks of the same prediction (same URL and id;
 * without an id, the same URL), which must go out one after the other. */
static int same_stream(const delivery *a, const delivery *b)
{
    if (strcmp(a->url, b->url) != 0)
        return 0;
    if (a->prediction == NULL || b->prediction == NULL)
        return 1;
    return strcmp(a->prediction, b->prediction) == 0;
}

static int stream_in_flight(const receiver *r, const delivery *d)
{
    for (const delivery *f = r->inflight; f; f = f->next)
        if (same_stream(f, d))
            return 1;
    return 0;
}

/* The next delivery to send, from the receiver that waited longest and has
 * a sender to spare: a due retry first, else the first queued delivery
 * whose prediction has nothing in flight (an earlier one of the same
 * prediction is blocked the same way, so a prediction's order holds). Sets
 * *next_due to the earliest retry not due yet (0: none). Lock held. */
static delivery *pick(cf_webhooks *w, double now, receiver **from, double *next_due)
{
    *next_due = 0;
    for (receiver *r = w->receivers; r; r = r->next) {
        if (r->busy >= w->per_receiver)
            continue;
        for (delivery **pp = &r->retry; *pp; pp = &(*pp)->next) {
            delivery *d = *pp;
            if (d->not_before <= now && !stream_in_flight(r, d)) {
                *pp = d->next;
                *from = r;
                return d;
            }
            if (d->not_before > now && (*next_due == 0 || d->not_before < *next_due))
                *next_due = d->not_before;
        }
        delivery *prev = NULL;
        for (delivery *d = r->head; d; prev = d, d = d->next) {
            if (stream_in_flight(r, d))
                continue;
            if (prev)
                prev->next = d->next;
            else
                r->head = d->next;
            if (r->tail == d)
                r->tail = prev;
            *from = r;
            return d;
        }
    }
    return NULL;
}

static void wait_until(cf_webhooks *w, double when)
{
    double now = cf_monotonic();
    double wait = when - now;
    if (wait < 0.001)
        wait = 0.001;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)wait;
    ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
}

static void *sender_main(void *arg)
{
    pthread_setname_np(pthread_self(), "cf-webhook"); /* top -H, ps -L */
    cf_webhooks *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        /* results of deliveries that ran out of memory in cf_webhooks_send */
        if (w->failed || w->oom_n > 0) {
            oom_notice note;
            delivery *d = w->failed;
            if (d) {
                w->failed = d->next;
                note.done = d->done;
                note.ctx = d->done_ctx;
            } else {
                note = w->oom[--w->oom_n];
            }
            pthread_mutex_unlock(&w->lock);
            delivery_free(d);
            note.done(note.ctx, 0);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        double now = cf_monotonic();
        if (w->stopping && (w->queued == 0 || now >= w->stop_deadline))
            break;
        receiver *r = NULL;
        double next_due;
        delivery *d = pick(w, now, &r, &next_due);
        if (d == NULL) {
            double until = next_due > 0 ? next_due : now + 1.0;
            if (w->stopping && w->stop_deadline < until)
                until = w->stop_deadline;
            wait_until(w, until);
            continue;
        }
        w->queued--;
        r->busy++;
        d->next = r->inflight;
        r->inflight = d;
        receiver_to_back(w, r);
        double timeout = w->timeout_s;
        if (w->stopping && w->stop_deadline - now < timeout)
            timeout = w->stop_deadline - now > 0.1 ? w->stop_deadline - now : 0.1;
        pthread_mutex_unlock(&w->lock);
        int finished = post_once(w, d, timeout);
        if (finished && d->done) {
            d->done(d->done_ctx, d->delivered);
            d->done = NULL;
        }
        pthread_mutex_lock(&w->lock);
        r->busy--;
        for (delivery **pp = &r->inflight; *pp; pp = &(*pp)->next) {
            if (*pp == d) {
                *pp = d->next;
                break;
            }
        }
        d->next = NULL;
        if (finished) {
            delivery_free(d);
        } else {
            /* back off 0.1 s, 0.2 s, 0.4 s, ... beside the queue, which goes on */
            double delay = 0.1;
            for (int i = 1; i < d->attempts && delay < 60; i++)
                delay *= 2;
            if (delay > 60)
                delay = 60;
            d->not_before = cf_monotonic() + delay;
            d->next = r->retry;
            r->retry = d;
            w->queued++;
        }
        receiver_release(w, r);
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static void stop_threads(cf_webhooks *w, int n, double drain_seconds)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    w->stop_deadline = cf_monotonic() + drain_seconds;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < n; i++)
        pthread_join(w->threads[i], NULL);
}

cf_webhooks *cf_webhooks_new_config(const cf_webhook_config *cfg, cf_error *err)
{
    cf_webhooks *w = calloc(1, sizeof *w);
    if (w == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory for the webhook senders");
        return NULL;
    }
    if (check_config(cfg, &w->key, err) != CF_OK) {
        free(w);
        return NULL;
    }
    w->timeout_s = cfg->timeout_s;
    w->per_receiver = cfg->workers / 4 > 1 ? cfg->workers / 4 : 1;
    w->threads = calloc((size_t)cfg->workers, sizeof *w->threads);
    if (w->threads == NULL) {
        free(w);
        cf_error_set(err, CF_ENOMEM, "out of memory for the webhook senders");
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    for (; w->nthreads < cfg->workers; w->nthreads++) {
        if (pthread_create(&w->threads[w->nthreads], NULL, sender_main, w) != 0) {
            cf_error_set(err, CF_EIO, "cannot start webhook sender thread %d of %d",
                         w->nthreads + 1, cfg->workers);
            stop_threads(w, w->nthreads, 0);
            pthread_mutex_destroy(&w->lock);
            pthread_cond_destroy(&w->cond);
            free(w->threads);
            free(w);
            return NULL;
        }
    }
    return w;
}

cf_webhooks *cf_webhooks_new(cf_error *err)
{
    return cf_webhooks_new_config(&configured, err);
}

void cf_webhooks_free(cf_webhooks *w, double drain_seconds)
{
    if (w == NULL)
        return;
    stop_threads(w, w->nthreads, drain_seconds);
    while (w->receivers) {
        receiver *r = w->receivers;
        w->receivers = r->next;
        delivery *lists[2] = {r->retry, r->head};
        for (int i = 0; i < 2; i++) {
            while (lists[i]) {
                delivery *d = lists[i];
                lists[i] = d->next;
                cf_log_warn("CF0803", "webhook to %s dropped at shutdown", d->url);
                delivery_free(d);
            }
        }
        free(r->key);
        free(r);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->threads);
    free(w);
}

/* A delivery whose record could not be allocated: its result goes to a
 * sender through a fixed ring, which needs no memory. */
static void oom_without_record(cf_webhooks *w, const char *url,
                               void (*done)(void *ctx, int delivered), void *ctx)
{
    cf_log_error("CF0804", "out of memory: webhook to %s not queued", url);
    if (done == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    if (w->oom_n < OOM_SLOTS) {
        w->oom[w->oom_n].done = done;
        w->oom[w->oom_n].ctx = ctx;
        w->oom_n++;
        pthread_cond_signal(&w->cond);
    } else {
        /* its caller never hears back: a persisted terminal webhook stays
         * pending on disk and goes out after the next start */
        cf_log_error("CF0808", "out of memory: the result of a webhook to %s is lost", url);
    }
    pthread_mutex_unlock(&w->lock);
}

/* Takes the place of the queued, unsent update of the same prediction, if
 * there is one: the newer body carries everything the older one did. Returns
 * 1 when d's body went there (d is then freed by the caller). Lock held. */
static int replace_queued(receiver *r, delivery *d)
{
    if (d->terminal || d->is_start || d->prediction == NULL || d->done)
        return 0;
    for (delivery *q = r->head; q; q = q->next) {
        if (q->terminal || q->is_start || q->done || q->prediction == NULL ||
            strcmp(q->prediction, d->prediction) != 0 || strcmp(q->url, d->url) != 0)
            continue;
        char *body = q->body;
        q->body = d->body;
        d->body = body;
        return 1;
    }
    return 0;
}

void cf_webhooks_send(cf_webhooks *w, const char *url, json_t *body, int terminal,
                      const char *traceparent, const char *tracestate,
                      void (*done)(void *ctx, int delivered), void *done_ctx)
{
    delivery *d = calloc(1, sizeof *d);
    if (d == NULL) {
        json_decref(body);
        oom_without_record(w, url, done, done_ctx);
        return;
    }
    d->done = done;
    d->done_ctx = done_ctx;
    d->terminal = terminal;
    int ok = body != NULL;
    if (ok) {
        const char *id = json_string_value(json_object_get(body, "id"));
        json_t *output = json_object_get(body, "output");
        const char *logs = json_string_value(json_object_get(body, "logs"));
        d->is_start = !terminal && (output == NULL || json_is_null(output)) && (logs == NULL || !*logs);
        d->prediction = id ? strdup(id) : NULL;
        d->body = cf_json_dumps(body);
        ok = d->body != NULL && (id == NULL || d->prediction != NULL);
    }
    json_decref(body);
    d->url = strdup(url);
    d->traceparent = traceparent ? strdup(traceparent) : NULL;
    d->tracestate = tracestate ? strdup(tracestate) : NULL;
    ok = ok && d->url && (!traceparent || d->traceparent) && (!tracestate || d->tracestate);
    cf_webhook_message_id(d->msg_id);
    char key[512];
    cf_webhook_receiver_key(url, key, sizeof key);

    pthread_mutex_lock(&w->lock);
    receiver *r = ok ? receiver_get(w, key) : NULL;
    if (r == NULL) {
        cf_log_error("CF0804", "out of memory: webhook to %s not queued", url);
        if (done) {
            d->next = w->failed;
            w->failed = d;
            pthread_cond_signal(&w->cond);
        } else {
            delivery_free(d);
        }
        pthread_mutex_unlock(&w->lock);
        return;
    }
    if (replace_queued(r, d)) {
        pthread_mutex_unlock(&w->lock);
        delivery_free(d);
        return;
    }
    if (r->tail)
        r->tail->next = d;
    else
        r->head = d;
    r->tail = d;
    w->queued++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}
