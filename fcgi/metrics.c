/* metrics.c - prediction counters and duration histograms, rendered as Prometheus text. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Seconds: from a no-op's queue wait up to a long generation. */
static const double bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                1,     2.5,   5,    10,    30,    60,  120, 300};
#define NB (sizeof bounds / sizeof bounds[0])

typedef struct histogram {
    unsigned long counts[NB]; /* per bucket, not cumulative */
    unsigned long count;
    double sum;
} histogram;

/* Bounded: past this many users (or metric names) the rest count as "other". */
#define MAX_KEYS 1000

typedef struct keyed {
    char *key;
    double sum;
    unsigned long count;
} keyed;

typedef struct keyed_set {
    keyed *v;
    size_t n, cap;
} keyed_set;

struct cf_metrics {
    char *model;
    unsigned long by_status[5];
    histogram queue, boot, predict;
    keyed_set users;  /* predict seconds per REMOTE_USER */
    keyed_set custom; /* record_metric values by name */
};

cf_metrics *cf_metrics_new(const char *model)
{
    cf_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->model = strdup(model ? model : "model");
    if (m->model == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

const char *cf_metrics_model(const cf_metrics *m)
{
    return m->model;
}

static void keyed_cleanup(keyed_set *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->v[i].key);
    free(ks->v);
}

void cf_metrics_free(cf_metrics *m)
{
    if (m == NULL)
        return;
    keyed_cleanup(&m->users);
    keyed_cleanup(&m->custom);
    free(m->model);
    free(m);
}

static void observe(histogram *h, double v)
{
    if (v < 0)
        v = 0;
    size_t i = 0;
    while (i < NB && v > bounds[i])
        i++;
    if (i < NB)
        h->counts[i]++;
    h->count++;
    h->sum += v;
}

/* The entry for key, added when new; "other" once MAX_KEYS are taken. NULL
 * only when out of memory. */
static keyed *keyed_get(keyed_set *ks, const char *key)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->v[i].key, key) == 0)
            return &ks->v[i];
    if (ks->n >= MAX_KEYS && strcmp(key, "other") != 0)
        return keyed_get(ks, "other"); /* "other" itself is the one entry past the bound */
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 8;
        keyed *g = realloc(ks->v, cap * sizeof *g);
        if (g == NULL)
            return NULL;
        ks->v = g;
        ks->cap = cap;
    }
    char *k = strdup(key);
    if (k == NULL)
        return NULL;
    ks->v[ks->n] = (keyed){k, 0, 0};
    return &ks->v[ks->n++];
}

void cf_metrics_ended(cf_metrics *m, cf_status status)
{
    if (m && (int)status >= 0 && (int)status < 5)
        m->by_status[status]++;
}

void cf_metrics_started(cf_metrics *m, double queue_s, double boot_s)
{
    if (m == NULL)
        return;
    observe(&m->queue, queue_s);
    if (boot_s >= 0)
        observe(&m->boot, boot_s);
}

void cf_metrics_ran(cf_metrics *m, double predict_s, const char *user)
{
    if (m == NULL)
        return;
    observe(&m->predict, predict_s);
    keyed *k = keyed_get(&m->users, user && *user ? user : "-");
    if (k) {
        k->sum += predict_s > 0 ? predict_s : 0;
        k->count++;
    }
}

void cf_metrics_custom(cf_metrics *m, const char *name, double value)
{
    if (m == NULL)
        return;
    keyed *k = keyed_get(&m->custom, name);
    if (k) {
        k->sum += value;
        k->count++;
    }
}

