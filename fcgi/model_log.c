/* model_log.c - copies the model's output to the server's log, line by line, within limits. */
#include "model_log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define SLOTS 4

/* One id's output in progress. */
typedef struct out_slot {
    char id[96];                       /* "" when free */
    char line[CF_MODEL_LOG_LINE_MAX];  /* the current line, not yet logged */
    size_t len;                        /* bytes in line */
    size_t cut;                        /* bytes of the current line past the cap */
    size_t bytes, lines;               /* copied to the log so far */
    size_t dropped_bytes;              /* past the budget: counted only */
    size_t dropped_lines;
    unsigned long stamp;               /* last use, to pick a slot to reuse */
} out_slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static out_slot slots[SLOTS];
static unsigned long clock_ticks;
static int raw_mode;

void cf_model_log_set_raw(int raw) { raw_mode = raw; }

/* Logs s's current line (when within the budget) and empties it. Lock held. */
static void emit_line(out_slot *s)
{
    size_t n = s->len + s->cut + 1;
    if (s->bytes + n > CF_MODEL_LOG_BUDGET || s->lines >= CF_MODEL_LOG_LINES) {
        if (s->dropped_lines++ == 0) /* said at once, for whoever watches a long flood */
            cf_log_warn("CF0331", "[%s] the model's output passed %u KiB or %u lines: the rest "
                        "is counted, not copied here (a total follows at its end)", s->id,
                        CF_MODEL_LOG_BUDGET / 1024, CF_MODEL_LOG_LINES);
        s->dropped_bytes += n;
    } else {
        s->bytes += n;
        s->lines++;
        if (s->cut)
            cf_log_info("CF0330", "[%s] %.*s... (%zu more bytes)", s->id, (int)s->len, s->line,
                        s->cut);
        else
            cf_log_info("CF0330", "[%s] %.*s", s->id, (int)s->len, s->line);
    }
    s->len = 0;
    s->cut = 0;
}

/* The unterminated line and the note of what the budget left out; frees the slot. */
static void flush_slot(out_slot *s)
{
    if (s->len || s->cut)
        emit_line(s);
    if (s->dropped_lines)
        cf_log_warn("CF0331", "[%s] %zu more bytes (%zu lines) of model output suppressed here: "
                    "this log keeps %u KiB or %u lines per prediction; the prediction's logs "
                    "have everything", s->id, s->dropped_bytes, s->dropped_lines,
                    CF_MODEL_LOG_BUDGET / 1024, CF_MODEL_LOG_LINES);
    memset(s, 0, sizeof *s);
}

/* id's slot: the one in use, else a free one, else the least recently used one (flushed).
 * Lock held. */
static out_slot *slot_for(const char *id)
{
    out_slot *pick = &slots[0];
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].id[0] && strcmp(slots[i].id, id) == 0) {
            slots[i].stamp = ++clock_ticks;
            return &slots[i];
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].id[0] == '\0') {
            pick = &slots[i];
            break;
        }
        if (slots[i].stamp < pick->stamp)
            pick = &slots[i];
    }
    if (pick->id[0])
        flush_slot(pick);
    snprintf(pick->id, sizeof pick->id, "%s", id);
    pick->stamp = ++clock_ticks;
    return pick;
}

void cf_model_log_write(const char *id, const char *buf, size_t n)
{
    if (raw_mode) {
        while (n > 0) {
            ssize_t w = write(2, buf, n);
            if (w <= 0)
                return;
            buf += w;
            n -= (size_t)w;
        }
        return;
    }
    if (id == NULL || n == 0)
        return;
    pthread_mutex_lock(&lock);
    out_slot *s = slot_for(id);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch == '\n') {
            emit_line(s);
            continue;
        }
        if (ch == '\r') {
            /* "\r\n" ends the line; a lone "\r" (a progress bar) starts it over */
            if (i + 1 < n && buf[i + 1] == '\n')
                continue;
            s->len = 0;
            s->cut = 0;
            continue;
        }
        if (ch < 0x20 && ch != '\t')
            ch = '?';
        else if (ch == 0x7f)
            ch = '?';
        if (s->len < sizeof s->line)
            s->line[s->len++] = (char)ch;
        else
            s->cut++;
    }
    pthread_mutex_unlock(&lock);
}

