/* queue.c - the Redis Stream consumer: claim, read, run, record, acknowledge (queue.h). */
#include "queue.h"

#include <stdatomic.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "intake.h"
#include "log.h"
#include "queue_message.h"
#include "redis_conn.h"
#include "webhook.h"

#define MAX_CONCURRENCY 256
/* How long an idle XREADGROUP blocks: also how soon a stop is seen. */
#define READ_BLOCK_MS "500"
#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0

/* One entry taken from the stream and not yet acknowledged. */
typedef struct qentry {
    char sid[64];          /* the stream entry's id */
    cf_queue_message msg;
    cf_prediction *p;      /* reference; NULL until submitted */
    char *last;            /* the state last written to the targets, JSON text */
    json_t *final;         /* the terminal state, once seen: to be recorded */
    int canceled;          /* cancel_key seen and the cancel passed on */
    double heartbeat;      /* monotonic time of the last XCLAIM that kept it ours */
} qentry;

struct cf_queue {
    cf_queue_config cfg;
    char *stream, *group, *consumer, *url;
    char done_prefix[512];
    char min_idle_ms[32];
    char done_ttl_s[32];
    cf_runner *runner;
    cf_redis *redis;
    cf_webhooks *webhooks; /* only for requests refused before the runner saw them */
    int group_ok;          /* XGROUP CREATE done on this connection */
    int recovered;         /* our own pending entries re-read on this connection */
    double backoff;
    double down_since;     /* monotonic; 0 while connected */
    double next_connect;   /* monotonic: no attempt before (backoff) */
    double next_autoclaim;
    double next_report;
    long done, claimed;
    long long last_lag, last_pending; /* what the last report said */
    long last_done;
    qentry *e[MAX_CONCURRENCY];
    int n;
    atomic_int stop_taking, stop_now;
    pthread_mutex_t stats_lock; /* guards stats: read by request threads */
    cf_queue_stats stats;
};

/* Copies what the loop knows into q->stats for other threads. */
static void publish_stats(cf_queue *q, int connected)
{
    pthread_mutex_lock(&q->stats_lock);
    q->stats.connected = connected;
    q->stats.lag = q->last_lag < -1 ? -1 : q->last_lag;
    q->stats.pending = q->last_pending < -1 ? -1 : q->last_pending;
    q->stats.in_flight = q->n;
    q->stats.done = q->done;
    q->stats.claimed = q->claimed;
    pthread_mutex_unlock(&q->stats_lock);
}

void cf_queue_stats_get(cf_queue *q, cf_queue_stats *out)
{
    pthread_mutex_lock(&q->stats_lock);
    *out = q->stats;
    pthread_mutex_unlock(&q->stats_lock);
}

void cf_queue_config_init(cf_queue_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->claim_after = 600;
    cfg->poll_interval = 0.02;
    cfg->concurrency = 1;
    cfg->done_ttl = 7 * 86400;
    cfg->report_interval = 10;
}

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

