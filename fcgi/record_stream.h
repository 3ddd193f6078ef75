/* record_stream.h - one reader of a record's events, rendered as an event stream.
 *
 * Every record keeps its ordered event log (record.h): start, output items,
 * log chunks, metrics, completed. A stream is a cursor into that log that
 * renders what it has not sent yet as server-sent events, in one of two
 * formats:
 *
 *   CF_STREAM_COG        Cog 0.22's: start, output {"chunk","index"}, log,
 *                        metric, completed (the final prediction object).
 *                        No id: lines.
 *   CF_STREAM_REPLICATE  Replicate's stream URL: output (the text itself,
 *                        or JSON for anything else), logs, error {"detail"},
 *                        done ({} or {"reason": "canceled"|"error"}). Each
 *                        event has id: N, N the position after it in the
 *                        log, so a client that reconnects with
 *                        Last-Event-ID: N resumes after it.
 *
 * A terminal record whose log was not kept (it was read back from its file
 * after a restart or after it left memory) is streamed from its fields: its
 * start, its output items, its logs as one chunk, its metrics, completed.
 *
 * The record verbs wake the readers (record.c broadcasts p->done_cond with
 * every event). A stream counts as a subscriber of its record; a record
 * created by a stream request is canceled when its last subscriber leaves
 * before it ends (cf_stream_close).
 */
#ifndef CF_RECORD_STREAM_H
#define CF_RECORD_STREAM_H

#include <stddef.h>

#include "prediction.h"
#include "runner.h"

typedef enum cf_stream_format { CF_STREAM_COG, CF_STREAM_REPLICATE } cf_stream_format;

/* More subscribers than this on one record get 429, as Cog. */
#define CF_STREAM_MAX_SUBSCRIBERS 1024

typedef struct cf_stream {
    cf_runner *runner;
    cf_prediction *p;   /* a reference */
    cf_stream_format format;
    json_t *synth;      /* events built from the record's fields, or NULL */
    size_t next;        /* the next event to send */
    size_t out_index;   /* output events before next (Cog's "index") */
    int ended;          /* the last event went out */
    int subscribed;     /* counted in the subscriber table */
    int creator;        /* created p: canceling it is ours when the last one leaves */
    char *pending_error;/* Cog: replay was truncated; sent first, then the end */
} cf_stream;

/* Opens s on p (borrowed; s takes its own reference). Cog format: with
 * replay, the events so far are sent first, at most history of them (when
 * there are more, the stream says so in an error event and ends, as Cog;
 * history 0 starts at the live end). Replicate format: starts after event
 * resume_after (-1 = from the start). creator marks the stream that
 * created p. 0, or CF_EBUSY when p has too many subscribers. Lock NOT held. */
int cf_stream_open(cf_stream *s, cf_runner *r, cf_prediction *p, cf_stream_format format,
                   int replay, size_t history, long long resume_after, int creator);

/* Waits up to seconds for events past the cursor. Returns 1 with *text (malloc'd,
 * *len bytes of ready SSE text, the caller frees) when there were some, 0
 * when the time passed without any, -1 when the stream has ended (nothing
 * more will come). Lock NOT held. */
int cf_stream_poll(cf_stream *s, double seconds, char **text, size_t *len);

/* Leaves: drops the subscription and the reference. When s created its
 * record, no subscriber is left and the record has not ended, it is
 * canceled. Lock NOT held. */
void cf_stream_close(cf_stream *s);

/* The two halves of open and poll, without the runner, for tests: the
 * caller holds the lock that guards p (the record table's) and owns s
 * (zeroed first). start_locked places the cursor (see cf_stream_open; p is
 * borrowed, no subscriber is counted); render_locked renders what is past
 * it as cf_stream_poll does, without waiting. cf_stream_close frees s. */
void cf_stream_start_locked(cf_stream *s, cf_prediction *p, cf_stream_format format, int replay,
                            size_t history, long long resume_after);
int cf_stream_render_locked(cf_stream *s, char **text, size_t *len);

/* COG_STREAM_HISTORY_CAPACITY, or 1024. */
size_t cf_stream_history_capacity(void);

#endif
