/* prediction_text.c - the response object written as text straight from the record.
 *
 * A sync answer used to be built as a json_t (eleven keys, their strings
 * copied, a hash table) and then serialised: at thousands of predictions a
 * second that was a quarter of the front's instructions. This writes the
 * same bytes as cf_json_dumps(cf_prediction_to_json(p)) in one pass, the
 * input, output and metrics values written from the record's own json_t.
 * A record with text that is not UTF-8 (json_string would refuse it) is
 * left to the json_t path, which knows what to do with it.
 */
#include "prediction.h"

#include <math.h>
#include <string.h>

#include "clock.h"
#include "json_out.h"
#include "pyfloat.h"
#include "utf8.h"

static void put_time_or_null(cf_json_buf *b, double t)
{
    if (t <= 0) {
        CF_JSON_BUF_LIT(b, "null");
        return;
    }
    char buf[64];
    cf_format_time(t, buf, sizeof buf);
    cf_json_buf_string(b, buf, strlen(buf));
}

/* As prediction.c's metrics_json: on success predict_time first (the
 * model's own predict_time, if it recorded one, in its place), then the
 * recorded metrics in their order; otherwise the recorded ones or null. */
static void put_metrics(cf_json_buf *b, const cf_prediction *p)
{
    int custom = p->metrics != NULL && json_object_size(p->metrics) > 0;
    if (p->status != CF_STATUS_SUCCEEDED) {
        if (custom)
            cf_json_buf_value(b, p->metrics);
        else
            CF_JSON_BUF_LIT(b, "null");
        return;
    }
    CF_JSON_BUF_LIT(b, "{\"predict_time\":");
    json_t *own = custom ? json_object_get(p->metrics, "predict_time") : NULL;
    if (own) {
        cf_json_buf_value(b, own);
    } else {
        char num[64];
        double t = round((p->completed_at - p->started_at) * 1e6) / 1e6;
        cf_json_buf_cstr(b, cf_pylike_float_repr(t < 0 ? 0 : t, num, sizeof num));
    }
    if (custom) {
        const char *key;
        json_t *v;
        json_object_foreach(p->metrics, key, v) {
            if (strcmp(key, "predict_time") == 0)
                continue;
            CF_JSON_BUF_LIT(b, ",");
            cf_json_buf_string(b, key, strlen(key));
            CF_JSON_BUF_LIT(b, ":");
            cf_json_buf_value(b, v);
        }
    }
    CF_JSON_BUF_LIT(b, "}");
}

/* Whether every string the response shows is UTF-8 already. */
static int all_utf8(const cf_prediction *p)
{
    if (!cf_text_is_utf8(p->id) || (p->created_at && !cf_text_is_utf8(p->created_at)) ||
        (p->error && !cf_text_is_utf8(p->error)))
        return 0;
    return p->logs == NULL || p->logs_len == 0 ||
           (memchr(p->logs, '\0', p->logs_len) == NULL && cf_text_is_utf8(p->logs));
}

char *cf_prediction_response_text(const cf_prediction *p, size_t max, size_t *len)
{
    *len = 0;
    if (!all_utf8(p))
        return NULL;
    cf_json_buf b;
    cf_json_buf_open(&b, max);
    CF_JSON_BUF_LIT(&b, "{\"input\":");
    if (p->input_echo)
        cf_json_buf_value(&b, p->input_echo);
    else
        CF_JSON_BUF_LIT(&b, "{}");
    CF_JSON_BUF_LIT(&b, ",\"output\":");
    cf_json_buf_value_or_null(&b, p->output);
    CF_JSON_BUF_LIT(&b, ",\"id\":");
    cf_json_buf_string(&b, p->id, strlen(p->id));
    CF_JSON_BUF_LIT(&b, ",\"version\":null,\"created_at\":");
    cf_json_buf_string_or_null(&b, p->created_at);
    CF_JSON_BUF_LIT(&b, ",\"started_at\":");
    put_time_or_null(&b, p->started_at);
    CF_JSON_BUF_LIT(&b, ",\"completed_at\":");
    put_time_or_null(&b, p->completed_at);
    CF_JSON_BUF_LIT(&b, ",\"logs\":");
    cf_json_buf_string(&b, p->logs ? p->logs : "", p->logs ? p->logs_len : 0);
    CF_JSON_BUF_LIT(&b, ",\"error\":");
    cf_json_buf_string_or_null(&b, p->error);
    CF_JSON_BUF_LIT(&b, ",\"status\":\"");
    cf_json_buf_cstr(&b, cf_status_name(p->status));
    CF_JSON_BUF_LIT(&b, "\",\"metrics\":");
    put_metrics(&b, p);
    CF_JSON_BUF_LIT(&b, "}");
    return cf_json_buf_close(&b, len);
}