cf_queue *cf_queue_new(const cf_queue_config *cfg, cf_runner *runner, cf_error *err)
{
    cf_redis_target t;
    if (cf_redis_url_parse(cfg->redis_url, &t, err) != CF_OK)
        return NULL;
    if (cfg->stream == NULL || *cfg->stream == '\0') {
        cf_error_set(err, CF_EINVAL, "--stream: the stream's name is required");
        return NULL;
    }
    if (cfg->concurrency < 1 || cfg->concurrency > MAX_CONCURRENCY) {
        cf_error_set(err, CF_EINVAL, "--concurrency: expected 1 to %d", MAX_CONCURRENCY);
        return NULL;
    }
    cf_queue *q = calloc(1, sizeof *q);
    if (q == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->stats_lock, NULL);
    q->cfg = *cfg;
    char consumer[320];
    if (cfg->consumer && *cfg->consumer) {
        snprintf(consumer, sizeof consumer, "%s", cfg->consumer);
    } else {
        char host[256] = "host";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf(consumer, sizeof consumer, "%s-%ld", host, (long)getpid());
    }
    q->stream = strdup(cfg->stream);
    q->group = strdup(cfg->group && *cfg->group ? cfg->group : cfg->stream);
    q->consumer = strdup(consumer);
    q->url = strdup(cfg->redis_url);
    q->redis = cf_redis_new(&t, 5.0);
    memset(&t, 0, sizeof t);
    if (!q->stream || !q->group || !q->consumer || !q->url || !q->redis) {
        cf_queue_free(q);
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(q->done_prefix, sizeof q->done_prefix, "%s:done:", q->stream);
    snprintf(q->min_idle_ms, sizeof q->min_idle_ms, "%.0f", cfg->claim_after * 1000);
    snprintf(q->done_ttl_s, sizeof q->done_ttl_s, "%.0f", cfg->done_ttl < 1 ? 1 : cfg->done_ttl);
    q->runner = runner;
    q->backoff = BACKOFF_MIN;
    q->last_lag = q->last_pending = -2;
    q->stats = (cf_queue_stats){.stream = q->stream, .group = q->group, .consumer = q->consumer,
                                .lag = -1, .pending = -1};
    return q;
}

static void entry_free(qentry *e)
{
    if (e == NULL)
        return;
    cf_queue_message_cleanup(&e->msg);
    cf_prediction_decref(e->p);
    free(e->last);
    json_decref(e->final);
    free(e);
}

void cf_queue_free(cf_queue *q)
{
    if (q == NULL)
        return;
    for (int i = 0; i < q->n; i++)
        entry_free(q->e[i]);
    if (q->webhooks)
        cf_webhooks_free(q->webhooks, 5.0);
    cf_redis_free(q->redis);
    free(q->stream);
    free(q->group);
    free(q->consumer);
    free(q->url);
    pthread_mutex_destroy(&q->stats_lock);
    free(q);
}

void cf_queue_stop(cf_queue *q, int now)
{
    atomic_store(&q->stop_taking, 1);
    if (now)
        atomic_store(&q->stop_now, 1);
}

/* ---- Redis side ---- */

/* A failed command: a lost connection is logged once per outage (the loop
 * reconnects), a Redis error each time. */
static void redis_failed(cf_queue *q, const cf_error *err)
{
    if (err->code == CF_EIO) {
        if (q->down_since == 0) {
            q->down_since = cf_monotonic();
            cf_log_warn("CF1202", "queue: lost Redis (%s); reconnecting with backoff, running "
                                  "predictions go on", err->msg);
        }
        q->group_ok = 0;
        q->recovered = 0;
    } else {
        if (strstr(err->msg, "NOGROUP"))
            q->group_ok = 0; /* a Redis that came back empty: create the group again */
        cf_log_error("CF1206", "queue: %s", err->msg);
    }
}

/* Connects and makes sure the group exists. 0, or the failure (logged). */
static int ensure_connected(cf_queue *q)
{
    cf_error err;
    cf_error_clear(&err);
    if (!cf_redis_connected(q->redis)) {
        double now = cf_monotonic();
        if (now < q->next_connect)
            return CF_EIO;
        if (cf_redis_connect(q->redis, &err) != CF_OK) {
            redis_failed(q, &err);
            q->next_connect = now + q->backoff;
            /* While entries are in flight, their idle time grows in Redis:
             * come back soon enough to keep them (heartbeat) before another
             * consumer's claim_after runs out. */
            double cap = BACKOFF_MAX;
            if (q->n > 0 && q->cfg.claim_after / 4 < cap)
                cap = q->cfg.claim_after / 4 < BACKOFF_MIN ? BACKOFF_MIN : q->cfg.claim_after / 4;
            q->backoff = q->backoff * 2 > cap ? cap : q->backoff * 2;
            return err.code;
        }
        if (q->down_since > 0) {
            cf_log_info("CF1203", "queue: Redis is back after %.1f s", cf_monotonic() - q->down_since);
            q->down_since = 0;
        }
        /* first thing after a reconnection: keep the entries in flight ours */
        for (int i = 0; i < q->n; i++)
            q->e[i]->heartbeat = 0;
        q->backoff = BACKOFF_MIN;
    }
    if (!q->group_ok) {
        /* From the stream's start ("0"): requests added before any worker
         * existed are served too; done ones were deleted (XDEL). */
        const char *argv[] = {"XGROUP", "CREATE", q->stream, q->group, "0", "MKSTREAM"};
        int rc = cf_redis_cmd(q->redis, NULL, &err, 6, argv);
        if (rc == CF_EPROTO && strstr(err.msg, "BUSYGROUP") == NULL) {
            redis_failed(q, &err);
            return rc;
        }
        if (rc == CF_EIO) {
            redis_failed(q, &err);
            return rc;
        }
        q->group_ok = 1;
    }
    return CF_OK;
}

/* The value field of an entry's [field, value, ...] array, borrowed, or NULL. */
static const char *field_value(const redisReply *fields)
{
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, "value") == 0 &&
            v->type == REDIS_REPLY_STRING)
            return v->str;
    }
    return NULL;
}

