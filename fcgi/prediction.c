/* prediction.c - the prediction record and its two JSON views. */
#include "prediction.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "strcopy.h"

cf_prediction *cf_prediction_new(const char *id)
{
    cf_prediction *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->refs = 1;
    cf_strcopy(p->id, sizeof p->id, id);
    p->status = CF_STATUS_PROCESSING;
    p->events = CF_EVENT_ALL;
    p->slot = -1;
    p->logs = calloc(1, 1);
    if (p->logs == NULL) {
        free(p);
        return NULL;
    }
    p->logs_cap = 1;
    pthread_cond_init(&p->done_cond, NULL);
    return p;
}

void cf_prediction_incref(cf_prediction *p)
{
    __atomic_add_fetch(&p->refs, 1, __ATOMIC_SEQ_CST);
}

void cf_prediction_decref(cf_prediction *p)
{
    if (p == NULL)
        return;
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    json_decref(p->eventlog);
    json_decref(p->input_echo);
    json_decref(p->input_worker);
    json_decref(p->kinds);
    json_decref(p->context);
    json_decref(p->output);
    json_decref(p->metrics);
    free(p->created_at);
    free(p->logs);
    free(p->error);
    free(p->webhook);
    free(p->traceparent);
    free(p->tracestate);
    free(p->tempdir);
    free(p->upload_prefix);
    pthread_cond_destroy(&p->done_cond);
    free(p);
}

int cf_prediction_append_logs(cf_prediction *p, const char *text, size_t len)
{
    if (p->logs_len + len + 1 > p->logs_cap) {
        size_t cap = p->logs_cap * 2;
        while (cap < p->logs_len + len + 1)
            cap *= 2;
        char *grown = realloc(p->logs, cap);
        if (grown == NULL)
            return CF_ENOMEM;
        p->logs = grown;
        p->logs_cap = cap;
    }
    memcpy(p->logs + p->logs_len, text, len);
    p->logs_len += len;
    p->logs[p->logs_len] = '\0';
    return CF_OK;
}

void cf_prediction_set_error(cf_prediction *p, const char *msg)
{
    free(p->error);
    p->error = msg ? strdup(msg) : NULL;
}

int cf_prediction_is_terminal(const cf_prediction *p)
{
    return p->status == CF_STATUS_SUCCEEDED || p->status == CF_STATUS_FAILED ||
           p->status == CF_STATUS_CANCELED;
}

const char *cf_status_name(cf_status s)
{
    switch (s) {
    case CF_STATUS_STARTING: return "starting";
    case CF_STATUS_PROCESSING: return "processing";
    case CF_STATUS_SUCCEEDED: return "succeeded";
    case CF_STATUS_FAILED: return "failed";
    case CF_STATUS_CANCELED: return "canceled";
    }
    return "unknown";
}

static json_t *time_or_null(double t)
{
    if (t <= 0)
        return json_null();
    char buf[64];
    cf_format_time(t, buf, sizeof buf);
    return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* metrics: predict_time only on success, merged with custom metrics. */
static json_t *metrics_json(const cf_prediction *p)
{
    json_t *m = NULL;
    if (p->status == CF_STATUS_SUCCEEDED) {
        m = json_object();
        /* whole microseconds, as Cog's datetime difference gives */
        double t = round((p->completed_at - p->started_at) * 1e6) / 1e6;
        json_object_set_new(m, "predict_time", json_real(t < 0 ? 0 : t));
    }
    if (p->metrics != NULL && json_object_size(p->metrics) > 0) {
        if (m == NULL)
            m = json_object();
        json_object_update(m, p->metrics);
    }
    return m;
}

/* Logs are always a string: a model's bytes that are not UTF-8 become
 * U+FFFD (the record table cleans them as they arrive; a record read back
 * from an older file may still hold some). */
static json_t *logs_json(const cf_prediction *p)
{
    json_t *j = cf_text_json(p->logs ? p->logs : "", p->logs ? p->logs_len : 0);
    return j ? j : json_string("");
}

static json_t *output_json(const cf_prediction *p)
{
    return p->output ? json_incref(p->output) : json_null();
}

json_t *cf_prediction_to_json(const cf_prediction *p)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    /* constant keys: no UTF-8 check per key and response */
    json_object_set_new_nocheck(o, "input", p->input_echo ? json_incref(p->input_echo) : json_object());
    json_object_set_new_nocheck(o, "output", output_json(p));
    json_object_set_new_nocheck(o, "id", json_string(p->id));
    json_object_set_new_nocheck(o, "version", json_null());
    json_object_set_new_nocheck(o, "created_at", string_or_null(p->created_at));
    json_object_set_new_nocheck(o, "started_at", time_or_null(p->started_at));
    json_object_set_new_nocheck(o, "completed_at", time_or_null(p->completed_at));
    json_object_set_new_nocheck(o, "logs", logs_json(p));
    json_object_set_new_nocheck(o, "error", string_or_null(p->error));
    json_object_set_new_nocheck(o, "status", json_string(cf_status_name(p->status)));
    json_t *m = metrics_json(p);
    json_object_set_new_nocheck(o, "metrics", m ? m : json_null());
    return o;
}

json_t *cf_prediction_to_webhook_json(const cf_prediction *p)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "input", p->input_echo ? json_incref(p->input_echo) : json_object());
    json_object_set_new(o, "output", output_json(p));
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "created_at", string_or_null(p->created_at));
    if (p->started_at > 0)
        json_object_set_new(o, "started_at", time_or_null(p->started_at));
    if (p->completed_at > 0)
        json_object_set_new(o, "completed_at", time_or_null(p->completed_at));
    json_object_set_new(o, "logs", logs_json(p));
    if (p->error)
        json_object_set_new(o, "error", json_string(p->error));
    json_object_set_new(o, "status", json_string(cf_status_name(p->status)));
    json_t *m = metrics_json(p);
    if (m)
        json_object_set_new(o, "metrics", m);
    return o;
}

void cf_prediction_generate_id(char *buf, size_t len)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    /* The kernel's random bytes, taken 40 ids at a time per thread: one
     * getrandom call per prediction was one system call in twenty. */
    static _Thread_local unsigned char pool[26 * 40];
    static _Thread_local size_t used = sizeof pool;
    unsigned char rnd[26];
    if (used == sizeof pool) {
        if (getrandom(pool, sizeof pool, 0) == (ssize_t)sizeof pool) {
            used = 0;
        } else {
            /* getrandom only fails before the pool is ready; fall back to time. */
            double t = cf_monotonic();
            for (size_t i = 0; i < sizeof rnd; i++)
                pool[sizeof pool - sizeof rnd + i] = (unsigned char)((long long)(t * 1e9) >> (i % 8));
            used = sizeof pool - sizeof rnd;
        }
    }
    memcpy(rnd, pool + used, sizeof rnd);
    memset(pool + used, 0, sizeof rnd); /* an id's bytes are not kept once used */
    used += sizeof rnd;
    char id[32] = "pred_";
    for (size_t i = 0; i < 26; i++)
        id[5 + i] = alphabet[rnd[i] & 31];
    id[31] = '\0';
    cf_strcopy(buf, len, id);
}