int cf_metrics_printf(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char stack[512];
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CF_ENOMEM;
    char *grown = realloc(*buf, *len + (size_t)n + 1);
    if (grown == NULL)
        return CF_ENOMEM;
    *buf = grown;
    if ((size_t)n < sizeof stack) {
        memcpy(*buf + *len, stack, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    *len += (size_t)n;
    return CF_OK;
}

int cf_metrics_label(char **buf, size_t *len, const char *s)
{
    int rc = CF_OK;
    for (; *s && rc == CF_OK; s++) {
        if (*s == '\\')
            rc = cf_metrics_printf(buf, len, "\\\\");
        else if (*s == '"')
            rc = cf_metrics_printf(buf, len, "\\\"");
        else if (*s == '\n')
            rc = cf_metrics_printf(buf, len, "\\n");
        else
            rc = cf_metrics_printf(buf, len, "%c", *s);
    }
    return rc;
}

/* {model="..." — the caller closes the brace or adds labels */
static int model_label(const cf_metrics *m, char **buf, size_t *len)
{
    int rc = cf_metrics_printf(buf, len, "{model=\"");
    if (rc == CF_OK)
        rc = cf_metrics_label(buf, len, m->model);
    if (rc == CF_OK)
        rc = cf_metrics_printf(buf, len, "\"");
    return rc;
}

static int render_histogram(const cf_metrics *m, const histogram *h, const char *name,
                            const char *help, char **buf, size_t *len)
{
    int rc = cf_metrics_printf(buf, len, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    unsigned long cum = 0;
    for (size_t i = 0; i <= NB && rc == CF_OK; i++) {
        cum += i < NB ? h->counts[i] : 0;
        rc = cf_metrics_printf(buf, len, "%s_bucket", name);
        if (rc == CF_OK)
            rc = model_label(m, buf, len);
        if (rc == CF_OK && i < NB)
            rc = cf_metrics_printf(buf, len, ",le=\"%g\"} %lu\n", bounds[i], cum);
        else if (rc == CF_OK)
            rc = cf_metrics_printf(buf, len, ",le=\"+Inf\"} %lu\n", h->count);
    }
    if (rc == CF_OK)
        rc = cf_metrics_printf(buf, len, "%s_sum", name);
    if (rc == CF_OK)
        rc = model_label(m, buf, len);
    if (rc == CF_OK)
        rc = cf_metrics_printf(buf, len, "} %.6f\n%s_count", h->sum, name);
    if (rc == CF_OK)
        rc = model_label(m, buf, len);
    if (rc == CF_OK)
        rc = cf_metrics_printf(buf, len, "} %lu\n", h->count);
    return rc;
}

/* One sample: name{model="..",extra} value. extra_key NULL: no extra label. */
static int sample(const cf_metrics *m, char **buf, size_t *len, const char *name,
                  const char *extra_key, const char *extra_val, const char *value)
{
    int rc = cf_metrics_printf(buf, len, "%s", name);
    if (rc == CF_OK)
        rc = model_label(m, buf, len);
    if (rc == CF_OK && extra_key) {
        rc = cf_metrics_printf(buf, len, ",%s=\"", extra_key);
        if (rc == CF_OK)
            rc = cf_metrics_label(buf, len, extra_val);
        if (rc == CF_OK)
            rc = cf_metrics_printf(buf, len, "\"");
    }
    if (rc == CF_OK)
        rc = cf_metrics_printf(buf, len, "} %s\n", value);
    return rc;
}

static int header(char **buf, size_t *len, const char *name, const char *type, const char *help)
{
    return cf_metrics_printf(buf, len, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int cf_metrics_render(const cf_metrics *m, const cf_metrics_pool *pool, char **buf, size_t *len)
{
    static const char *const statuses[] = {"starting", "processing", "succeeded", "failed",
                                           "canceled"};
    static const char *const states[] = {"offline", "booting", "idle", "active",
                                         "setup_failed", "defunct"};
    char v[64];
    int rc = header(buf, len, "cog_predictions_total", "counter",
                    "Predictions that reached a terminal status, by status.");
    for (int i = 2; i < 5 && rc == CF_OK; i++) {
        snprintf(v, sizeof v, "%lu", m->by_status[i]);
        rc = sample(m, buf, len, "cog_predictions_total", "status", statuses[i], v);
    }
    if (rc == CF_OK)
        rc = render_histogram(m, &m->queue, "cog_queue_duration_seconds",
                              "Time from acceptance to the start in a worker slot.", buf, len);
    if (rc == CF_OK)
        rc = render_histogram(m, &m->boot, "cog_boot_duration_seconds",
                              "Time a prediction waited for a worker to boot (import + setup).",
                              buf, len);
    if (rc == CF_OK)
        rc = render_histogram(m, &m->predict, "cog_predict_duration_seconds",
                              "Time predictions ran in the model.", buf, len);
    if (rc == CF_OK)
        rc = header(buf, len, "cog_queue_depth", "gauge", "Predictions waiting for a slot.");
    if (rc == CF_OK) {
        snprintf(v, sizeof v, "%zu", pool->queue_depth);
        rc = sample(m, buf, len, "cog_queue_depth", NULL, NULL, v);
    }
    if (rc == CF_OK)
        rc = header(buf, len, "cog_slots", "gauge", "Worker slots by state.");
    for (int i = 0; i < 6 && rc == CF_OK; i++) {
        snprintf(v, sizeof v, "%d", pool->slots_by_state[i]);
        rc = sample(m, buf, len, "cog_slots", "state", states[i], v);
    }
    if (rc == CF_OK)
        rc = header(buf, len, "cog_slot_capacity", "gauge",
                    "Predictions the pool runs at once (slots times concurrency).");
    if (rc == CF_OK) {
        snprintf(v, sizeof v, "%d", pool->capacity);
        rc = sample(m, buf, len, "cog_slot_capacity", NULL, NULL, v);
    }
    if (rc == CF_OK)
        rc = header(buf, len, "cog_worker_boots_total", "counter",
                    "Worker processes started (first start, scale-up, crash restart, reload).");
    if (rc == CF_OK) {
        snprintf(v, sizeof v, "%lu", pool->boots);
        rc = sample(m, buf, len, "cog_worker_boots_total", NULL, NULL, v);
    }
    if (rc == CF_OK)
        rc = header(buf, len, "cog_user_predict_seconds_total", "counter",
                    "Seconds of model time per user (the web server's REMOTE_USER, - if none).");
    for (size_t i = 0; i < m->users.n && rc == CF_OK; i++) {
        snprintf(v, sizeof v, "%.6f", m->users.v[i].sum);
        rc = sample(m, buf, len, "cog_user_predict_seconds_total", "user", m->users.v[i].key, v);
    }
    if (rc == CF_OK)
        rc = header(buf, len, "cog_user_predictions_total", "counter",
                    "Predictions that ran, per user.");
    for (size_t i = 0; i < m->users.n && rc == CF_OK; i++) {
        snprintf(v, sizeof v, "%lu", m->users.v[i].count);
        rc = sample(m, buf, len, "cog_user_predictions_total", "user", m->users.v[i].key, v);
    }
    if (rc == CF_OK && m->custom.n > 0)
        rc = header(buf, len, "cog_model_metric", "summary",
                    "Numeric values the model recorded with record_metric, by name.");
    for (size_t i = 0; i < m->custom.n && rc == CF_OK; i++) {
        snprintf(v, sizeof v, "%.17g", m->custom.v[i].sum);
        rc = sample(m, buf, len, "cog_model_metric_sum", "name", m->custom.v[i].key, v);
        snprintf(v, sizeof v, "%lu", m->custom.v[i].count);
        if (rc == CF_OK)
            rc = sample(m, buf, len, "cog_model_metric_count", "name", m->custom.v[i].key, v);
    }
    return rc;
}
