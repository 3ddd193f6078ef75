/* state.c - prediction records saved atomically in a state directory. */
#include "state.h"
#include "hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "json_in.h"
#include "json_out.h"
#include "log.h"

#define RECORD_VERSION CF_STATE_RECORD_VERSION
#define NAME_LEN 256 /* a record file name: "~" + base64url of 127 bytes + ".json" fits */


struct cf_state {
    pthread_mutex_t reserve_lock;
    size_t reserve_bytes; /* wanted size of DIR/.reserve, 0 = none */
    int reserved;         /* DIR/.reserve exists */
    char *dir;
    int dir_fd;  /* every file is opened relative to it */
    int lock_fd; /* holds the flock */
};

/* ---- names and hashes ------------------------------------------------- */


static int plain_id(const char *id)
{
    if (*id == '\0')
        return 0;
    for (const char *c = id; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                 (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The file name of id's record (buf >= NAME_LEN). Plain ids stay readable;
 * any other id becomes "~" + base64url, which never collides with a plain
 * one and never holds '/' or '.'. */
static void record_name(const char *id, char *buf)
{
    if (plain_id(id)) {
        snprintf(buf, NAME_LEN, "%.127s.json", id);
        return;
    }
    const unsigned char *in = (const unsigned char *)id;
    size_t n = strnlen(id, 127), o = 0;
    buf[o++] = '~';
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        buf[o++] = b64[(v >> 18) & 63];
        buf[o++] = b64[(v >> 12) & 63];
        if (i + 1 < n)
            buf[o++] = b64[(v >> 6) & 63];
        if (i + 2 < n)
            buf[o++] = b64[v & 63];
    }
    memcpy(buf + o, ".json", 6);
}

/* Decodes the base64url of record_name (no "~", no ".json") into buf
 * (128 bytes). -1 if it is not one, or decodes to an empty or long id. */
static int decode_name(const char *in, char *buf)
{
    size_t o = 0, bits = 0;
    unsigned v = 0;
    for (; *in; in++) {
        const char *c = strchr(b64, *in);
        if (c == NULL)
            return -1;
        v = (v << 6) | (unsigned)(c - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= 127)
                return -1;
            buf[o++] = (char)((v >> bits) & 0xFF);
        }
    }
    buf[o] = '\0';
    return o > 0 && strlen(buf) == o ? 0 : -1;
}

/* ---- opening ------------------------------------------------------------ */

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *c = path + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *c = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Writes, fsyncs and removes a one-byte file: creating an empty file can
 * still work on a full disk, a byte of data cannot. */
static int probe(cf_state *s)
{
    char name[64];
    snprintf(name, sizeof name, ".probe-%ld", (long)getpid());
    int fd = openat(s->dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = write(fd, "x", 1) == 1 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    close(fd);
    unlinkat(s->dir_fd, name, 0);
    errno = saved;
    return rc;
}

cf_state *cf_state_open(const char *dir, cf_error *err)
{
    cf_state *s = calloc(1, sizeof *s);
    const char *what = "create";
    if (s == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    s->dir_fd = s->lock_fd = -1;
    pthread_mutex_init(&s->reserve_lock, NULL);
    s->dir = strdup(dir);
    if (s->dir == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        goto fail;
    }
    if (strlen(dir) > PATH_MAX - NAME_LEN - 16) {
        errno = ENAMETOOLONG;
        goto fail_errno;
    }
    if (make_dirs(dir) != 0)
        goto fail_errno;
    what = "open";
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0)
        goto fail_errno;
    what = "lock";
    s->lock_fd = openat(s->dir_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0)
        goto fail_errno;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            cf_error_set(err, CF_EBUSY,
                         "state directory %s is in use by another cog-fcgi process "
                         "(give each one its own --state-dir)", dir);
            goto fail;
        }
        goto fail_errno;
    }
    what = "write to";
    if (probe(s) != 0)
        goto fail_errno;
    struct stat st;
    if (fstat(s->dir_fd, &st) == 0 && (st.st_mode & 077))
        cf_log_warn("CF0402", "state directory %s is open to other users (mode %03o); "
                    "it holds prediction inputs and webhook URLs", dir,
                    (unsigned)(st.st_mode & 0777));
    return s;
fail_errno:
    cf_error_set(err, CF_EIO, "cannot %s the state directory %s: %s", what, dir,
                 strerror(errno));
fail:
    cf_state_free(s);
    return NULL;
}

