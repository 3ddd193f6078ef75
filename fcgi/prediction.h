/* prediction.h - one prediction record: its state and how it reads as JSON.
 *
 * Every prediction the front accepts is one record with an id. The runner,
 * the request threads and the webhook sender all look at the same record;
 * every field is protected by the runner's lock (cf_runner_lock), and only
 * the record table's verbs (record.h) change them once it is accepted. A
 * record is reference counted because a finished one can still be on its
 * way to a client or a webhook while the table forgets it.
 */
#ifndef CF_PREDICTION_H
#define CF_PREDICTION_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "error.h"
#include "utf8.h"

typedef enum cf_status {
    CF_STATUS_STARTING = 0,
    CF_STATUS_PROCESSING,
    CF_STATUS_SUCCEEDED,
    CF_STATUS_FAILED,
    CF_STATUS_CANCELED,
} cf_status;

/* Webhook event bits for webhook_events_filter. */
enum {
    CF_EVENT_START = 1,
    CF_EVENT_OUTPUT = 2,
    CF_EVENT_LOGS = 4,
    CF_EVENT_COMPLETED = 8,
    CF_EVENT_ALL = 15,
};

/* Where a record is in its life: see record.h. */
typedef enum cf_phase {
    CF_PHASE_NEW = 0,
    CF_PHASE_QUEUED,
    CF_PHASE_RUNNING,
    CF_PHASE_FINISHED,
    CF_PHASE_DELIVERED,
} cf_phase;

typedef struct cf_prediction {
    int refs;
    cf_phase phase;           /* record.h's verbs move it */
    json_t *eventlog;         /* ordered events (record.h), an array or NULL */
    unsigned long long seq;   /* arrival order, for the state directory */
    int saved_new;            /* its accepted state is in the state directory */
    int prepared;             /* its file inputs are local: it may start (runner lock) */
    int direct_waiter;        /* its request thread waits in cf_runner_run_direct: a
                               * free slot may be handed to it (runner lock) */
    struct cf_parked *parked; /* a sync request waiting without its thread (runner.h) */
    int park_state;           /* CF_PARK_*: who carries that request on (runner lock) */
    struct cf_prediction *carry_next; /* the runner's list of parked ones to carry */
    char log_carry[4];        /* the start of a UTF-8 sequence the last log chunk cut */
    size_t log_carry_len;
    char id[128];
    int is_training;          /* /trainings: calls the train entry */
    int is_async;             /* answered 202 */
    json_t *input_echo;       /* the validated input as echoed to clients */
    json_t *input_worker;     /* the validated input as the worker gets it */
    json_t *kinds;            /* {name: "path"|"file"|"secret"} of the schema used */
    json_t *context;          /* request "context" object, or NULL */
    json_t *output;           /* NULL = null; an array for iterators */
    int output_is_iterator;
    char *created_at;         /* normalised request created_at, or NULL */
    double started_at;        /* wall clock, 0 = unset */
    double completed_at;
    char *logs;               /* malloc'd, NUL-terminated, grows */
    size_t logs_len;
    size_t logs_cap;
    char *error;              /* NULL = null */
    cf_status status;
    json_t *metrics;          /* custom metrics recorded by the model, or NULL */
    char *webhook;            /* URL or NULL */
    unsigned events;          /* CF_EVENT_* filter */
    char *traceparent;
    char *tracestate;
    char *tempdir;            /* per-prediction directory for input files */
    int raw_files;            /* keep {"$cogfile": path} outputs (CLI) */
    char *upload_prefix;      /* file outputs go there instead of data URIs, or NULL */
    int upload_multipart;     /* output_file_prefix (multipart) rather than --upload-url */
    int cancel_requested;
    double deadline;          /* monotonic; 0 = none */
    double accepted_mono;     /* monotonic time it was accepted (queue_time) */
    int slot;                 /* the worker slot that ran it, -1 = none yet */
    double last_webhook;      /* monotonic time of the last sent webhook */
    int terminal_webhook_pending; /* the completed webhook is not delivered yet: state.h
                                   * saves it, and a restart sends it again */
    pthread_cond_t done_cond; /* signalled at the terminal state */
} cf_prediction;

/* A new record with refs = 1 and status processing; id is copied. NULL on
 * out-of-memory. */
cf_prediction *cf_prediction_new(const char *id);
void cf_prediction_incref(cf_prediction *p);
/* Drops a reference; frees at zero. NULL is a no-op. */
void cf_prediction_decref(cf_prediction *p);

/* Appends len bytes of text to the logs. 0 or CF_ENOMEM. */
int cf_prediction_append_logs(cf_prediction *p, const char *text, size_t len);
/* Replaces the error text (copied; NULL clears). */
void cf_prediction_set_error(cf_prediction *p, const char *msg);

int cf_prediction_is_terminal(const cf_prediction *p);
const char *cf_status_name(cf_status s);

/* The response object with every key in Cog's order (§4). New reference. */
json_t *cf_prediction_to_json(const cf_prediction *p);
/* The same object's text, written from the record in one pass: the bytes
 * of cf_json_dumps(cf_prediction_to_json(p)) (prediction_text.c). NULL
 * when it is longer than max bytes (then *len is its length), when a
 * string in it is not UTF-8, or out of memory (*len 0): then the json_t. */
char *cf_prediction_response_text(const cf_prediction *p, size_t max, size_t *len);
/* The webhook body: unset keys left out (§6). New reference. */
json_t *cf_prediction_to_webhook_json(const cf_prediction *p);

/* Writes "pred_" + 26 lowercase base32 characters into buf (>= 32 bytes). */
void cf_prediction_generate_id(char *buf, size_t len);

#endif
