/* queue.h - the Redis Stream consumer: prediction requests in, states out.
 *
 * cf_queue reads entries of one stream through a consumer group (created,
 * with the stream, when missing), runs each as a prediction on the runner,
 * writes every state it sees to the entry's result list/key/stream
 * (queue_message.h), and acknowledges the entry (XACK + XDEL) only once the
 * prediction is terminal and its final state and a done marker
 * (STREAM:done:ID, kept --done-ttl) are written, in one MULTI/EXEC.
 *
 * Delivery: at least once, run at most once per id. Before XREADGROUP it
 * claims (XAUTOCLAIM) entries idle longer than claim_after on any consumer:
 * a worker that died. It keeps its own entries fresh (XCLAIM every
 * claim_after/3) so a long prediction is not taken from a live worker. A
 * claimed entry whose id has a done marker is only acknowledged; one whose id
 * the runner already knows is followed, not run again.
 *
 * States are observed by polling the runner every poll_interval (20 ms by
 * default): a state that lasts less than that may be skipped in the result
 * targets (the terminal one never is; webhooks come from the runner and miss
 * nothing). When Redis goes away the consumer reconnects with backoff (0.1 s
 * doubling to 5 s); predictions go on meanwhile and are recorded after.
 */
#ifndef CF_QUEUE_H
#define CF_QUEUE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "runner.h"

typedef struct cf_queue_config {
    const char *redis_url;  /* redis://[:PASSWORD@]HOST[:PORT][/DB] */
    const char *stream;
    const char *group;      /* NULL: the stream's name, as Cog did */
    const char *consumer;   /* NULL: HOSTNAME-PID */
    double claim_after;     /* seconds an entry may stay idle on a consumer before another claims it */
    double poll_interval;   /* seconds between looks at running predictions */
    int concurrency;        /* entries taken at once (the runner's queue must hold them) */
    double done_ttl;        /* seconds a done marker lives */
    double report_interval; /* seconds between the lag log lines, 0 = none */
} cf_queue_config;

/* Fills cfg with the defaults: claim 600 s, poll 0.02 s, concurrency 1,
 * done markers 7 days, a report every 10 s. */
void cf_queue_config_init(cf_queue_config *cfg);

typedef struct cf_queue cf_queue;

/* Checks cfg (CF_EINVAL naming the option) and makes a consumer for
 * runner; nothing is connected yet. The strings are copied. */
cf_queue *cf_queue_new(const cf_queue_config *cfg, cf_runner *runner, cf_error *err);
/* Frees (after cf_queue_run has returned). NULL is a no-op. */
void cf_queue_free(cf_queue *q);

/* Consumes until stopped. Returns 0, or CF_EUNAVAIL when the model's
 * setup failed (nothing is taken then: other workers get the entries). */
int cf_queue_run(cf_queue *q);

/* What /health-check and /metrics show of the consumer (a copy, any thread):
 * the group's lag and pending counts as of the last XINFO GROUPS (every
 * report_interval; -1 before the first), the rest as of the last loop. */
typedef struct cf_queue_stats {
    const char *stream, *group, *consumer; /* borrowed: live as long as the queue */
    int connected;        /* to Redis now */
    long long lag;        /* entries the group has not read yet */
    long long pending;    /* read by the group, not acknowledged */
    int in_flight;        /* entries this consumer is running */
    long done, claimed;   /* acknowledged by this consumer; claimed from dead ones */
} cf_queue_stats;
void cf_queue_stats_get(cf_queue *q, cf_queue_stats *out);
/* The stats as a JSON object (new reference), or NULL without memory. */
json_t *cf_queue_health_json(cf_queue *q);
/* Appends the stats in Prometheus text (cog_redis_*) to *buf. 0 or CF_ENOMEM. */
int cf_queue_metrics_text(cf_queue *q, const char *model, char **buf, size_t *len);

/* Safe from any thread. Drain: take no new entry, return once the ones in
 * flight are recorded. Now: return at the next step; entries in flight
 * stay pending in Redis for another worker (or this one, restarted). */
void cf_queue_stop(cf_queue *q, int now);

#endif