/* XACK + XDEL of an entry that needs no run (done before, or unreadable). */
static int ack_only(cf_queue *q, const char *sid)
{
    cf_error err;
    const char *ack[] = {"XACK", q->stream, q->group, sid};
    const char *del[] = {"XDEL", q->stream, sid};
    int rc = cf_redis_cmd(q->redis, NULL, &err, 4, ack);
    if (rc == CF_OK)
        rc = cf_redis_cmd(q->redis, NULL, &err, 3, del);
    if (rc != CF_OK)
        redis_failed(q, &err);
    return rc;
}

/* Appends the commands writing state (JSON text) to the entry's targets;
 * returns how many were appended, or -1 (connection lost). */
static int append_state(cf_queue *q, const qentry *e, const char *text, cf_error *err)
{
    int n = 0;
    const cf_queue_message *m = &e->msg;
    if (m->response_queue) {
        const char *a[] = {"RPUSH", m->response_queue, text};
        if (cf_redis_append(q->redis, err, 3, a) != CF_OK)
            return -1;
        n++;
    }
    if (m->response_key) {
        const char *a[] = {"SET", m->response_key, text};
        if (cf_redis_append(q->redis, err, 3, a) != CF_OK)
            return -1;
        n++;
    }
    if (m->response_stream) {
        const char *a[] = {"XADD", m->response_stream, "*", "value", text};
        if (cf_redis_append(q->redis, err, 5, a) != CF_OK)
            return -1;
        n++;
    }
    return n;
}

/* Reads n pipelined replies; the first failure is kept in err. */
static int read_replies(cf_queue *q, int n, cf_error *err)
{
    int rc = CF_OK;
    for (int i = 0; i < n; i++) {
        cf_error e2;
        int r = cf_redis_reply(q->redis, NULL, &e2);
        if (r != CF_OK && rc == CF_OK) {
            rc = r;
            *err = e2;
        }
        if (r == CF_EIO)
            break;
    }
    return rc;
}

/* Writes a non-terminal state. Failures are logged; the state is written
 * again with the next change (at least once, in order). */
static int write_state(cf_queue *q, qentry *e, const char *text)
{
    cf_error err;
    cf_error_clear(&err);
    int n = append_state(q, e, text, &err);
    int rc = n < 0 ? CF_EIO : read_replies(q, n, &err);
    if (rc != CF_OK)
        redis_failed(q, &err);
    return rc;
}

/* Records a terminal entry in one transaction: its final state, the done
 * marker, XACK and XDEL. Either all of it is in Redis or none (then it is
 * tried again). */
