/* record_stream.c - readers of a record's event log, as Cog's or Replicate's event stream. */
#include "record_stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json_out.h"
#include "log.h"
#include "sse.h"

/* ---- subscribers ------------------------------------------------------- */

/* Who streams which record. Keyed by the record itself: every stream holds
 * a reference, so an entry's record outlives it. Few entries (one per
 * streamed record), a list is enough. */
typedef struct sub {
    struct sub *next;
    cf_prediction *p;
    int count;
    int created; /* a stream created the record */
} sub;

static pthread_mutex_t subs_lock = PTHREAD_MUTEX_INITIALIZER;
static sub *subs;

static sub **find_sub(cf_prediction *p)
{
    sub **pp = &subs;
    while (*pp && (*pp)->p != p)
        pp = &(*pp)->next;
    return pp;
}

/* Counts one more subscriber of p. 0, CF_EBUSY past the limit, CF_ENOMEM. */
static int subscribe(cf_prediction *p, int creator)
{
    int rc = CF_OK;
    pthread_mutex_lock(&subs_lock);
    sub **pp = find_sub(p);
    if (*pp == NULL && (*pp = calloc(1, sizeof **pp)) != NULL)
        (*pp)->p = p;
    if (*pp == NULL)
        rc = CF_ENOMEM;
    else if ((*pp)->count >= CF_STREAM_MAX_SUBSCRIBERS)
        rc = CF_EBUSY;
    else {
        (*pp)->count++;
        (*pp)->created |= creator;
    }
    pthread_mutex_unlock(&subs_lock);
    return rc;
}

/* Counts one subscriber less. Returns 1 when it was the last one of a
 * record that a stream created. */
static int unsubscribe(cf_prediction *p)
{
    int last_of_created = 0;
    pthread_mutex_lock(&subs_lock);
    sub **pp = find_sub(p);
    if (*pp && --(*pp)->count == 0) {
        sub *gone = *pp;
        last_of_created = gone->created;
        *pp = gone->next;
        free(gone);
    }
    pthread_mutex_unlock(&subs_lock);
    return last_of_created;
}

size_t cf_stream_history_capacity(void)
{
    const char *env = getenv("COG_STREAM_HISTORY_CAPACITY");
    if (env && *env) {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (*end == '\0' && v >= 0)
            return (size_t)v;
    }
    return 1024;
}

/* ---- the events -------------------------------------------------------- */

/* The events a terminal record had, from its fields: what a record read
 * back from its file (which keeps no event log) streams. New reference. */
static json_t *events_from_fields(const cf_prediction *p)
{
    json_t *ev = json_array();
    if (ev == NULL)
        return NULL;
    if (p->started_at > 0)
        json_array_append_new(ev, json_pack("{s:s}", "type", "start"));
    if (p->output_is_iterator && json_is_array(p->output)) {
        size_t i;
        json_t *item;
        json_array_foreach(p->output, i, item)
            json_array_append_new(ev, json_pack("{s:s, s:O}", "type", "output", "item", item));
    }
    if (p->logs_len > 0)
        json_array_append_new(ev, json_pack("{s:s, s:I, s:I}", "type", "log", "offset",
                                            (json_int_t)0, "length", (json_int_t)p->logs_len));
    if (json_is_object(p->metrics)) {
        const char *name;
        json_t *v;
        json_object_foreach(p->metrics, name, v)
            json_array_append_new(ev, json_pack("{s:s, s:s, s:O}", "type", "metric", "name", name,
                                                "value", v));
    }
    json_array_append_new(ev, json_pack("{s:s}", "type", "completed"));
    return ev;
}

/* The log the stream reads. Lock held. Borrowed. */
static const json_t *event_log(const cf_stream *s)
{
    return s->synth ? s->synth : s->p->eventlog;
}

/* A growing buffer of SSE text. */
typedef struct out_buf {
    char *text;
    size_t len, cap;
    int oom;
} out_buf;

