/* metrics.h - the counters behind GET /metrics, and their Prometheus text.
 *
 * The runner feeds these as predictions end (cf_metrics_* below, all with
 * the runner's lock held: the lock is the only synchronisation) and renders
 * them on a scrape. Names follow Triton's nv_inference_* and TorchServe's
 * ts_* style with a cog_ prefix: counters end in _total, durations are in
 * seconds, every series is labelled by model. What the pool looks like now
 * (queue depth, slots by state, boots) is passed in at render time.
 */
#ifndef CF_METRICS_H
#define CF_METRICS_H

#include <stddef.h>

#include "prediction.h"

typedef struct cf_metrics cf_metrics;

/* model: the label every series carries (copied). NULL on out-of-memory. */
cf_metrics *cf_metrics_new(const char *model);
void cf_metrics_free(cf_metrics *m);
/* The model label (borrowed, lives as long as m). */
const char *cf_metrics_model(const cf_metrics *m);

/* A prediction reached a terminal status. */
void cf_metrics_ended(cf_metrics *m, cf_status status);
/* A prediction started in a slot after waiting queue_s, of which boot_s
 * (>= 0) for a worker to boot; boot_s < 0: it did not wait for a boot. */
void cf_metrics_started(cf_metrics *m, double queue_s, double boot_s);
/* A prediction that ran predict_s seconds ended; user: REMOTE_USER or NULL. */
void cf_metrics_ran(cf_metrics *m, double predict_s, const char *user);
/* The model recorded a numeric metric (record_metric). */
void cf_metrics_custom(cf_metrics *m, const char *name, double value);

/* The pool now, for a scrape. */
typedef struct cf_metrics_pool {
    size_t queue_depth;
    int slots_by_state[6];  /* offline, booting, idle, active, setup_failed, defunct */
    unsigned long boots;
    int capacity;           /* predictions at once, all slots */
} cf_metrics_pool;

/* The Prometheus text exposition (format 0.0.4) of m and pool, appended to
 * *buf (malloc'd, *len bytes, grown as needed). 0 or CF_ENOMEM. */
int cf_metrics_render(const cf_metrics *m, const cf_metrics_pool *pool, char **buf, size_t *len);

/* Appends printf-style text to a malloc'd buffer. 0 or CF_ENOMEM. */
int cf_metrics_printf(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends s to a buffer as a Prometheus label value (\ " and newline escaped). */
int cf_metrics_label(char **buf, size_t *len, const char *s);

#endif