static int record_final(cf_queue *q, qentry *e)
{
    cf_error err;
    cf_error_clear(&err);
    char *text = json_dumps(e->final, JSON_COMPACT);
    if (text == NULL)
        return CF_ENOMEM;
    const char *status = json_string_value(json_object_get(e->final, "status"));
    char key[768];
    snprintf(key, sizeof key, "%s%s", q->done_prefix, e->msg.id);
    const char *multi[] = {"MULTI"};
    const char *set[] = {"SET", key, status ? status : "failed", "EX", q->done_ttl_s};
    const char *ack[] = {"XACK", q->stream, q->group, e->sid};
    const char *del[] = {"XDEL", q->stream, e->sid};
    const char *exec[] = {"EXEC"};
    int n = 0, rc = CF_EIO;
    if (cf_redis_append(q->redis, &err, 1, multi) != CF_OK)
        goto out;
    n++;
    int k = append_state(q, e, text, &err);
    if (k < 0)
        goto out;
    n += k;
    if (cf_redis_append(q->redis, &err, 5, set) != CF_OK ||
        cf_redis_append(q->redis, &err, 4, ack) != CF_OK ||
        cf_redis_append(q->redis, &err, 3, del) != CF_OK)
        goto out;
    n += 3;
    /* MULTI and the queued commands answer OK / QUEUED; EXEC the results */
    rc = read_replies(q, n, &err);
    if (rc == CF_EIO)
        goto out;
    redisReply *r = NULL;
    int rc2 = cf_redis_cmd(q->redis, &r, &err, 1, exec);
    if (rc2 == CF_OK && (r == NULL || r->type != REDIS_REPLY_ARRAY)) {
        cf_error_set(&err, CF_EPROTO, "redis EXEC: the transaction was not run");
        rc2 = CF_EPROTO;
    }
    /* A target of the wrong type (RPUSH to a string...) fails alone inside
     * the transaction: the entry is still recorded and acknowledged. */
    for (size_t i = 0; rc2 == CF_OK && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ERROR)
            cf_log_error("CF1206", "queue: writing the final state of %s: %s", e->msg.id,
                         r->element[i]->str);
    freeReplyObject(r);
    rc = rc != CF_OK ? rc : rc2;
out:
    if (rc != CF_OK)
        redis_failed(q, &err);
    free(text);
    return rc;
}

/* Keeps an entry ours: resets its idle time, unless another consumer has
 * taken it meanwhile (then it is left to it; our run goes on and is
 * recorded first or found done). */
static void heartbeat(cf_queue *q, qentry *e, double now)
{
    if (now - e->heartbeat < q->cfg.claim_after / 3)
        return;
    e->heartbeat = now;
    cf_error err;
    redisReply *r = NULL;
    const char *pend[] = {"XPENDING", q->stream, q->group, e->sid, e->sid, "1"};
    if (cf_redis_cmd(q->redis, &r, &err, 6, pend) != CF_OK) {
        redis_failed(q, &err);
        return;
    }
    int ours = r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 2 &&
               r->element[0]->element[1]->type == REDIS_REPLY_STRING &&
               strcmp(r->element[0]->element[1]->str, q->consumer) == 0;
    freeReplyObject(r);
    if (!ours) {
        cf_log_warn("CF1207", "queue: entry %s (prediction %s) was claimed by another consumer",
                    e->sid, e->msg.id);
        return;
    }
    const char *claim[] = {"XCLAIM", q->stream, q->group, q->consumer, "0", e->sid, "JUSTID"};
    if (cf_redis_cmd(q->redis, NULL, &err, 7, claim) != CF_OK)
        redis_failed(q, &err);
}

/* ---- entries ---- */