static void buf_add_event(out_buf *b, const char *id, const char *name, const char *data,
                          size_t data_len)
{
    size_t n;
    char *ev = data ? cf_sse_format(id, name, data, data_len, &n) : NULL;
    if (ev == NULL) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->text, cap);
        if (grown == NULL) {
            free(ev);
            b->oom = 1;
            return;
        }
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, ev, n + 1);
    b->len += n;
    free(ev);
}

/* Adds an event whose data is JSON (v stolen). */
static void buf_add_json(out_buf *b, const char *id, const char *name, json_t *v)
{
    char *data = v ? cf_json_dumps(v) : NULL;
    json_decref(v);
    buf_add_event(b, id, name, data, data ? strlen(data) : 0);
    free(data);
}

/* Renders event number i (0-based) of the log. Lock held. Returns 1 when it
 * was the last event (completed). */
static int render(cf_stream *s, const json_t *event, size_t i, out_buf *b)
{
    const cf_prediction *p = s->p;
    const char *type = json_string_value(json_object_get(event, "type"));
    char id[32];
    snprintf(id, sizeof id, "%zu", i + 1);
    int cog = s->format == CF_STREAM_COG;
    if (type == NULL)
        return 0;
    if (strcmp(type, "start") == 0) {
        if (cog)
            buf_add_json(b, NULL, "start",
                         json_pack("{s:s, s:s}", "id", p->id, "status", "processing"));
    } else if (strcmp(type, "output") == 0) {
        json_t *item = json_object_get(event, "item");
        if (cog) {
            buf_add_json(b, NULL, "output",
                         json_pack("{s:O?, s:I}", "chunk", item, "index", (json_int_t)s->out_index));
        } else if (json_is_string(item)) {
            buf_add_event(b, id, "output", json_string_value(item), json_string_length(item));
        } else {
            buf_add_json(b, id, "output", json_incref(item ? item : json_null()));
        }
        s->out_index++;
    } else if (strcmp(type, "log") == 0) {
        size_t off = (size_t)json_integer_value(json_object_get(event, "offset"));
        size_t len = (size_t)json_integer_value(json_object_get(event, "length"));
        if (off > p->logs_len || len > p->logs_len - off)
            return 0;
        if (cog)
            buf_add_json(b, NULL, "log",
                         json_pack("{s:s, s:s%}", "source", "stdout", "data", p->logs + off, len));
        else
            buf_add_event(b, id, "logs", p->logs + off, len);
    } else if (strcmp(type, "metric") == 0) {
        if (cog)
            buf_add_json(b, NULL, "metric",
                         json_pack("{s:O?, s:O?, s:s}", "name", json_object_get(event, "name"),
                                   "value", json_object_get(event, "value"), "mode", "replace"));
    } else if (strcmp(type, "completed") == 0) {
        if (cog) {
            buf_add_json(b, NULL, "completed", cf_prediction_to_json(p));
        } else if (p->status == CF_STATUS_FAILED) {
            buf_add_json(b, id, "error",
                         json_pack("{s:s}", "detail", p->error ? p->error : "prediction failed"));
            buf_add_json(b, id, "done", json_pack("{s:s}", "reason", "error"));
        } else if (p->status == CF_STATUS_CANCELED) {
            buf_add_json(b, id, "done", json_pack("{s:s}", "reason", "canceled"));
        } else {
            buf_add_json(b, id, "done", json_object());
        }
        return 1;
    }
    return 0;
}

/* ---- the stream --------------------------------------------------------- */