void cf_state_free(cf_state *s)
{
    if (s == NULL)
        return;
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* drops the flock */
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    pthread_mutex_destroy(&s->reserve_lock);
    free(s->dir);
    free(s);
}

const char *cf_state_dir(const cf_state *s)
{
    return s->dir;
}

/* ---- encoding a record ---------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? cf_text_json(s, strlen(s)) : json_null();
}

/* The id, or for one that is not UTF-8 the base64url of its file name. */
static json_t *id_json(const char *id)
{
    if (cf_text_is_utf8(id))
        return json_string(id);
    char name[NAME_LEN];
    record_name(id, name);
    name[strlen(name) - 5] = '\0'; /* ".json" */
    return json_string(name + 1);   /* after "~" */
}

static json_t *value_or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

/* input_worker without the values of Secret inputs. New reference;
 * *omitted says whether one was left out. */
static json_t *worker_input_json(const cf_prediction *p, int *omitted)
{
    *omitted = 0;
    if (p->input_worker == NULL)
        return json_null();
    if (!json_is_object(p->input_worker))
        return json_incref(p->input_worker);
    json_t *o = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(p->input_worker, name, v) {
        const char *kind = json_string_value(json_object_get(p->kinds, name));
        if (kind && strcmp(kind, "secret") == 0 && !json_is_null(v)) {
            *omitted = 1;
            continue;
        }
        json_object_set(o, name, v);
    }
    return o;
}

double cf_state_deadline_wall(const cf_prediction *p)
{
    double deadline = 0;
    if (p->deadline > 0) {
        /* the monotonic clock restarts with the machine: keep wall time */
        deadline = cf_now() + (p->deadline - cf_monotonic());
        if (deadline <= 0)
            deadline = 1;
    }
    return deadline;
}

