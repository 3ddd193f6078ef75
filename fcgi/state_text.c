/* state_text.c - a record's state-file text written straight from the record.
 *
 * Every finished sync prediction leaves memory through the spill once the
 * byte budget is full, so at thousands a second building its thirty-key
 * json_t (under the runner's lock) and serialising it was a quarter of the
 * front's work. This writes the same bytes as
 * cf_json_dumps(cf_state_record_json(p, running, seq)) in one pass; a
 * record with text that is not UTF-8 is left to the json_t path (which
 * encodes such an id and cleans such logs).
 */
#include "state.h"

#include <string.h>

#include "json_out.h"
#include "pyfloat.h"
#include "utf8.h"

static void lit(cf_json_buf *b, const char *s)
{
    cf_json_buf_raw(b, s, strlen(s));
}

static void key(cf_json_buf *b, const char *k)
{
    lit(b, ",\"");
    lit(b, k);
    lit(b, "\":");
}

static void str_or_null(cf_json_buf *b, const char *s)
{
    if (s)
        cf_json_buf_string(b, s, strlen(s));
    else
        lit(b, "null");
}

static void value_or_null(cf_json_buf *b, const json_t *v)
{
    if (v)
        cf_json_buf_value(b, v);
    else
        lit(b, "null");
}

static void boolean(cf_json_buf *b, int v)
{
    lit(b, v ? "true" : "false");
}

static void integer(cf_json_buf *b, unsigned long long v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    cf_json_buf_raw(b, digits + sizeof digits - n, n);
}

static void real(cf_json_buf *b, double d)
{
    char num[64];
    lit(b, cf_pylike_float_repr(d, num, sizeof num));
}

/* input_worker without the values of Secret inputs, as state.c's
 * worker_input_json; *omitted says whether one was left out. */
static void worker_input(cf_json_buf *b, const cf_prediction *p, int *omitted)
{
    *omitted = 0;
    if (p->input_worker == NULL || !json_is_object(p->input_worker)) {
        value_or_null(b, p->input_worker);
        return;
    }
    const char *name;
    json_t *v;
    int first = 1;
    lit(b, "{");
    json_object_foreach(p->input_worker, name, v) {
        const char *kind = json_string_value(json_object_get(p->kinds, name));
        if (kind && strcmp(kind, "secret") == 0 && !json_is_null(v)) {
            *omitted = 1;
            continue;
        }
        if (!first)
            lit(b, ",");
        first = 0;
        cf_json_buf_string(b, name, strlen(name));
        lit(b, ":");
        cf_json_buf_value(b, v);
    }
    lit(b, "}");
}

static int utf8_or_null(const char *s)
{
    return s == NULL || cf_text_is_utf8(s);
}

char *cf_state_record_text(const cf_prediction *p, int running, unsigned long long seq,
                           size_t max, size_t *len)
{
    *len = 0;
    if (!cf_text_is_utf8(p->id) || !utf8_or_null(p->created_at) || !utf8_or_null(p->error) ||
        !utf8_or_null(p->webhook) || !utf8_or_null(p->traceparent) ||
        !utf8_or_null(p->tracestate) || !utf8_or_null(p->tempdir) ||
        (p->logs && p->logs_len > 0 &&
         (memchr(p->logs, '\0', p->logs_len) != NULL || !cf_text_is_utf8(p->logs))))
        return NULL;
    int terminal = cf_prediction_is_terminal(p), omitted = 0;
    cf_json_buf b;
    cf_json_buf_open(&b, max);
    lit(&b, "{\"version\":");
    integer(&b, CF_STATE_RECORD_VERSION);
    lit(&b, ",\"id\":");
    cf_json_buf_string(&b, p->id, strlen(p->id));
    key(&b, "seq");
    integer(&b, seq);
    key(&b, "phase");
    lit(&b, terminal ? "\"finished\"" : running ? "\"running\"" : "\"queued\"");
    key(&b, "is_training");
    boolean(&b, p->is_training);
    key(&b, "is_async");
    boolean(&b, p->is_async);
    key(&b, "input_echo");
    value_or_null(&b, p->input_echo);
    key(&b, "input_worker");
    worker_input(&b, p, &omitted);
    key(&b, "secrets_omitted");
    boolean(&b, omitted);
    key(&b, "kinds");
    value_or_null(&b, p->kinds);
    key(&b, "context");
    value_or_null(&b, p->context);
    key(&b, "output");
    value_or_null(&b, p->output);
    key(&b, "output_is_iterator");
    boolean(&b, p->output_is_iterator);
    key(&b, "created_at");
    str_or_null(&b, p->created_at);
    key(&b, "started_at");
    real(&b, p->started_at);
    key(&b, "completed_at");
    real(&b, p->completed_at);
    key(&b, "logs");
    cf_json_buf_string(&b, p->logs ? p->logs : "", p->logs ? p->logs_len : 0);
    key(&b, "error");
    str_or_null(&b, p->error);
    key(&b, "status");
    lit(&b, "\"");
    lit(&b, cf_status_name(p->status));
    lit(&b, "\"");
    key(&b, "metrics");
    value_or_null(&b, p->metrics);
    key(&b, "webhook");
    str_or_null(&b, p->webhook);
    key(&b, "events");
    integer(&b, p->events);
    key(&b, "traceparent");
    str_or_null(&b, p->traceparent);
    key(&b, "tracestate");
    str_or_null(&b, p->tracestate);
    key(&b, "tempdir");
    str_or_null(&b, p->tempdir);
    key(&b, "raw_files");
    boolean(&b, p->raw_files);
    key(&b, "cancel_requested");
    boolean(&b, p->cancel_requested);
    key(&b, "deadline_wall");
    real(&b, cf_state_deadline_wall(p));
    key(&b, "terminal_webhook_pending");
    boolean(&b, p->terminal_webhook_pending);
    lit(&b, "}");
    return cf_json_buf_close(&b, len);
}