int cf_model_log_last_frame(const char *logs, char *buf, size_t len)
{
    const char *found = NULL, *p = logs;
    if (len)
        buf[0] = '\0';
    while (p && (p = strstr(p, "File \"")) != NULL) {
        found = p;
        p += 6;
    }
    if (found == NULL)
        return 0;
    const char *path = found + 6;
    const char *q = strchr(path, '"');
    if (q == NULL || strncmp(q, "\", line ", 8) != 0)
        return 0;
    int line = 0;
    const char *d = q + 8;
    while (*d >= '0' && *d <= '9')
        line = line * 10 + (*d++ - '0');
    const char *func = NULL;
    size_t flen = 0;
    if (strncmp(d, ", in ", 5) == 0) {
        func = d + 5;
        flen = strcspn(func, "\r\n");
    }
    if (func)
        snprintf(buf, len, "%.*s:%d, in %.*s", (int)(q - path), path, line, (int)flen, func);
    else
        snprintf(buf, len, "%.*s:%d", (int)(q - path), path, line);
    return 1;
}

/* The exception line that ends a traceback ("ModuleNotFoundError: No module named 'x'"):
 * the last line after the last frame that starts with a dotted name and ": ". Pure. */
static int exception_line(const char *logs, char *buf, size_t len)
{
    const char *p = logs, *last = NULL, *frame = NULL;
    while (p && (p = strstr(p, "File \"")) != NULL)
        frame = p++;
    if (frame == NULL)
        return 0;
    for (p = frame; *p; p++) {
        if (p != frame && p[-1] != '\n')
            continue;
        const char *q = p;
        while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
               *q == '_' || *q == '.')
            q++;
        if (q > p && *p >= 'A' && *p <= 'Z' && (q[0] == ':' || q[0] == '\n' || q[0] == '\0'))
            last = p;
    }
    if (last == NULL)
        return 0;
    snprintf(buf, len, "%.*s", (int)strcspn(last, "\r\n"), last);
    return 1;
}

void cf_model_log_end(const char *id, const char *what, const char *error, const char *logs)
{
    if (id == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (int i = 0; !raw_mode && i < SLOTS; i++)
        if (slots[i].id[0] && strcmp(slots[i].id, id) == 0)
            flush_slot(&slots[i]);
    pthread_mutex_unlock(&lock);
    if (error == NULL)
        return;
    const char *code = "CF0332";
    if (what == NULL) {
        /* setup: the model's import (or the cog.yaml reference) failed, or setup() did */
        code = "CF0307";
        what = logs && (strstr(logs, ", in setup\n") || strstr(logs, ", in _setup\n"))
                   ? "setup()"
                   : "loading the model (importing it)";
        if (logs == NULL || strstr(logs, "File \"") == NULL)
            what = "setup";
    }
    /* The exception's type in front of error when the traceback ends with it: "TYPE: MSG"
     * where MSG is error or begins it (a SyntaxError's str() adds "(file, line N)"). */
    char where[600], line[700], exc[1400];
    snprintf(exc, sizeof exc, "%s", error);
    if (exception_line(logs, line, sizeof line)) {
        char *colon = strstr(line, ": ");
        if (colon == NULL && *error == '\0')
            snprintf(exc, sizeof exc, "%s", line);
        else if (colon != NULL && strncmp(error, colon + 2, strlen(colon + 2)) == 0)
            snprintf(exc, sizeof exc, "%.*s: %s", (int)(colon - line), line, error);
    }
    int found = cf_model_log_last_frame(logs, where, sizeof where);
    if (raw_mode) {
        /* the one-shot command: a plain line after the model's own output */
        char line[3000];
        int n = snprintf(line, sizeof line, "cog-fcgi: %s failed: %s%s%s%s\n", what, exc,
                         found ? " (at " : "", found ? where : "", found ? ")" : "");
        if (n > 0) {
            ssize_t w = write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
            (void)w;
        }
    } else if (found) {
        cf_log_error(code, "[%s] %s failed: %s (at %s)", id, what, exc, where);
    } else {
        cf_log_error(code, "[%s] %s failed: %s", id, what, exc);
    }
}