json_t *cf_state_record_json(const cf_prediction *p, int running, unsigned long long seq)
{
    int terminal = cf_prediction_is_terminal(p), omitted = 0, failed = 0;
    double deadline = cf_state_deadline_wall(p);
    /* before the table: the order its initialisers run in is unspecified */
    json_t *worker_input = worker_input_json(p, &omitted);
    json_t *o = json_object();
    if (o == NULL) {
        json_decref(worker_input);
        return NULL;
    }
    struct {
        const char *key;
        json_t *value;
    } fields[] = {
        {"version", json_integer(RECORD_VERSION)},
        /* an id that is not UTF-8 cannot be a JSON string: keep its encoding */
        {cf_text_is_utf8(p->id) ? "id" : "id_encoded", id_json(p->id)},
        {"seq", json_integer((json_int_t)seq)},
        {"phase", json_string(terminal ? "finished" : running ? "running" : "queued")},
        {"is_training", json_boolean(p->is_training)},
        {"is_async", json_boolean(p->is_async)},
        {"input_echo", value_or_null(p->input_echo)},
        {"input_worker", worker_input},
        {"secrets_omitted", json_boolean(omitted)},
        {"kinds", value_or_null(p->kinds)},
        {"context", value_or_null(p->context)},
        {"output", value_or_null(p->output)},
        {"output_is_iterator", json_boolean(p->output_is_iterator)},
        {"created_at", str_or_null(p->created_at)},
        {"started_at", json_real(p->started_at)},
        {"completed_at", json_real(p->completed_at)},
        {"logs", cf_text_json(p->logs ? p->logs : "", p->logs ? p->logs_len : 0)},
        {"error", str_or_null(p->error)},
        {"status", json_string(cf_status_name(p->status))},
        {"metrics", value_or_null(p->metrics)},
        {"webhook", str_or_null(p->webhook)},
        {"events", json_integer(p->events)},
        {"traceparent", str_or_null(p->traceparent)},
        {"tracestate", str_or_null(p->tracestate)},
        {"tempdir", str_or_null(p->tempdir)},
        {"raw_files", json_boolean(p->raw_files)},
        {"cancel_requested", json_boolean(p->cancel_requested)},
        {"deadline_wall", json_real(deadline)},
        {"terminal_webhook_pending", json_boolean(p->terminal_webhook_pending)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (json_object_set_new(o, fields[i].key, fields[i].value) != 0)
            failed = 1; /* set_new released the value, NULL included */
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the reserve -------------------------------------------------------------

 * DIR/.reserve holds reserve_bytes of zeros that only a full disk uses: a
 * save of a prediction that was accepted (its start, its end) that fails
 * with ENOSPC removes it and tries again, so what finished is not recovered
 * as interrupted for want of a few kilobytes. It comes back with the next
 * save that finds room. New predictions never use it: they get 503. */

static int release_reserve(cf_state *s)
{
    pthread_mutex_lock(&s->reserve_lock);
    int rc = -1;
    if (s->reserved && unlinkat(s->dir_fd, ".reserve", 0) == 0) {
        s->reserved = 0;
        fsync(s->dir_fd);
        rc = 0;
    }
    pthread_mutex_unlock(&s->reserve_lock);
    return rc;
}

static void make_reserve(cf_state *s)
{
    pthread_mutex_lock(&s->reserve_lock);
    if (s->reserve_bytes == 0 || s->reserved) {
        pthread_mutex_unlock(&s->reserve_lock);
        return;
    }
    static const char zeros[65536];
    int fd = openat(s->dir_fd, ".reserve", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    0600);
    size_t done = 0;
    while (fd >= 0 && done < s->reserve_bytes) {
        size_t n = s->reserve_bytes - done < sizeof zeros ? s->reserve_bytes - done : sizeof zeros;
        ssize_t w = write(fd, zeros, n);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int ok = fd >= 0 && done == s->reserve_bytes && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (ok)
        s->reserved = 1;
    else
        unlinkat(s->dir_fd, ".reserve", 0); /* no room: the next save tries again */
    pthread_mutex_unlock(&s->reserve_lock);
}

void cf_state_reserve(cf_state *s, size_t bytes)
{
    struct stat st;
    pthread_mutex_lock(&s->reserve_lock);
    s->reserve_bytes = bytes;
    s->reserved = fstatat(s->dir_fd, ".reserve", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                  S_ISREG(st.st_mode) && (size_t)st.st_size == bytes;
    pthread_mutex_unlock(&s->reserve_lock);
    make_reserve(s);
}

/* ---- writing ---------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Replaces DIR/name by data: temp file, fsync, rename, fsync DIR. On
 * failure nothing new is left behind (for a new record not even the file,
 * should only the directory fsync fail). */
static int replace_file(cf_state *s, const char *id, const char *name, const char *data,
                        size_t len, int is_new, int *why, cf_error *err)
{
    char tmp[NAME_LEN + 8];
    snprintf(tmp, sizeof tmp, ".tmp-%s", name);
    const char *what = "create";
    int fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        goto fail;
    what = "write";
    if (write_all(fd, data, len) != 0)
        goto fail;
    what = "fsync";
    if (fsync(fd) != 0)
        goto fail;
    what = "close";
    int rc = close(fd);
    fd = -1;
    if (rc != 0)
        goto fail;
    what = "rename";
    if (renameat(s->dir_fd, tmp, s->dir_fd, name) != 0)
        goto fail;
    if (fsync(s->dir_fd) != 0) {
        int saved = errno;
        if (is_new)
            unlinkat(s->dir_fd, name, 0);
        errno = saved;
        what = "fsync the directory";
        goto fail;
    }
    return CF_OK;
fail:;
    int saved = errno;
    *why = saved;
    if (fd >= 0)
        close(fd);
    unlinkat(s->dir_fd, tmp, 0);
    return cf_error_set(err, CF_EUNAVAIL, "cannot save prediction %s in %s: %s (%s)", id,
                        s->dir, strerror(saved), what);
}

int cf_state_write(cf_state *s, const char *id, json_t *rec, int is_new, cf_error *err)
{
    char name[NAME_LEN];
    /* json_out.c: megabytes of data URI are copied whole, where jansson's
     * dump walks them a character at a time */
    char *text = rec ? cf_json_dumps(rec) : NULL;
    if (text == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory saving prediction %s", id);
    record_name(id, name);
    int why = 0;
    int rc = replace_file(s, id, name, text, strlen(text), is_new, &why, err);
    if (rc == CF_EUNAVAIL && why == ENOSPC && !is_new && release_reserve(s) == 0) {
        /* what was accepted may use the reserve; new predictions may not */
        cf_log_warn("CF0406", "state directory %s is full: released its reserve to save "
                    "prediction %s", s->dir, id);
        cf_error_clear(err);
        rc = replace_file(s, id, name, text, strlen(text), is_new, &why, err);
    }
    if (rc == CF_OK)
        make_reserve(s);
    free(text);
    return rc;
}

int cf_state_save(cf_state *s, const cf_prediction *p, int running, unsigned long long seq,
                  int is_new, cf_error *err)
{
    json_t *rec = cf_state_record_json(p, running, seq);
    int rc = cf_state_write(s, p->id, rec, is_new, err);
    json_decref(rec);
    return rc;
}

int cf_state_remove(cf_state *s, const char *id, cf_error *err)
{
    char name[NAME_LEN];
    record_name(id, name);
    if (unlinkat(s->dir_fd, name, 0) != 0 && errno != ENOENT)
        return cf_error_set(err, CF_EIO, "cannot remove prediction %s from %s: %s", id, s->dir,
                            strerror(errno));
    return CF_OK;
}

/* ---- loading ---------------------------------------------------------------- */

static char *dup_str(const json_t *rec, const char *key)
{
    const char *v = json_string_value(json_object_get(rec, key));
    return v ? strdup(v) : NULL;
}

/* A borrowed value that is not null, as a new reference, or NULL. */
static json_t *take_value(const json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return v && !json_is_null(v) ? json_incref(v) : NULL;
}

static int parse_status(const char *s, cf_status *out)
{
    for (cf_status st = CF_STATUS_STARTING; st <= CF_STATUS_CANCELED; st++) {
        if (s && strcmp(s, cf_status_name(st)) == 0) {
            *out = st;
            return 0;
        }
    }
    return -1;
}

/* Builds a record from the JSON of file fname. NULL with why set when the
 * file is not one of our records. */
static cf_prediction *record_parse(const json_t *rec, const char *fname, unsigned long long *seq,
                                   int *running, int *omitted, const char **why)
{
    char expect[NAME_LEN], decoded[128];
    cf_status status;
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *encoded = json_string_value(json_object_get(rec, "id_encoded"));
    if (id == NULL && encoded && decode_name(encoded, decoded) == 0)
        id = decoded;
    const char *phase = json_string_value(json_object_get(rec, "phase"));
    json_t *logs = json_object_get(rec, "logs");
    if (json_integer_value(json_object_get(rec, "version")) != RECORD_VERSION) {
        *why = "unknown record version";
        return NULL;
    }
    if (id == NULL || *id == '\0' || strlen(id) > 127 ||
        (id != decoded && strlen(id) != json_string_length(json_object_get(rec, "id")))) {
        *why = "no valid id";
        return NULL;
    }
    record_name(id, expect);
    if (strcmp(expect, fname) != 0) {
        *why = "the file name does not match the id inside";
        return NULL;
    }
    if (parse_status(json_string_value(json_object_get(rec, "status")), &status) != 0 ||
        phase == NULL) {
        *why = "no valid status";
        return NULL;
    }
    cf_prediction *p = cf_prediction_new(id);
    if (p == NULL) {
        *why = "out of memory";
        return NULL;
    }
    *seq = (unsigned long long)json_integer_value(json_object_get(rec, "seq"));
    *running = strcmp(phase, "running") == 0;
    *omitted = json_is_true(json_object_get(rec, "secrets_omitted"));
    p->status = status;
    p->is_training = json_is_true(json_object_get(rec, "is_training"));
    p->is_async = json_is_true(json_object_get(rec, "is_async"));
    p->input_echo = take_value(rec, "input_echo");
    p->input_worker = take_value(rec, "input_worker");
    p->kinds = take_value(rec, "kinds");
    p->context = take_value(rec, "context");
    p->output = take_value(rec, "output");
    p->metrics = take_value(rec, "metrics");
    p->output_is_iterator = json_is_true(json_object_get(rec, "output_is_iterator"));
    p->created_at = dup_str(rec, "created_at");
    p->started_at = json_number_value(json_object_get(rec, "started_at"));
    p->completed_at = json_number_value(json_object_get(rec, "completed_at"));
    if (json_is_string(logs))
        cf_prediction_append_logs(p, json_string_value(logs), json_string_length(logs));
    p->error = dup_str(rec, "error");
    p->webhook = dup_str(rec, "webhook");
    json_t *events = json_object_get(rec, "events");
    p->events = json_is_integer(events) ? (unsigned)json_integer_value(events) & CF_EVENT_ALL
                                        : CF_EVENT_ALL;
    p->traceparent = dup_str(rec, "traceparent");
    p->tracestate = dup_str(rec, "tracestate");
    p->tempdir = dup_str(rec, "tempdir");
    p->raw_files = json_is_true(json_object_get(rec, "raw_files"));
    p->cancel_requested = json_is_true(json_object_get(rec, "cancel_requested"));
    double deadline = json_number_value(json_object_get(rec, "deadline_wall"));
    if (deadline > 0) {
        p->deadline = cf_monotonic() + (deadline - cf_now());
        if (p->deadline <= 0)
            p->deadline = 1e-6; /* passed already; 0 would mean none */
    }
    p->terminal_webhook_pending = json_is_true(json_object_get(rec, "terminal_webhook_pending"));
    return p;
}

static cf_prediction *load_file(cf_state *s, const char *fname, unsigned long long *seq,
                                int *running, int *omitted)
{
    const char *why = NULL;
    json_error_t jerr;
    json_t *rec = NULL;
    cf_prediction *p = NULL;
    int fd = openat(s->dir_fd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return NULL; /* forgotten (expired) meanwhile */
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        cf_log_error("CF0401", "cannot read prediction record %s/%s: %s", s->dir, fname,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    rec = json_loadf(f, JSON_ALLOW_NUL, &jerr);
    fclose(f);
    if (rec == NULL) {
        cf_log_error("CF0401", "skipping corrupt prediction record %s/%s: %s (line %d)", s->dir,
                     fname, jerr.text, jerr.line);
        return NULL;
    }
    p = json_is_object(rec) ? record_parse(rec, fname, seq, running, omitted, &why) : NULL;
    if (p == NULL)
        cf_log_error("CF0401", "skipping prediction record %s/%s: %s", s->dir, fname,
                     why ? why : "not a JSON object");
    json_decref(rec);
    return p;
}

cf_prediction *cf_state_parse(const char *text, size_t len, const char *id)
{
    char name[512];
    const char *why = NULL;
    unsigned long long seq = 0;
    int running = 0, omitted = 0;
    record_name(id, name);
    cf_pyjson_error perr = {0};
    cf_error jerr;
    cf_error_clear(&jerr);
    json_t *rec = cf_pyjson_loads(text, len, &perr, &jerr);
    cf_prediction *p = json_is_object(rec)
                           ? record_parse(rec, name, &seq, &running, &omitted, &why)
                           : NULL;
    if (p == NULL)
        cf_log_error("CF0401", "skipping spilled prediction record %s: %s", id,
                     rec ? (why ? why : "not a JSON object") : perr.msg ? perr.msg : jerr.msg);
    json_decref(rec);
    return p;
}

cf_prediction *cf_state_load(cf_state *s, const char *id)
{
    char name[512];
    record_name(id, name);
    unsigned long long seq = 0;
    int running = 0, omitted = 0;
    return load_file(s, name, &seq, &running, &omitted);
}

static int by_arrival(const void *a, const void *b)
{
    const cf_state_loaded *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->p->started_at != y->p->started_at)
        return x->p->started_at < y->p->started_at ? -1 : 1;
    return strcmp(x->p->id, y->p->id);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

int cf_state_load_all(cf_state *s, cf_state_loaded **out, size_t *n, cf_error *err)
{
    int rc = CF_OK;
    cf_state_loaded *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int fd = dup(s->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        rc = cf_error_set(err, CF_EIO, "cannot read the state directory %s: %s", s->dir,
                          strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    rewinddir(d); /* the duplicate shares the offset of dir_fd */
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strncmp(name, ".tmp-", 5) == 0 || strncmp(name, ".probe-", 7) == 0) {
            /* a save or an open cut short by a crash: the record, if any,
             * is still the previous complete one */
            cf_log_info("CF0403", "removing stray temp file %s/%s", s->dir, name);
            unlinkat(s->dir_fd, name, 0);
            continue;
        }
        if (name[0] == '.' || !has_suffix(name, ".json"))
            continue;
        unsigned long long seq = 0;
        int running = 0, omitted = 0;
        cf_prediction *p = load_file(s, name, &seq, &running, &omitted);
        if (p == NULL)
            continue;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            cf_state_loaded *grown = realloc(list, ncap * sizeof *list);
            if (grown == NULL) {
                cf_prediction_decref(p);
                rc = cf_error_set(err, CF_ENOMEM, "out of memory loading prediction records");
                goto out;
            }
            list = grown;
            cap = ncap;
        }
        list[len] = (cf_state_loaded){.p = p, .seq = seq, .running = running, .omitted = omitted};
        len++;
    }
    /* records that lack a seq number go after the others */
    unsigned long long next_seq = 1;
    for (size_t i = 0; i < len; i++)
        if (list[i].seq >= next_seq)
            next_seq = list[i].seq + 1;
    for (size_t i = 0; i < len; i++)
        if (list[i].seq == 0)
            list[i].seq = next_seq++;
    if (len > 1)
        qsort(list, len, sizeof *list, by_arrival);
    *out = list;
    *n = len;
    list = NULL;
out:
    for (size_t i = 0; list && i < len; i++)
        cf_prediction_decref(list[i].p);
    free(list);
    closedir(d);
    return rc;
}

/* ---- the default directory ----------------------------------------------------- */

void cf_state_default_dir(const char *project_dir, char *buf, size_t len)
{
    const char *sd = getenv("STATE_DIRECTORY");
    if (sd && *sd) {
        snprintf(buf, len, "%.*s", (int)strcspn(sd, ":"), sd);
        return;
    }
    char real[PATH_MAX];
    const char *path = realpath(project_dir, real) ? real : project_dir;
    /* "<base name>-<hash>": readable in `ls`, unique per project */
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    char base[65];
    size_t k = 0;
    for (size_t i = start; i < end && k < sizeof base - 1; i++) {
        char c = path[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        base[k++] = ok ? c : '_';
    }
    base[k] = '\0';
    if (k == 0 || base[0] == '.')
        snprintf(base, sizeof base, "project");
    char leaf[96];
    snprintf(leaf, sizeof leaf, "%s-%016llx", base, (unsigned long long)cf_hash_string(path));

    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/') {
        snprintf(buf, len, "%s/cog-fcgi/%s", xdg, leaf);
        return;
    }
    if (geteuid() == 0) {
        snprintf(buf, len, "/var/lib/cog-fcgi/%s", leaf);
        return;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (home && home[0] == '/')
        snprintf(buf, len, "%s/.local/state/cog-fcgi/%s", home, leaf);
    else
        snprintf(buf, len, "/var/tmp/cog-fcgi-%ld/%s", (long)geteuid(), leaf);
}
