/* record.h - a prediction's life, from accept to finish and webhook_delivered.
 *
 * The record table owns every prediction the front knows: one id index,
 * the transitions, what is kept in memory (a byte budget) and on disk (the
 * state directory for async predictions, a spill directory for the rest),
 * and for how long (an age). Nothing else writes a record's fields.
 *
 * The phases of a record (p->phase), and the verbs that move it:
 *
 *                 accept          start            finish
 *    (new) ----------------> QUEUED ------> RUNNING ------> FINISHED
 *                               |                              |   \
 *                               +--------- finish ------------>+    | webhook_delivered
 *                                 (canceled, deadline, stop)        v
 *                                                              DELIVERED
 *
 *   QUEUED     accepted: the 202 went out (async) or its client waits (sync);
 *              the worker does not have it yet. started_at is unset.
 *   RUNNING    the worker has it: started_at set. output, log and metric
 *              add to it, in the order the worker sent them.
 *   FINISHED   a terminal status; its completed webhook is still owed.
 *   DELIVERED  terminal, nothing owed. finish goes straight here when no
 *              completed webhook was asked for.
 *
 * Each verb asserts the phase it leaves. Crash recovery uses the same verbs:
 * a record that was RUNNING (or QUEUED with secret inputs that were not
 * persisted) is finished failed by cf_records_finish, as a worker crash is.
 *
 * Events. Every record keeps the ordered list of what happened to it
 * (p->eventlog, a JSON array): {"type":"start"}, {"type":"output","item":..},
 * {"type":"log","offset":O,"length":N} (bytes of p->logs), {"type":"metric",
 * "name":..,"value":..} and {"type":"completed"}. The response, the poll and
 * the webhooks are views of the same record; streams read the events.
 *
 * Locking. Verbs run with the owner's lock held (the runner's, passed to
 * cf_records_new) and never touch the disk or encode anything: a change
 * that must be saved marks the record dirty and the table's saver thread
 * writes it, without the lock, retrying a save that failed (full disk)
 * every second until it works. Values a verb replaces are replaced, never
 * changed in place (output arrays and metrics are copied on write), so a
 * snapshot taken under the lock can be written or sent after it is dropped.
 *
 * Memory. A finished record counts its bytes (inputs, output, logs, events).
 * When the finished records in memory exceed keep_bytes, the oldest whose
 * final state is in a file are dropped from memory; the index keeps a stub
 * (~200 bytes) and cf_records_find reads the file back. Records older than
 * keep_seconds are forgotten, their files removed. In-flight records are
 * bounded by the queue (--queue) times the request body limit.
 */
#ifndef CF_RECORD_H
#define CF_RECORD_H

#include <pthread.h>
#include <stddef.h>

#include "error.h"
#include "prediction.h"
#include "state.h"

typedef struct cf_records cf_records;

typedef struct cf_records_config {
    pthread_mutex_t *lock;  /* the owner's lock: held around every verb */
    cf_state *state;        /* async predictions persist here, or NULL */
    const char *spill_dir;  /* where finished records spill; NULL = a private temp dir */
    size_t keep_bytes;      /* memory budget of finished records */
    double keep_seconds;    /* finished records are forgotten after this */
} cf_records_config;

/* Creates the table and starts its saver thread. NULL with err set. */
cf_records *cf_records_new(const cf_records_config *cfg, cf_error *err);
/* Writes what is still dirty (one try each), stops the saver and frees
 * every record it holds. NULL is a no-op. Lock not held. */
void cf_records_free(cf_records *rs);

/* Saves p, which nobody else sees yet, in the state directory before it is
 * accepted (the 202 promises it survives a crash). Lock NOT held: this is
 * the one verb that writes itself. CF_EUNAVAIL ("state directory
 * unavailable"; the path only in the log) when the disk refuses it. */
int cf_records_persist_new(cf_records *rs, cf_prediction *p, cf_error *err);
/* Forgets the file of a record persist_new saved but that was not accepted
 * after all. Lock not held. */
void cf_records_unpersist(cf_records *rs, cf_prediction *p);

/* (new) -> QUEUED. The table takes its own reference. A finished record
 * with the same id is replaced. 0 or CF_ENOMEM. */
int cf_records_accept(cf_records *rs, cf_prediction *p);
/* QUEUED: its file inputs are local now: input_worker (stolen) holds their
 * paths, under tempdir (stolen, malloc'd). */
void cf_records_prepared(cf_records *rs, cf_prediction *p, json_t *input_worker, char *tempdir);
/* QUEUED -> RUNNING: started_at = now. */
void cf_records_start(cf_records *rs, cf_prediction *p);
/* RUNNING: one yielded output item (stolen). */
void cf_records_output(cf_records *rs, cf_prediction *p, json_t *item);
/* RUNNING (or QUEUED: a cancel's message): len bytes the model printed.
 * Bytes that are not UTF-8 become U+FFFD. */
void cf_records_log(cf_records *rs, cf_prediction *p, const char *text, size_t len);
/* RUNNING: a custom metric (value stolen). */
void cf_records_metric(cf_records *rs, cf_prediction *p, const char *name, json_t *value);
/* RUNNING: the final output of a non-iterator prediction (stolen, NULL = null). */
void cf_records_set_output(cf_records *rs, cf_prediction *p, json_t *output);
/* QUEUED|RUNNING -> FINISHED (or DELIVERED when no completed webhook is
 * owed): status, error (copied, NULL = keep), completed_at, waiters woken.
 * Returns 1 when a completed webhook is owed (the caller sends it). */
int cf_records_finish(cf_records *rs, cf_prediction *p, cf_status status, const char *error);
/* FINISHED -> DELIVERED: the receiver took the completed webhook, or it
 * was given up. */
void cf_records_webhook_delivered(cf_records *rs, cf_prediction *p);
/* Marks p dirty, to be saved again (a cancel request, say). */
void cf_records_touch(cf_records *rs, cf_prediction *p);

/* A record by id with a new reference, or NULL. A record that is only in
 * a file is read back (a copy, not kept). Lock NOT held: takes it. */
cf_prediction *cf_records_find(cf_records *rs, const char *id);
/* A record by id, borrowed, only when it is in memory. Lock held. */
cf_prediction *cf_records_get(cf_records *rs, const char *id);

/* Loads the state directory, finishing what was running (and queued
 * records whose secrets were not kept) with the same finish verb. *queued
 * receives a new array of the records to run again in arrival order (new
 * references), *owed those whose completed webhook is still owed (new
 * references). Lock NOT held: the files are read first, then the lock is
 * taken for the verbs. Before any worker runs. */
int cf_records_recover(cf_records *rs, cf_prediction ***queued, size_t *nqueued,
                       cf_prediction ***owed, size_t *nowed, cf_error *err);

/* fn(ctx, p) is called, lock held, once the finished state of a persisted
 * record whose completed webhook is owed is on disk. */
void cf_records_on_durable(cf_records *rs, void (*fn)(void *ctx, cf_prediction *p), void *ctx);

/* Bytes of finished records in memory, and records indexed. Lock held. */
size_t cf_records_bytes(const cf_records *rs);
size_t cf_records_count(const cf_records *rs);

/* Waits until every dirty record was written (or failed once). Lock not
 * held. For tests and shutdown. */
void cf_records_flush(cf_records *rs);

#endif
