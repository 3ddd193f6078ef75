/* usage.c - the usage log: a JSON line per finished prediction, and `cog-fcgi usage`. */
#include "usage.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "decimal.h"
#include "json_out.h"
#include "pyfloat.h"
#include "log.h"
#include "runner_int.h"

/* Bytes of v as the responses write it (0 for NULL). */
static size_t json_bytes(const json_t *v)
{
    return v ? cf_json_length(v) : 0;
}

static double seconds(double t)
{
    return t > 0 ? round(t * 1e6) / 1e6 : 0;
}

/* A metric the runner recorded for p (queue_time, boot_time), or 0. */
static double metric(const cf_prediction *p, const char *name)
{
    return p->metrics ? json_number_value(json_object_get(p->metrics, name)) : 0;
}

/* Writes s (UTF-8) as a JSON string at out, which has room for 6 bytes per
 * byte of s plus 3; returns the bytes written (no NUL). */
static size_t put_quoted(char *out, const char *s)
{
    size_t o = 0;
    out[o++] = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*c;
        } else if (*c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", *c);
        } else {
            out[o++] = (char)*c;
        }
    }
    out[o++] = '"';
    return o;
}

/* Copies s to out; returns its length. */
static size_t put_text(char *out, const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n);
    return n;
}

/* Writes v in decimal at out (room for 21 bytes); returns the length. */
static size_t put_int(char *out, long long v)
{
    if (v >= 0)
        return cf_decimal(out, (unsigned long long)v);
    out[0] = '-';
    return 1 + cf_decimal(out + 1, 0 - (unsigned long long)v);
}

/* The usage log's descriptor, kept open (O_APPEND): an open and a close
 * per prediction cost more than the line. Once a second the path is
 * looked at again, so a log rotated by rename (logrotate's create) or
 * removed is followed within a second. -1 when it cannot be opened. */
