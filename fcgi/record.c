/* record.c - the record table: phases, one id index, events, byte budget, recovery. */
#include "record_int.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "strcopy.h"

static const char interrupted_msg[] =
    "the prediction was interrupted: cog-fcgi stopped while it ran";
static const char secrets_msg[] =
    "the prediction was interrupted and its secret inputs were not persisted";

/* ---- the index ----------------------------------------------------------- */

entry *cf_rec_find(const cf_records *rs, const char *id)
{
    for (entry *e = rs->buckets[cf_hash_string(id) % rs->nbuckets]; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static void grow_index(cf_records *rs)
{
    size_t n = rs->nbuckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < rs->nbuckets; i++) {
        for (entry *e = rs->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = cf_hash_string(e->id) % n;
            e->next = b[k];
            b[k] = e;
        }
    }
    free(rs->buckets);
    rs->buckets = b;
    rs->nbuckets = n;
}

static entry *add_entry(cf_records *rs, const char *id)
{
    if (rs->count >= 2 * rs->nbuckets)
        grow_index(rs);
    entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    cf_strcopy(e->id, sizeof e->id, id);
    size_t k = cf_hash_string(id) % rs->nbuckets;
    e->next = rs->buckets[k];
    rs->buckets[k] = e;
    rs->count++;
    return e;
}

static void list_unlink(entry *e)
{
    entry_list *l = e->on;
    if (e->older)
        e->older->newer = e->newer;
    else
        l->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        l->newest = e->older;
    e->older = e->newer = NULL;
    e->on = NULL;
}

static void list_append(entry_list *l, entry *e)
{
    e->older = l->newest;
    e->newer = NULL;
    if (l->newest)
        l->newest->newer = e;
    else
        l->oldest = e;
    l->newest = e;
    e->on = l;
}

/* Moves e, finished, to the end of list l. */
static void move_to(cf_records *rs, entry *e, entry_list *l)
{
    if (e->on == &rs->leaving)
        rs->leaving_bytes -= e->bytes - STUB_BYTES;
    list_unlink(e);
    list_append(l, e);
    if (l == &rs->leaving)
        rs->leaving_bytes += e->bytes - STUB_BYTES;
}

static void unlink_finished(cf_records *rs, entry *e)
{
    if (e->on == NULL)
        return;
    if (e->on == &rs->leaving)
        rs->leaving_bytes -= e->bytes - STUB_BYTES;
    list_unlink(e);
    rs->nfinished--;
    rs->bytes -= e->bytes;
    e->bytes = 0;
}

/* Appends e, just finished, to the bodies and counts its bytes. */
static size_t record_bytes(const cf_prediction *p);
static void link_finished(cf_records *rs, entry *e)
{
    e->bytes = STUB_BYTES + record_bytes(e->p);
    rs->bytes += e->bytes;
    rs->nfinished++;
    list_append(&rs->bodies, e);
}

/* Drops e from the index (not from the saver's queue: the caller checks). */
void cf_rec_drop(cf_records *rs, entry *e)
{
    unlink_finished(rs, e);
    if (e->spilled.seg)
        cf_rec_add_job(rs, NULL, &e->spilled, NULL);
    for (entry **pp = &rs->buckets[cf_hash_string(e->id) % rs->nbuckets]; *pp;
         pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    rs->count--;
    cf_prediction_decref(e->p);
    free(e);
}

/* ---- bytes ------------------------------------------------------------------ */

/* What a JSON value costs in memory, close to what jansson and malloc take
 * (measured on glibc: a string is its struct and its copy, an object its
 * hashtable and one allocated pair per member). Singletons cost nothing. */
static size_t json_bytes(const json_t *j)
{
    const char *key;
    json_t *v;
    size_t i, n;
    switch (json_typeof(j)) {
    case JSON_STRING: return 64 + json_string_length(j);
    case JSON_INTEGER:
    case JSON_REAL: return 48;
    case JSON_OBJECT:
        n = 192;
        json_object_foreach((json_t *)j, key, v) n += 80 + strlen(key) + json_bytes(v);
        return n;
    case JSON_ARRAY:
        n = 80 + 8 * json_array_size(j);
        json_array_foreach(j, i, v) n += json_bytes(v);
        return n;
    default: return 0;
    }
}

static size_t record_bytes(const cf_prediction *p)
{
    size_t n = sizeof *p + 64 + p->logs_cap;
    const json_t *values[] = {p->input_echo, p->input_worker, p->kinds, p->context,
                              p->output,     p->metrics,      p->eventlog};
    const char *strings[] = {p->created_at, p->error,      p->webhook,      p->traceparent,
                             p->tracestate, p->upload_prefix};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if (values[i])
            n += json_bytes(values[i]);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (strings[i])
            n += 32 + strlen(strings[i]);
    return n;
}

/* ---- dirty records ------------------------------------------------------------ */

/* Appends e to the saver's queue (once). */
static void enqueue(cf_records *rs, entry *e)
{
    e->queued = 1;
    e->dirty_next = NULL;
    if (rs->dirty_tail)
        rs->dirty_tail->dirty_next = e;
    else
        rs->dirty_head = e;
    rs->dirty_tail = e;
}

void cf_rec_queue_save(cf_records *rs, entry *e)
{
    if (e->queued)
        return;
    enqueue(rs, e);
    pthread_cond_signal(&rs->saver_cond);
}

/* Queues e to be written before it leaves memory. Nothing waits for such
 * a write, so the saver is woken once per batch (an eighth of the budget,
 * at most 1 MiB; else its one-second tick takes them) instead of once per
 * prediction: at thousands a second each wake costs more than the write. */
static void queue_spill(cf_records *rs, entry *e)
{
    if (e->queued)
        return;
    enqueue(rs, e);
    size_t batch = rs->cfg.keep_bytes / 8 < (1u << 20) ? rs->cfg.keep_bytes / 8 : (1u << 20);
    if (rs->leaving_bytes >= batch)
        pthread_cond_signal(&rs->saver_cond);
}

/* p changed: persistent records are saved again. */
static void changed(cf_records *rs, cf_prediction *p)
{
    entry *e = cf_rec_find(rs, p->id);
    if (e == NULL || e->p != p)
        return;
    e->version++;
    if (e->persistent)
        cf_rec_queue_save(rs, e);
}

/* Keeps the finished records in memory within the budget: the oldest whose
 * final state is in a file leave memory; those not in a file yet are
 * written first (spilled); if stubs alone are over it, the oldest
 * delivered ones are forgotten. Lock held. */
/* e's body leaves memory: only its file has it now. */
static void to_stub(cf_records *rs, entry *e)
{
    move_to(rs, e, &rs->stubs);
    rs->bytes -= e->bytes - STUB_BYTES;
    e->bytes = STUB_BYTES;
    cf_prediction_decref(e->p);
    e->p = NULL;
}

static int in_file(const entry *e)
{
    return e->saved_once && e->written == e->version && !e->queued;
}

void cf_rec_enforce_budget(cf_records *rs)
{
    entry *e;
    while (rs->bytes - rs->leaving_bytes > rs->cfg.keep_bytes && (e = rs->bodies.oldest)) {
        if (in_file(e)) {
            to_stub(rs, e);
        } else {
            move_to(rs, e, &rs->leaving); /* leaves once the saver wrote it */
            queue_spill(rs, e);
        }
    }
    for (entry *next; (e = rs->stubs.oldest) && rs->nfinished * STUB_BYTES > rs->cfg.keep_bytes;
         e = next) {
        next = e->newer;
        if (e->phase != CF_PHASE_DELIVERED || e->queued)
            break; /* its webhook is still owed: the next finish tries again */
        if (e->persistent)
            cf_rec_add_job(rs, e->id, NULL, NULL);
        cf_rec_drop(rs, e);
    }
}

void cf_rec_written(cf_records *rs, entry *e)
{
    if (e->on == &rs->leaving && in_file(e))
        to_stub(rs, e);
}

/* ---- verbs ------------------------------------------------------------------- */

/* The events without fields are the same every time: one object each,
 * shared by every record (events are never changed, and jansson's counts
 * are atomic). */
static json_t *start_event, *completed_event;
static pthread_once_t constant_events_once = PTHREAD_ONCE_INIT;

static void make_constant_events(void)
{
    start_event = json_pack("{s:s}", "type", "start");
    completed_event = json_pack("{s:s}", "type", "completed");
}

/* A new reference to *which, or NULL when out of memory. */
static json_t *constant_event(json_t **which)
{
    pthread_once(&constant_events_once, make_constant_events);
    return *which ? json_incref(*which) : NULL;
}

static void add_event(cf_prediction *p, json_t *event)
{
    if (p->eventlog == NULL)
        p->eventlog = json_array();
    json_array_append_new(p->eventlog, event);
    pthread_cond_broadcast(&p->done_cond); /* streams read the events (record_stream.h) */
}

int cf_records_accept(cf_records *rs, cf_prediction *p)
{
    assert(p->phase == CF_PHASE_NEW);
    entry *e = cf_rec_find(rs, p->id);
    if (e && e->queued) {
        /* still being written: keep the entry, replace what it holds */
        unlink_finished(rs, e);
        cf_prediction_decref(e->p);
        e->p = NULL;
    } else if (e) {
        cf_rec_drop(rs, e);
        e = NULL;
    }
    if (e == NULL && (e = add_entry(rs, p->id)) == NULL)
        return CF_ENOMEM;
    if (p->seq == 0)
        p->seq = ++rs->next_seq;
    cf_prediction_incref(p);
    e->p = p;
    e->seq = p->seq;
    e->persistent = rs->cfg.state != NULL && p->is_async;
    e->saved_once = e->saved_once || p->saved_new;
    e->version = e->written = 0;
    e->failing = 0;
    p->phase = e->phase = CF_PHASE_QUEUED;
    return CF_OK;
}

void cf_records_prepared(cf_records *rs, cf_prediction *p, json_t *input_worker, char *tempdir)
{
    assert(p->phase == CF_PHASE_QUEUED);
    json_decref(p->input_worker);
    p->input_worker = input_worker;
    free(p->tempdir);
    p->tempdir = tempdir;
    (void)rs; /* saved with start, which comes next */
}

void cf_records_start(cf_records *rs, cf_prediction *p)
{
    assert(p->phase == CF_PHASE_QUEUED);
    p->phase = CF_PHASE_RUNNING;
    p->started_at = cf_now();
    add_event(p, constant_event(&start_event));
    entry *e = cf_rec_find(rs, p->id);
    if (e && e->p == p)
        e->phase = p->phase;
    changed(rs, p);
}

void cf_records_output(cf_records *rs, cf_prediction *p, json_t *item)
{
    assert(p->phase == CF_PHASE_RUNNING);
    /* copy on write: a snapshot being sent keeps the array it took */
    json_t *grown = json_is_array(p->output) ? json_copy(p->output) : json_array();
    if (grown == NULL || item == NULL) {
        json_decref(grown);
        json_decref(item);
        return;
    }
    json_array_append(grown, item);
    json_decref(p->output);
    p->output = grown;
    p->output_is_iterator = 1;
    add_event(p, json_pack("{s:s, s:o}", "type", "output", "item", item));
    (void)rs; /* saved at the end: an output item is not worth an fsync */
}

void cf_records_set_output(cf_records *rs, cf_prediction *p, json_t *output)
{
    assert(p->phase == CF_PHASE_RUNNING);
    json_decref(p->output);
    p->output = output && !json_is_null(output) ? output : NULL;
    if (output && p->output == NULL)
        json_decref(output);
    (void)rs;
}

/* Appends text to p's logs as UTF-8 (what is not becomes U+FFFD) and
 * records the event. A sequence that the end of text cuts short waits in
 * p->log_carry for the next chunk; flush says there is none. */
static void append_log(cf_prediction *p, const char *text, size_t len, int flush)
{
    size_t total = p->log_carry_len + len;
    char stack[4096];
    char *in = total + 3 * total <= sizeof stack ? stack : malloc(4 * total);
    if (in == NULL || total == 0) {
        if (in != stack)
            free(in);
        return;
    }
    char *clean = in + total;
    memcpy(in, p->log_carry, p->log_carry_len);
    memcpy(in + p->log_carry_len, text, len);
    size_t kept = 0;
    size_t n = cf_text_clean(in, total, clean, flush ? NULL : &kept);
    memcpy(p->log_carry, in + total - kept, kept);
    p->log_carry_len = kept;
    size_t offset = p->logs_len;
    if (n > 0 && cf_prediction_append_logs(p, clean, n) == CF_OK)
        add_event(p, json_pack("{s:s, s:I, s:I}", "type", "log", "offset", (json_int_t)offset,
                               "length", (json_int_t)n));
    if (in != stack)
        free(in);
}

void cf_records_log(cf_records *rs, cf_prediction *p, const char *text, size_t len)
{
    assert(p->phase == CF_PHASE_QUEUED || p->phase == CF_PHASE_RUNNING);
    append_log(p, text, len, 0);
    (void)rs;
}

void cf_records_metric(cf_records *rs, cf_prediction *p, const char *name, json_t *value)
{
    assert(p->phase == CF_PHASE_RUNNING);
    json_t *m = p->metrics ? json_copy(p->metrics) : json_object();
    if (m == NULL || value == NULL) {
        json_decref(m);
        json_decref(value);
        return;
    }
    json_object_set(m, name, value);
    json_decref(p->metrics);
    p->metrics = m;
    add_event(p, json_pack("{s:s, s:s, s:o}", "type", "metric", "name", name, "value", value));
    (void)rs;
}

int cf_records_finish(cf_records *rs, cf_prediction *p, cf_status status, const char *error)
{
    assert(p->phase == CF_PHASE_QUEUED || p->phase == CF_PHASE_RUNNING);
    append_log(p, "", 0, 1); /* a sequence cut by the end of the run */
    p->status = status;
    p->completed_at = cf_now();
    if (error)
        cf_prediction_set_error(p, error);
    if (p->output_is_iterator && p->output == NULL)
        p->output = json_array();
    int owed = p->webhook != NULL && (p->events & CF_EVENT_COMPLETED);
    p->terminal_webhook_pending = owed;
    p->phase = owed ? CF_PHASE_FINISHED : CF_PHASE_DELIVERED;
    add_event(p, constant_event(&completed_event));
    /* the worker's copy of the input is not needed any more */
    json_decref(p->input_worker);
    p->input_worker = NULL;
    pthread_cond_broadcast(&p->done_cond);
    char *tempdir = p->tempdir;
    p->tempdir = NULL;
    if (tempdir) {
        cf_rec_add_job(rs, NULL, 0, tempdir);
        free(tempdir);
    }
    entry *e = cf_rec_find(rs, p->id);
    if (e == NULL || e->p != p)
        return owed;
    e->phase = p->phase;
    e->completed_at = p->completed_at;
    link_finished(rs, e);
    changed(rs, p);
    cf_rec_enforce_budget(rs);
    /* A persisted record's completed webhook waits until its final state
     * is on disk (the saver calls durable): a receiver that has it never
     * sees the prediction come back "interrupted" after a crash. */
    return owed && !e->persistent;
}

void cf_records_webhook_delivered(cf_records *rs, cf_prediction *p)
{
    if (p->phase != CF_PHASE_FINISHED)
        return; /* replaced by a re-run with the same id meanwhile */
    p->phase = CF_PHASE_DELIVERED;
    p->terminal_webhook_pending = 0;
    entry *e = cf_rec_find(rs, p->id);
    if (e && e->p == NULL && e->phase == CF_PHASE_FINISHED) {
        /* it left memory while its webhook was on the way (p is the
         * sender's reference to the same record): back in, to be saved */
        cf_prediction_incref(p);
        e->p = p;
        size_t body = record_bytes(p);
        e->bytes += body;
        rs->bytes += body;
        move_to(rs, e, &rs->bodies);
    }
    if (e && e->p == p)
        e->phase = p->phase;
    changed(rs, p);
}

void cf_records_touch(cf_records *rs, cf_prediction *p)
{
    changed(rs, p);
}

/* ---- finding --------------------------------------------------------------- */

cf_prediction *cf_records_get(cf_records *rs, const char *id)
{
    entry *e = cf_rec_find(rs, id);
    return e ? e->p : NULL;
}

cf_prediction *cf_records_find(cf_records *rs, const char *id)
{
    pthread_mutex_lock(rs->cfg.lock);
    entry *e = cf_rec_find(rs, id);
    cf_prediction *p = e ? e->p : NULL;
    int persistent = e ? e->persistent : 0;
    cf_spill_loc spilled = e ? e->spilled : (cf_spill_loc){0};
    if (p)
        cf_prediction_incref(p);
    pthread_mutex_unlock(rs->cfg.lock);
    if (p || e == NULL)
        return p;
    /* only a file has it now: read a copy back */
    if (persistent) {
        p = cf_state_load(rs->cfg.state, id);
    } else {
        size_t len = 0;
        char *text = cf_spill_read(rs->spill, &spilled, &len);
        p = text ? cf_state_parse(text, len, id) : NULL;
        free(text);
    }
    if (p && !cf_prediction_is_terminal(p)) {
        cf_prediction_decref(p);
        p = NULL;
    }
    if (p)
        p->phase = p->terminal_webhook_pending ? CF_PHASE_FINISHED : CF_PHASE_DELIVERED;
    return p;
}

size_t cf_records_bytes(const cf_records *rs) { return rs->bytes; }
size_t cf_records_count(const cf_records *rs) { return rs->count; }

/* ---- recovery ------------------------------------------------------------------ */

static int push(cf_prediction ***list, size_t *n, cf_prediction *p)
{
    cf_prediction **grown = realloc(*list, (*n + 1) * sizeof **list);
    if (grown == NULL)
        return CF_ENOMEM;
    *list = grown;
    cf_prediction_incref(p);
    grown[(*n)++] = p;
    return CF_OK;
}

int cf_records_recover(cf_records *rs, cf_prediction ***queued, size_t *nqueued,
                       cf_prediction ***owed, size_t *nowed, cf_error *err)
{
    cf_state_loaded *list = NULL;
    size_t n = 0;
    *queued = *owed = NULL;
    *nqueued = *nowed = 0;
    if (rs->cfg.state == NULL)
        return CF_OK;
    int rc = cf_state_load_all(rs->cfg.state, &list, &n, err); /* the files: no lock */
    if (rc != CF_OK)
        return rc;
    pthread_mutex_lock(rs->cfg.lock);
    for (size_t i = 0; i < n; i++) {
        cf_prediction *p = list[i].p;
        p->is_async = 1;
        p->saved_new = 1;
        if (p->seq == 0)
            p->seq = list[i].seq;
        if (list[i].seq > rs->next_seq)
            rs->next_seq = list[i].seq;
        int terminal = cf_prediction_is_terminal(p);
        if (rc == CF_OK && cf_records_accept(rs, p) != CF_OK)
            rc = cf_error_set(err, CF_ENOMEM, "out of memory recovering predictions");
        if (rc != CF_OK)
            continue;
        if (terminal) {
            /* finished before the restart: back as it was, not finished again */
            entry *e = cf_rec_find(rs, p->id);
            p->phase = e->phase =
                p->terminal_webhook_pending ? CF_PHASE_FINISHED : CF_PHASE_DELIVERED;
            e->completed_at = p->completed_at;
            link_finished(rs, e);
            if (p->terminal_webhook_pending && push(owed, nowed, p) != CF_OK)
                rc = cf_error_set(err, CF_ENOMEM, "out of memory recovering predictions");
        } else if (list[i].running) {
            /* it enters the phase its file says, then ends as a crash does */
            p->phase = cf_rec_find(rs, p->id)->phase = CF_PHASE_RUNNING;
            cf_log_warn("CF0404", "prediction %s was running before the restart: now %s", p->id,
                        p->cancel_requested ? "canceled" : "failed");
            if (p->cancel_requested)
                cf_records_finish(rs, p, CF_STATUS_CANCELED, NULL);
            else
                cf_records_finish(rs, p, CF_STATUS_FAILED, interrupted_msg);
        } else if (list[i].omitted) {
            cf_log_warn("CF0404", "prediction %s was queued with secret inputs: now failed",
                        p->id);
            cf_records_finish(rs, p, CF_STATUS_FAILED, secrets_msg);
        } else if (push(queued, nqueued, p) != CF_OK) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory recovering predictions");
        }
    }
    cf_rec_enforce_budget(rs);
    pthread_mutex_unlock(rs->cfg.lock);
    for (size_t i = 0; i < n; i++)
        cf_prediction_decref(list[i].p);
    free(list);
    return rc;
}