/* The failed prediction object of a request refused before it ran. */
static json_t *refused_json(const qentry *e, const char *why)
{
    char now[64];
    cf_format_time(cf_now(), now, sizeof now);
    json_t *input = e->msg.body ? json_object_get(e->msg.body, "input") : NULL;
    json_t *in = json_is_object(input) ? json_incref(input) : json_object();
    return json_pack("{s:s, s:o, s:n, s:s, s:s, s:s, s:s, s:o}", "id", e->msg.id, "input", in,
                     "output", "logs", "", "error", why, "status", "failed", "completed_at", now,
                     "metrics", json_object());
}

/* Turns the intake's 422 items into one line: "input.x: msg; ...". */
static void details_text(json_t *details, char *buf, size_t len)
{
    size_t i, used = 0;
    json_t *d;
    buf[0] = '\0';
    json_array_foreach(details, i, d) {
        json_t *loc = json_object_get(d, "loc");
        const char *last = json_string_value(json_array_get(loc, json_array_size(loc) - 1));
        int w = snprintf(buf + used, len - used, "%s%s: %s", i ? "; " : "", last ? last : "request",
                         json_string_value(json_object_get(d, "msg")) ?: "invalid");
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

/* An entry that cannot run: its failed state becomes the final one (and its
 * webhook, when it has one, is sent here: the runner never saw it). */
static void refuse(cf_queue *q, qentry *e, const char *why)
{
    cf_log_warn("CF1204", "queue: entry %s (prediction %s) refused: %s", e->sid, e->msg.id, why);
    e->final = refused_json(e, why);
    const char *hook = e->msg.body ? json_string_value(json_object_get(e->msg.body, "webhook")) : NULL;
    if (hook && *hook && e->final) {
        cf_error err;
        if (q->webhooks == NULL)
            q->webhooks = cf_webhooks_new(&err);
        if (q->webhooks)
            cf_webhooks_send(q->webhooks, hook, json_deep_copy(e->final), 1, e->msg.traceparent,
                             NULL, NULL, NULL);
    }
}

/* Validates and submits an entry's request. 0 when submitted or refused
 * (final set), CF_EBUSY to try again later, CF_EUNAVAIL when no
 * prediction can run. */
static int submit(cf_queue *q, qentry *e)
{
    cf_error err;
    cf_error_clear(&err);
    int ready = 0;
    json_t *schema = cf_runner_schema(q->runner, 0, &ready, &err);
    if (ready <= 0 || schema == NULL) {
        json_decref(schema);
        cf_log_error("CF1208", "queue: the model cannot run predictions: %s",
                     err.msg[0] ? err.msg : "no schema");
        return CF_EUNAVAIL;
    }
    json_t *details = json_array();
    cf_prediction *p = cf_intake(schema, e->msg.body, e->msg.id, details, &err);
    json_decref(schema);
    if (p == NULL) {
        char why[1024];
        details_text(details, why, sizeof why);
        json_decref(details);
        refuse(q, e, why[0] ? why : err.msg);
        return CF_OK;
    }
    json_decref(details);
    /* Run by the runner's thread, as `cog-fcgi predict` does; Redis, not
     * the state directory, keeps it across a crash (the entry stays pending). */
    p->is_async = 1;
    if (e->msg.traceparent)
        p->traceparent = strdup(e->msg.traceparent);
    int rc = cf_runner_submit(q->runner, p, NULL, &err);
    if (rc == CF_EBUSY) {
        cf_prediction_decref(p);
        return CF_EBUSY;
    }
    if (rc != CF_OK) {
        cf_prediction_decref(p);
        if (rc == CF_EUNAVAIL) {
            cf_log_error("CF1208", "queue: the model cannot run predictions: %s", err.msg);
            return rc;
        }
        refuse(q, e, err.msg);
        return CF_OK;
    }
    e->p = p; /* our reference */
    cf_log_debug("CF1201", "queue: entry %s runs as prediction %s", e->sid, e->msg.id);
    return CF_OK;
}

static int in_flight(const cf_queue *q, const char *sid)
{
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->e[i]->sid, sid) == 0)
            return 1;
    return 0;
}

