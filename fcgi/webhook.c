/* webhook.c - a queue of webhook deliveries and the thread that sends them. */
#include "webhook.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "http_client.h"
#include "json_out.h"
#include "log.h"

/* Cog's 12 quick retries (0.1 s, 0.2 s, ... 51.2 s), then, so that a
 * receiver that is down for a while still gets its terminal webhook, one
 * try a minute for an hour more. */
#define MAX_RETRIES 12
#define SLOW_RETRIES 60

typedef struct delivery {
    struct delivery *next;
    char *url;
    char *body;
    char *traceparent;
    char *tracestate;
    int terminal;
    int attempts;
    int delivered;     /* the receiver answered (any status but a retryable one) */
    void (*done)(void *ctx, int delivered); /* called once, without our lock */
    void *done_ctx;
    double not_before; /* monotonic */
} delivery;

struct cf_webhooks {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    delivery *head; /* in arrival order */
    int stopping;
    double stop_deadline;
};

static void delivery_free(delivery *d)
{
    if (d == NULL)
        return;
    free(d->url);
    free(d->body);
    free(d->traceparent);
    free(d->tracestate);
    free(d);
}

/* POSTs one delivery. Returns 1 when done (sent, or failed for good), 0 when
 * it should be retried. */
static int post_once(delivery *d)
{
    char agent[128], auth[1024], parent[1024], state[1024];
    const char *headers[6];
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
    headers[n] = NULL;
    cf_http_response resp;
    cf_error err;
    int rc = cf_http_request("POST", d->url, headers, d->body, strlen(d->body), 10.0, CF_HTTP_POLICY, &resp,
                             &err);
    long status = resp.status;
    cf_http_response_cleanup(&resp);
    d->attempts++;
    if (rc != CF_OK && strstr(err.msg, "fetch policy") != NULL) {
        /* a webhook URL the policy refuses (cloud metadata, --fetch-deny)
         * stays refused: no retry */
        cf_log_warn("CF0406", "webhook not sent: %s", err.msg);
        return 1;
    }
    int retryable = rc != CF_OK || status == 429 || status == 500 || status == 502 ||
                    status == 503 || status == 504;
    if (!retryable) {
        d->delivered = 1;
        return 1;
    }
    if (rc != CF_OK)
        cf_log_warn("CF0401", "webhook to %s failed: %s", d->url, err.msg);
    else
        cf_log_warn("CF0402", "webhook to %s answered %ld", d->url, status);
    /* without libcurl no retry can succeed */
    if (rc != CF_OK && cf_http_available(NULL) != CF_OK)
        return 1;
    if (!d->terminal || d->attempts > MAX_RETRIES + SLOW_RETRIES) {
        if (d->terminal)
            cf_log_error("CF0405", "giving up the terminal webhook to %s after %d tries",
                         d->url, d->attempts);
        return 1;
    }
    return 0;
}

static void *sender_main(void *arg)
{
    cf_webhooks *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        double now = cf_monotonic();
        if (w->stopping && (w->head == NULL || now >= w->stop_deadline))
            break;
        /* the first due delivery, keeping arrival order among due ones */
        delivery **pp = &w->head, **due = NULL;
        double next = 0;
        for (; *pp; pp = &(*pp)->next) {
            if ((*pp)->not_before <= now) {
                due = pp;
                break;
            }
            if (next == 0 || (*pp)->not_before < next)
                next = (*pp)->not_before;
        }
        if (due == NULL) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait = w->head ? next - now : 1.0;
            if (w->stopping && w->stop_deadline - now < wait)
                wait = w->stop_deadline - now;
            if (wait < 0.001)
                wait = 0.001;
            ts.tv_sec += (time_t)wait;
            ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->cond, &w->lock, &ts);
            continue;
        }
        delivery *d = *due;
        *due = d->next;
        pthread_mutex_unlock(&w->lock);
        int finished = post_once(d);
        if (finished && d->done) {
            d->done(d->done_ctx, d->delivered);
            d->done = NULL;
        }
        pthread_mutex_lock(&w->lock);
        if (finished) {
            delivery_free(d);
        } else {
            /* back off 0.1 s, 0.2 s, 0.4 s, ... and go back to the queue head */
            double delay = 0.1;
            for (int i = 1; i < d->attempts; i++)
                delay *= 2;
            if (delay > 60)
                delay = 60;
            d->not_before = cf_monotonic() + delay;
            d->next = w->head;
            w->head = d;
        }
    }
    while (w->head) {
        delivery *d = w->head;
        w->head = d->next;
        cf_log_warn("CF0403", "webhook to %s dropped at shutdown", d->url);
        delivery_free(d);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

cf_webhooks *cf_webhooks_new(cf_error *err)
{
    cf_webhooks *w = calloc(1, sizeof *w);
    if (w == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory for the webhook sender");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, sender_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        cf_error_set(err, CF_EIO, "cannot start the webhook sender thread");
        return NULL;
    }
    return w;
}

void cf_webhooks_free(cf_webhooks *w, double drain_seconds)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    w->stop_deadline = cf_monotonic() + drain_seconds;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}

void cf_webhooks_send(cf_webhooks *w, const char *url, json_t *body, int terminal,
                      const char *traceparent, const char *tracestate,
                      void (*done)(void *ctx, int delivered), void *done_ctx)
{
    delivery *d = calloc(1, sizeof *d);
    char *text = body ? cf_json_dumps(body) : NULL;
    json_decref(body);
    if (d == NULL || text == NULL) {
        free(d);
        free(text);
        cf_log_error("CF0404", "out of memory: webhook to %s not queued", url);
        if (done)
            done(done_ctx, 0);
        return;
    }
    d->done = done;
    d->done_ctx = done_ctx;
    d->url = strdup(url);
    d->body = text;
    d->terminal = terminal;
    d->traceparent = traceparent ? strdup(traceparent) : NULL;
    d->tracestate = tracestate ? strdup(tracestate) : NULL;
    pthread_mutex_lock(&w->lock);
    delivery **pp = &w->head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = d;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}
