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

#include "decimal.h"
#include "json_out.h"
#include "pyfloat.h"
#include "utf8.h"

#define LIT CF_JSON_BUF_LIT

/* ,"k": in one piece: as three pieces with strlen the thirty keys were
 * half of the text's cost. */
#define KEY(b, k) LIT((b), ",\"" k "\":")

static void boolean(cf_json_buf *b, int v)
{
    if (v)
        LIT(b, "true");
    else
        LIT(b, "false");
}

static void integer(cf_json_buf *b, unsigned long long v)
{
    char digits[CF_DECIMAL_MAX];
    cf_json_buf_raw(b, digits, cf_decimal(digits, v));
}

static void real(cf_json_buf *b, double d)
{
    char num[64];
    cf_json_buf_cstr(b, cf_pylike_float_repr(d, num, sizeof num));
}

/* input_worker without the values of Secret inputs, as state.c's
 * worker_input_json; *omitted says whether one was left out. */
static void worker_input(cf_json_buf *b, const cf_prediction *p, int *omitted)
{
    *omitted = 0;
    if (p->input_worker == NULL || !json_is_object(p->input_worker)) {
        cf_json_buf_value_or_null(b, p->input_worker);
        return;
    }
    const char *name;
    json_t *v;
    int first = 1;
    LIT(b, "{");
    json_object_foreach(p->input_worker, name, v) {
        const char *kind = json_string_value(json_object_get(p->kinds, name));
        if (kind && strcmp(kind, "secret") == 0 && !json_is_null(v)) {
            *omitted = 1;
            continue;
        }
        if (!first)
            LIT(b, ",");
        first = 0;
        cf_json_buf_string(b, name, strlen(name));
        LIT(b, ":");
        cf_json_buf_value(b, v);
    }
    LIT(b, "}");
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
    LIT(&b, "{\"version\":");
    integer(&b, CF_STATE_RECORD_VERSION);
    LIT(&b, ",\"id\":");
    cf_json_buf_string(&b, p->id, strlen(p->id));
    KEY(&b, "seq");
    integer(&b, seq);
    KEY(&b, "phase");
    cf_json_buf_cstr(&b, terminal ? "\"finished\"" : running ? "\"running\"" : "\"queued\"");
    KEY(&b, "is_training");
    boolean(&b, p->is_training);
    KEY(&b, "is_async");
    boolean(&b, p->is_async);
    KEY(&b, "input_echo");
    cf_json_buf_value_or_null(&b, p->input_echo);
    KEY(&b, "input_worker");
    worker_input(&b, p, &omitted);
    KEY(&b, "secrets_omitted");
    boolean(&b, omitted);
    KEY(&b, "kinds");
    cf_json_buf_value_or_null(&b, p->kinds);
    KEY(&b, "context");
    cf_json_buf_value_or_null(&b, p->context);
    KEY(&b, "output");
    cf_json_buf_value_or_null(&b, p->output);
    KEY(&b, "output_is_iterator");
    boolean(&b, p->output_is_iterator);
    KEY(&b, "created_at");
    cf_json_buf_string_or_null(&b, p->created_at);
    KEY(&b, "started_at");
    real(&b, p->started_at);
    KEY(&b, "completed_at");
    real(&b, p->completed_at);
    KEY(&b, "logs");
    cf_json_buf_string(&b, p->logs ? p->logs : "", p->logs ? p->logs_len : 0);
    KEY(&b, "error");
    cf_json_buf_string_or_null(&b, p->error);
    KEY(&b, "status");
    LIT(&b, "\"");
    cf_json_buf_cstr(&b, cf_status_name(p->status));
    LIT(&b, "\"");
    KEY(&b, "metrics");
    cf_json_buf_value_or_null(&b, p->metrics);
    KEY(&b, "webhook");
    cf_json_buf_string_or_null(&b, p->webhook);
    KEY(&b, "events");
    integer(&b, p->events);
    KEY(&b, "traceparent");
    cf_json_buf_string_or_null(&b, p->traceparent);
    KEY(&b, "tracestate");
    cf_json_buf_string_or_null(&b, p->tracestate);
    KEY(&b, "tempdir");
    cf_json_buf_string_or_null(&b, p->tempdir);
    KEY(&b, "raw_files");
    boolean(&b, p->raw_files);
    KEY(&b, "cancel_requested");
    boolean(&b, p->cancel_requested);
    KEY(&b, "deadline_wall");
    real(&b, cf_state_deadline_wall(p));
    KEY(&b, "terminal_webhook_pending");
    boolean(&b, p->terminal_webhook_pending);
    LIT(&b, "}");
    return cf_json_buf_close(&b, len);
}