/* Takes one entry read from Redis ([id, fields]): skipped when in flight,
 * acknowledged when already done or unreadable, else followed. */
static int adopt(cf_queue *q, const redisReply *entry, int claimed)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return CF_OK;
    const char *sid = entry->element[0]->str;
    if (strlen(sid) >= sizeof ((qentry *)0)->sid || in_flight(q, sid))
        return CF_OK;
    if (entry->element[1]->type != REDIS_REPLY_ARRAY) {
        /* deleted after it was read (XDEL by the consumer that finished it) */
        return ack_only(q, sid);
    }
    qentry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return CF_ENOMEM;
    snprintf(e->sid, sizeof e->sid, "%s", sid);
    e->heartbeat = cf_monotonic();
    cf_error err;
    cf_error_clear(&err);
    const char *value = field_value(entry->element[1]);
    int prc = cf_queue_message_parse(sid, value, &e->msg, &err);
    if (prc == CF_ENOMEM) {
        entry_free(e);
        return CF_ENOMEM;
    }
    /* done before (by us or by a worker that died after recording it)? */
    char key[768];
    snprintf(key, sizeof key, "%s%s", q->done_prefix, e->msg.id);
    const char *exists[] = {"EXISTS", key};
    redisReply *r = NULL;
    int rc = cf_redis_cmd(q->redis, &r, &err, 2, exists);
    if (rc != CF_OK) {
        entry_free(e);
        redis_failed(q, &err);
        return rc;
    }
    int done = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    if (done) {
        cf_log_info("CF1205", "queue: entry %s: prediction %s is done already, acknowledged", sid,
                    e->msg.id);
        entry_free(e);
        return ack_only(q, sid);
    }
    if (claimed) {
        q->claimed++;
        cf_log_info("CF1209", "queue: claimed entry %s (prediction %s), idle over %.0f s on its consumer",
                    sid, e->msg.id, q->cfg.claim_after);
    }
    if (prc != CF_OK) {
        if (value == NULL) {
            /* nothing to answer to: not a request */
            cf_log_warn("CF1216", "queue: entry %s has no field \"value\", acknowledged", sid);
            entry_free(e);
            return ack_only(q, sid);
        }
        refuse(q, e, err.msg);
    } else {
        /* the runner knows it: a redelivery to this process, follow it */
        e->p = cf_runner_find(q->runner, e->msg.id);
    }
    q->e[q->n++] = e;
    return CF_OK;
}

/* Adopts every entry of a reply [[id, fields], ...]. */
static int adopt_all(cf_queue *q, const redisReply *entries, int claimed)
{
    if (entries == NULL || entries->type != REDIS_REPLY_ARRAY)
        return CF_OK;
    for (size_t i = 0; i < entries->elements && q->n < q->cfg.concurrency; i++) {
        int rc = adopt(q, entries->element[i], claimed);
        if (rc != CF_OK)
            return rc;
    }
    return CF_OK;
}

/* Our own pending entries, after a restart with the same consumer name or
 * a reconnection: XREADGROUP from id 0 lists them. */
static int recover_own(cf_queue *q)
{
    cf_error err;
    redisReply *r = NULL;
    char count[16];
    snprintf(count, sizeof count, "%d", q->cfg.concurrency);
    const char *argv[] = {"XREADGROUP", "GROUP", q->group, q->consumer, "COUNT", count,
                          "STREAMS", q->stream, "0"};
    int rc = cf_redis_cmd(q->redis, &r, &err, 9, argv);
    if (rc != CF_OK) {
        redis_failed(q, &err);
        return rc;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->elements >= 2)
        rc = adopt_all(q, r->element[0]->element[1], 0);
    freeReplyObject(r);
    if (rc == CF_OK)
        q->recovered = 1;
    return rc;
}