void cf_stream_start_locked(cf_stream *s, cf_prediction *p, cf_stream_format format, int replay,
                            size_t history, long long resume_after)
{
    s->p = p;
    s->format = format;
    const json_t *first = json_array_get(p->eventlog, 0);
    const char *first_type = json_string_value(json_object_get(first, "type"));
    if (cf_prediction_is_terminal(p) && (first_type == NULL || strcmp(first_type, "start") != 0))
        s->synth = events_from_fields(p);
    size_t total = json_array_size(event_log(s));
    if (format == CF_STREAM_REPLICATE) {
        s->next = resume_after < 0 ? 0 : (size_t)resume_after;
        if (s->next > total)
            s->next = total;
    } else if (!replay) {
        s->next = 0;
    } else if (history == 0) {
        s->next = total; /* replay off: from the live end */
        if (cf_prediction_is_terminal(p) && total > 0)
            s->next = total - 1; /* still say how it ended */
    } else if (total > history) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "{\"error\":\"SSE stream replay truncated; events were dropped\",\"skipped\":%zu}",
                 total - history);
        s->pending_error = strdup(msg);
        s->next = total;
    }
    /* Cog's index counts the output events before the cursor */
    for (size_t i = 0; i < s->next; i++) {
        const char *t = json_string_value(json_object_get(json_array_get(event_log(s), i), "type"));
        if (t && strcmp(t, "output") == 0)
            s->out_index++;
    }
}

int cf_stream_render_locked(cf_stream *s, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (s->ended)
        return -1;
    out_buf b = {0};
    if (s->pending_error) {
        buf_add_event(&b, NULL, "error", s->pending_error, strlen(s->pending_error));
        free(s->pending_error);
        s->pending_error = NULL;
        s->ended = 1;
    }
    const json_t *log = event_log(s);
    size_t total = json_array_size(log);
    while (s->next < total && !s->ended) {
        s->ended = render(s, json_array_get(log, s->next), s->next, &b);
        s->next++;
    }
    /* resumed past the end of a finished record: nothing more will come */
    if (!s->ended && s->next >= total && cf_prediction_is_terminal(s->p))
        s->ended = 1;
    if (b.oom) {
        free(b.text);
        cf_log_error("CF1001", "stream of %s: out of memory rendering events", s->p->id);
        s->ended = 1;
        return -1;
    }
    if (b.len == 0) {
        free(b.text);
        return s->ended ? -1 : 0;
    }
    *text = b.text;
    *len = b.len;
    return 1;
}

int cf_stream_open(cf_stream *s, cf_runner *r, cf_prediction *p, cf_stream_format format,
                   int replay, size_t history, long long resume_after, int creator)
{
    memset(s, 0, sizeof *s);
    int rc = subscribe(p, creator);
    if (rc != CF_OK)
        return rc;
    s->runner = r;
    s->subscribed = 1;
    s->creator = creator;
    cf_prediction_incref(p);
    cf_runner_lock(r);
    cf_stream_start_locked(s, p, format, replay, history, resume_after);
    cf_runner_unlock(r);
    return CF_OK;
}

int cf_stream_poll(cf_stream *s, double seconds, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (s->ended)
        return -1;
    cf_runner_lock(s->runner);
    if (s->pending_error == NULL && json_array_size(event_log(s)) <= s->next &&
        !cf_prediction_is_terminal(s->p))
        cf_runner_wait_change(s->runner, s->p, seconds);
    int rc = cf_stream_render_locked(s, text, len);
    cf_runner_unlock(s->runner);
    return rc;
}

void cf_stream_close(cf_stream *s)
{
    if (s->p == NULL)
        return;
    if (s->subscribed && unsubscribe(s->p) && s->runner) {
        cf_runner_lock(s->runner);
        int running = !cf_prediction_is_terminal(s->p);
        cf_runner_unlock(s->runner);
        if (running) {
            cf_log_info("CF1002", "last stream of %s went away: canceling it", s->p->id);
            cf_runner_cancel(s->runner, s->p->id);
        }
    }
    json_decref(s->synth);
    free(s->pending_error);
    if (s->subscribed)
        cf_prediction_decref(s->p); /* cf_stream_open's reference */
    memset(s, 0, sizeof *s);
}