static int usage_fd(cf_runner *r) /* usage_lock held */
{
    double now = cf_monotonic();
    if (r->usage_fd >= 0 && now - r->usage_checked < 1.0)
        return r->usage_fd;
    struct stat path_st, fd_st;
    if (r->usage_fd >= 0 && stat(r->cfg.usage_path, &path_st) == 0 &&
        fstat(r->usage_fd, &fd_st) == 0 && path_st.st_ino == fd_st.st_ino &&
        path_st.st_dev == fd_st.st_dev) {
        r->usage_checked = now;
        return r->usage_fd;
    }
    if (r->usage_fd >= 0)
        close(r->usage_fd);
    r->usage_fd = open(r->cfg.usage_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    r->usage_checked = now;
    return r->usage_fd;
}

void cf_usage_append(cf_runner *r, const struct cf_wslot *s, const cf_prediction *p)
{
    if (r->cfg.usage_path == NULL)
        return;
    char ts[64];
    cf_format_time(p->completed_at > 0 ? p->completed_at : cf_now(), ts, sizeof ts);
    const char *user = p->context ? json_string_value(json_object_get(p->context, "remote_user"))
                                  : NULL;
    const char *device = s && s->device[0] ? s->device : NULL;
    double predict = p->started_at > 0 && p->completed_at > 0 ? p->completed_at - p->started_at : 0;
    /* Written by hand rather than packed and dumped: at thousands of
     * predictions a second jansson's objects cost more than the rest of
     * the line's work, under the runner's lock. The seconds are written
     * as Python writes them (0.000609). */
    size_t cap = 512 + 6 * (strlen(p->id) + (user ? strlen(user) : 0) + (device ? strlen(device) : 0));
    char *text = malloc(cap);
    if (text == NULL) {
        cf_log_error("CF0901", "usage log: out of memory for %s", p->id);
        return;
    }
    char q[40], b[40], pt[40];
    cf_pylike_float_repr(seconds(metric(p, "queue_time")), q, sizeof q);
    cf_pylike_float_repr(seconds(metric(p, "boot_time")), b, sizeof b);
    cf_pylike_float_repr(seconds(predict), pt, sizeof pt);
    /* snprintf would cost more than the rest of the line */
    size_t o = 0;
    o += put_text(text + o, "{\"id\":");
    o += put_quoted(text + o, p->id);
    o += put_text(text + o, ",\"completed_at\":\"");
    o += put_text(text + o, ts);
    o += put_text(text + o, "\",\"status\":\"");
    o += put_text(text + o, cf_status_name(p->status));
    o += put_text(text + o, "\",\"user\":");
    o += user ? put_quoted(text + o, user) : put_text(text + o, "null");
    o += put_text(text + o, ",\"slot\":");
    o += put_int(text + o, s ? s->index : -1);
    o += put_text(text + o, ",\"device\":");
    o += device ? put_quoted(text + o, device) : put_text(text + o, "null");
    o += put_text(text + o, ",\"queue_time\":");
    o += put_text(text + o, q);
    o += put_text(text + o, ",\"boot_time\":");
    o += put_text(text + o, b);
    o += put_text(text + o, ",\"predict_time\":");
    o += put_text(text + o, pt);
    o += put_text(text + o, ",\"input_bytes\":");
    o += put_int(text + o, (long long)json_bytes(p->input_echo));
    o += put_text(text + o, ",\"output_bytes\":");
    o += put_int(text + o, (long long)json_bytes(p->output));
    text[o++] = '}';
    text[o++] = '\n';
    /* onto the lines cf_usage_flush writes, without the runner's lock */
    pthread_mutex_lock(&r->usage_buf_lock);
    if (r->usage_len + o > r->usage_cap) {
        size_t ncap = r->usage_cap ? r->usage_cap : 4096;
        while (ncap < r->usage_len + o)
            ncap *= 2;
        char *grown = realloc(r->usage_buf, ncap);
        if (grown == NULL) {
            pthread_mutex_unlock(&r->usage_buf_lock);
            cf_log_error("CF0901", "usage log: out of memory for %s", p->id);
            free(text);
            return;
        }
        r->usage_buf = grown;
        r->usage_cap = ncap;
    }
    memcpy(r->usage_buf + r->usage_len, text, o);
    r->usage_len += o;
    pthread_mutex_unlock(&r->usage_buf_lock);
    free(text);
}

void cf_usage_flush(cf_runner *r)
{
    if (r->cfg.usage_path == NULL)
        return;
    pthread_mutex_lock(&r->usage_lock); /* one writer: the lines stay in order */
    pthread_mutex_lock(&r->usage_buf_lock);
    char *lines = r->usage_buf;
    size_t len = r->usage_len;
    r->usage_buf = NULL;
    r->usage_len = r->usage_cap = 0;
    pthread_mutex_unlock(&r->usage_buf_lock);
    if (len > 0) {
        int fd = usage_fd(r);
        ssize_t w = fd >= 0 ? write(fd, lines, len) : -1;
        if (w != (ssize_t)len)
            cf_log_error("CF0901", "usage log %s: cannot append %zu bytes of lines: %s",
                         r->cfg.usage_path, len,
                         fd < 0 || w < 0 ? strerror(errno) : "short write");
    }
    pthread_mutex_unlock(&r->usage_lock);
    free(lines);
}

/* ---- cog-fcgi usage ---------------------------------------------------- */

struct bucket {
    char key[128];
    unsigned long predictions, succeeded;
    double queue, boot, predict;
};

struct sums {
    struct bucket *b;
    size_t n, cap;
};

static struct bucket *bucket_for(struct sums *sm, const char *key)
{
    for (size_t i = 0; i < sm->n; i++)
        if (strcmp(sm->b[i].key, key) == 0)
            return &sm->b[i];
    if (sm->n == sm->cap) {
        size_t cap = sm->cap ? sm->cap * 2 : 16;
        struct bucket *g = realloc(sm->b, cap * sizeof *g);
        if (g == NULL)
            return NULL;
        sm->b = g;
        sm->cap = cap;
    }
    struct bucket *b = &sm->b[sm->n++];
    memset(b, 0, sizeof *b);
    snprintf(b->key, sizeof b->key, "%s", key);
    return b;
}

static int cmp_bucket(const void *a, const void *b)
{
    return strcmp(((const struct bucket *)a)->key, ((const struct bucket *)b)->key);
}

static void usage_help(FILE *f)
{
    fprintf(f, "usage: cog-fcgi usage STATE_DIR [--by user|day] [--since YYYY-MM-DD[THH:MM:SS]]\n"
               "sums the usage log (STATE_DIR/usage.jsonl): predictions and seconds per user\n"
               "(the web server's REMOTE_USER) or per day\n");
}

int cf_usage_main(int argc, char **argv)
{
    const char *dir = NULL, *by = "user", *since = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
            by = argv[++i];
        else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
            since = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_help(stdout);
            return 0;
        } else if (argv[i][0] != '-' && dir == NULL)
            dir = argv[i];
        else {
            fprintf(stderr, "cog-fcgi usage: unexpected argument \"%s\"\n", argv[i]);
            usage_help(stderr);
            return 2;
        }
    }
    if (dir == NULL || (strcmp(by, "user") != 0 && strcmp(by, "day") != 0)) {
        usage_help(stderr);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/usage.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cog-fcgi usage: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct sums sm = {0};
    struct bucket total = {.key = "total"};
    char *line = NULL;
    size_t cap = 0;
    unsigned long bad = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        const char *ts = json_string_value(json_object_get(o, "completed_at"));
        if (o == NULL || ts == NULL) {
            bad++;
            json_decref(o);
            continue;
        }
        /* ISO 8601 strings in UTC compare as the times they are */
        if (since && strncmp(ts, since, strlen(since)) < 0) {
            json_decref(o);
            continue;
        }
        char key[128];
        if (strcmp(by, "day") == 0) {
            snprintf(key, sizeof key, "%.10s", ts);
        } else {
            const char *u = json_string_value(json_object_get(o, "user"));
            snprintf(key, sizeof key, "%s", u && *u ? u : "-");
        }
        struct bucket *b = bucket_for(&sm, key);
        struct bucket *all[2] = {b, &total};
        for (int k = 0; k < 2; k++) {
            if (all[k] == NULL)
                continue;
            all[k]->predictions++;
            const char *st = json_string_value(json_object_get(o, "status"));
            if (st && strcmp(st, "succeeded") == 0)
                all[k]->succeeded++;
            all[k]->queue += json_number_value(json_object_get(o, "queue_time"));
            all[k]->boot += json_number_value(json_object_get(o, "boot_time"));
            all[k]->predict += json_number_value(json_object_get(o, "predict_time"));
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (sm.n > 0)
        qsort(sm.b, sm.n, sizeof *sm.b, cmp_bucket);
    printf("%-24s %11s %10s %12s %12s %12s\n", by, "predictions", "succeeded", "predict_s",
           "boot_s", "queue_s");
    for (size_t i = 0; i <= sm.n; i++) {
        const struct bucket *b = i < sm.n ? &sm.b[i] : &total;
        printf("%-24s %11lu %10lu %12.3f %12.3f %12.3f\n", b->key, b->predictions, b->succeeded,
               b->predict, b->boot, b->queue);
    }
    if (bad)
        fprintf(stderr, "cog-fcgi usage: %lu unreadable lines skipped\n", bad);
    free(sm.b);
    return 0;
}