/* Entries idle past claim_after on any consumer (one that died). */
static int autoclaim(cf_queue *q)
{
    cf_error err;
    redisReply *r = NULL;
    const char *argv[] = {"XAUTOCLAIM", q->stream, q->group, q->consumer, q->min_idle_ms, "0-0",
                          "COUNT", "1"};
    int rc = cf_redis_cmd(q->redis, &r, &err, 8, argv);
    if (rc != CF_OK) {
        redis_failed(q, &err);
        return rc;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
        rc = adopt_all(q, r->element[1], 1);
    freeReplyObject(r);
    return rc;
}

/* New entries; blocks up to READ_BLOCK_MS when nothing is in flight. */
static int read_new(cf_queue *q)
{
    cf_error err;
    redisReply *r = NULL;
    const char *block[] = {"XREADGROUP", "GROUP", q->group, q->consumer, "COUNT", "1", "BLOCK",
                           READ_BLOCK_MS, "STREAMS", q->stream, ">"};
    const char *noblock[] = {"XREADGROUP", "GROUP", q->group, q->consumer, "COUNT", "1",
                             "STREAMS", q->stream, ">"};
    int rc = q->n == 0 ? cf_redis_cmd(q->redis, &r, &err, 11, block)
                       : cf_redis_cmd(q->redis, &r, &err, 9, noblock);
    if (rc != CF_OK) {
        redis_failed(q, &err);
        return rc;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->elements >= 2)
        rc = adopt_all(q, r->element[0]->element[1], 0);
    freeReplyObject(r);
    return rc;
}

static int is_terminal_json(const json_t *o)
{
    const char *s = json_string_value(json_object_get(o, "status"));
    return s && (strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0 ||
                 strcmp(s, "canceled") == 0);
}

/* One look at an entry: submit it, write a new state, pass a cancel on,
 * keep it ours, record it when terminal. Returns 1 when the entry is
 * recorded (to be removed), 0 to keep it, CF_EUNAVAIL. */
static int step(cf_queue *q, qentry *e, int connected, double now)
{
    if (e->final == NULL && e->p == NULL) {
        int rc = submit(q, e);
        if (rc == CF_EUNAVAIL)
            return rc;
        if (rc == CF_EBUSY)
            return 0;
    }
    if (e->final == NULL && e->p) {
        json_t *o = cf_runner_prediction_json(q->runner, e->p);
        if (o == NULL)
            return 0;
        if (is_terminal_json(o)) {
            e->final = o;
        } else {
            char *text = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            if (text && connected && (e->last == NULL || strcmp(text, e->last) != 0) &&
                write_state(q, e, text) == CF_OK) {
                free(e->last);
                e->last = text;
                text = NULL;
            }
            free(text);
        }
    }
    if (!cf_redis_connected(q->redis))
        return 0;
    if (e->final == NULL) {
        if (e->msg.cancel_key && !e->canceled) {
            cf_error err;
            redisReply *r = NULL;
            const char *ex[] = {"EXISTS", e->msg.cancel_key};
            if (cf_redis_cmd(q->redis, &r, &err, 2, ex) != CF_OK) {
                redis_failed(q, &err);
                return 0;
            }
            int yes = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
            freeReplyObject(r);
            if (yes) {
                e->canceled = 1;
                cf_log_info("CF1211", "queue: %s exists: canceling prediction %s", e->msg.cancel_key,
                            e->msg.id);
                cf_runner_cancel(q->runner, e->msg.id);
            }
        }
        heartbeat(q, e, now);
        return 0;
    }
    if (record_final(q, e) != CF_OK)
        return 0;
    q->done++;
    cf_log_debug("CF1215", "queue: entry %s (prediction %s) %s, acknowledged", e->sid, e->msg.id,
                 json_string_value(json_object_get(e->final, "status")));
    return 1;
}

/* The consumer's lag, from XINFO GROUPS: entries not yet read by the group
 * (lag) and read but not acknowledged (pending). */
static void report(cf_queue *q)
{
    cf_error err;
    redisReply *r = NULL;
    const char *argv[] = {"XINFO", "GROUPS", q->stream};
    if (cf_redis_cmd(q->redis, &r, &err, 3, argv) != CF_OK) {
        redis_failed(q, &err);
        return;
    }
    long long pending = -1, lag = -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *g = r->element[i];
        int mine = 0;
        long long gp = -1, gl = -1;
        for (size_t k = 0; g->type == REDIS_REPLY_ARRAY && k + 1 < g->elements; k += 2) {
            const redisReply *name = g->element[k], *v = g->element[k + 1];
            if (name->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(name->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                mine = strcmp(v->str, q->group) == 0;
            else if (strcmp(name->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
                gp = v->integer;
            else if (strcmp(name->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER)
                gl = v->integer;
        }
        if (mine) {
            pending = gp;
            lag = gl;
        }
    }
    freeReplyObject(r);
    /* an idle queue says so once, not every interval */
    int same = lag == q->last_lag && pending == q->last_pending && q->done == q->last_done &&
               q->n == 0;
    q->last_lag = lag;
    q->last_pending = pending;
    q->last_done = q->done;
    cf_log(same ? CF_LOG_DEBUG : CF_LOG_INFO, "CF1210",
           "queue: stream %s group %s consumer %s: lag %lld, pending %lld, in flight %d, done "
           "%ld, claimed %ld",
           q->stream, q->group, q->consumer, lag, pending, q->n, q->done, q->claimed);
}

int cf_queue_run(cf_queue *q)
{
    cf_runner_wait_ready(q->runner);
    int ready = 0;
    cf_error err;
    cf_error_clear(&err);
    json_t *schema = cf_runner_schema(q->runner, 0, &ready, &err);
    json_decref(schema);
    if (ready < 0) {
        cf_log_error("CF1208", "queue: setup failed, taking no entries: %s", err.msg);
        return CF_EUNAVAIL;
    }
    cf_log_info("CF1200", "queue: consuming stream %s as group %s, consumer %s (%s), claim after %.0f s",
                q->stream, q->group, q->consumer, q->url, q->cfg.claim_after);
    int status = CF_OK;
    while (!atomic_load(&q->stop_now)) {
        int taking = !atomic_load(&q->stop_taking);
        if (!taking && q->n == 0)
            break;
        double now = cf_monotonic();
        int connected = ensure_connected(q) == CF_OK;
        if (connected && !q->recovered && taking)
            recover_own(q);
        for (int i = 0; i < q->n; i++) {
            int rc = step(q, q->e[i], connected && cf_redis_connected(q->redis), now);
            if (rc == CF_EUNAVAIL) {
                status = rc;
                goto out;
            }
            if (rc == 1) {
                entry_free(q->e[i]);
                q->e[i] = q->e[--q->n];
                i--;
            }
        }
        connected = cf_redis_connected(q->redis);
        if (connected && taking && q->n < q->cfg.concurrency && now >= q->next_autoclaim) {
            /* a dead worker's entries first, as Cog did; at most every second */
            q->next_autoclaim = now + 1.0;
            autoclaim(q);
        }
        connected = cf_redis_connected(q->redis);
        publish_stats(q, connected);
        int waited = 0;
        if (connected && taking && q->n < q->cfg.concurrency) {
            waited = q->n == 0;
            read_new(q);
        }
        if (connected && q->cfg.report_interval > 0 && now >= q->next_report) {
            if (q->next_report > 0)
                report(q);
            q->next_report = now + q->cfg.report_interval;
        }
        if (!waited)
            sleep_s(q->cfg.poll_interval);
    }
out:
    if (q->n > 0)
        cf_log_info("CF1212", "queue: stopping with %d entries in flight: they stay pending for "
                              "another consumer", q->n);
    return status;
}
