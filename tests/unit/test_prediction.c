/* test_prediction.c - the prediction response and webhook encodings (§4, §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_out.h"
#include "prediction.h"
#include "prefer.h"

static char *keys_of(json_t *o)
{
    static char buf[512];
    buf[0] = '\0';
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        strcat(buf, k);
        strcat(buf, ",");
    }
    return buf;
}

static void response_has_every_key_in_cogs_order(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("p1");
    p->input_echo = json_pack("{s:s}", "text", "hi");
    json_t *o = cf_prediction_to_json(p);
    assert_string_equal(keys_of(o), "input,output,id,version,created_at,started_at,"
                                    "completed_at,logs,error,status,metrics,");
    assert_true(json_is_null(json_object_get(o, "output")));
    assert_true(json_is_null(json_object_get(o, "metrics")));
    assert_string_equal(json_string_value(json_object_get(o, "status")), "processing");
    json_decref(o);
    cf_prediction_decref(p);
}

static void success_carries_predict_time_and_custom_metrics(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("p2");
    p->started_at = 1000.0;
    p->completed_at = 1000.25;
    p->status = CF_STATUS_SUCCEEDED;
    p->metrics = json_pack("{s:i}", "tokens", 7);
    json_t *o = cf_prediction_to_json(p);
    json_t *m = json_object_get(o, "metrics");
    assert_true(json_is_real(json_object_get(m, "predict_time")));
    assert_true(json_real_value(json_object_get(m, "predict_time")) > 0.24);
    assert_int_equal(json_integer_value(json_object_get(m, "tokens")), 7);
    assert_string_equal(json_string_value(json_object_get(o, "started_at")),
                        "1970-01-01T00:16:40.000000+00:00");
    json_decref(o);
    cf_prediction_decref(p);
}

static void failure_has_no_metrics_and_an_error(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("p3");
    p->started_at = 1.0;
    p->completed_at = 2.0;
    p->status = CF_STATUS_FAILED;
    cf_prediction_set_error(p, "boom");
    json_t *o = cf_prediction_to_json(p);
    assert_true(json_is_null(json_object_get(o, "metrics")));
    assert_string_equal(json_string_value(json_object_get(o, "error")), "boom");
    json_decref(o);
    json_t *w = cf_prediction_to_webhook_json(p);
    assert_string_equal(keys_of(w), "input,output,id,created_at,started_at,completed_at,logs,"
                                    "error,status,");
    json_decref(w);
    cf_prediction_decref(p);
}

static void webhook_leaves_out_unset_keys(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("p4");
    p->started_at = 5.0;
    json_t *w = cf_prediction_to_webhook_json(p);
    assert_string_equal(keys_of(w), "input,output,id,created_at,started_at,logs,status,");
    json_decref(w);
    cf_prediction_decref(p);
}

static void logs_grow(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("p5");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cf_prediction_append_logs(p, "line\n", 5), 0);
    assert_int_equal(strlen(p->logs), 5000);
    cf_prediction_decref(p);
}

static void generated_ids_look_like_cogs(void **state)
{
    (void)state;
    char a[64], b[64];
    cf_prediction_generate_id(a, sizeof a);
    cf_prediction_generate_id(b, sizeof b);
    assert_int_equal(strlen(a), 31);
    assert_memory_equal(a, "pred_", 5);
    assert_string_not_equal(a, b);
    for (const char *c = a + 5; *c; c++)
        assert_true((*c >= 'a' && *c <= 'z') || (*c >= '2' && *c <= '7'));
}

static void prefer_follows_rfc_7240(void **state)
{
    (void)state;
    assert_true(cf_prefer_respond_async("respond-async"));
    assert_true(cf_prefer_respond_async("RESPOND-ASYNC"));
    assert_true(cf_prefer_respond_async("respond-async, wait=5"));
    assert_true(cf_prefer_respond_async("wait=5, respond-async"));
    assert_true(cf_prefer_respond_async("handling=lenient; x=\"a,b\", respond-async"));
    assert_false(cf_prefer_respond_async("respond-asyncx"));
    assert_false(cf_prefer_respond_async("wait=5"));
    assert_false(cf_prefer_respond_async(NULL));
    assert_false(cf_prefer_respond_async("x=\"respond-async\""));
}

static void durations_parse(void **state)
{
    (void)state;
    double s;
    assert_int_equal(cf_parse_duration("30s", &s), 0);
    assert_true(s == 30);
    assert_int_equal(cf_parse_duration("5m", &s), 0);
    assert_true(s == 300);
    assert_int_equal(cf_parse_duration("1h30m", &s), 0);
    assert_true(s == 5400);
    assert_int_equal(cf_parse_duration("250ms", &s), 0);
    assert_true(s > 0.249 && s < 0.251);
    assert_int_equal(cf_parse_duration("2.5", &s), 0);
    assert_true(s == 2.5);
    assert_int_not_equal(cf_parse_duration("soon", &s), 0);
    assert_int_not_equal(cf_parse_duration("", &s), 0);
    assert_int_not_equal(cf_parse_duration("5x", &s), 0);
}

static void logs_that_are_not_utf8_stay_in_every_view(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("pred_bytes");
    const char raw[] = "ok \xff end\n";
    cf_prediction_append_logs(p, raw, sizeof raw - 1);
    json_t *views[] = {cf_prediction_to_json(p), cf_prediction_to_webhook_json(p)};
    for (int i = 0; i < 2; i++) {
        assert_string_equal(json_string_value(json_object_get(views[i], "logs")),
                            "ok \xEF\xBF\xBD end\n");
        json_decref(views[i]);
    }
    char out[64];
    size_t kept = 0;
    /* a sequence cut by the end of a chunk waits for the next one */
    size_t n = cf_text_clean("a\xc3", 2, out, &kept);
    assert_int_equal(n, 1);
    assert_int_equal(kept, 1);
    cf_prediction_decref(p);
}

static void floats_are_written_as_python_does(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:f, s:f, s:f, s:i, s:s, s:[b,n]}", "a", 0.1, "b", 1.0, "c",
                          0.1 + 0.2, "d", 7, "e", "q\"\n\u00e9", "f", 1);
    char *text = cf_json_dumps(v);
    assert_string_equal(text, "{\"a\":0.1,\"b\":1.0,\"c\":0.30000000000000004,\"d\":7,"
                              "\"e\":\"q\\\"\\n\u00e9\",\"f\":[true,null]}");
    free(text);
    json_decref(v);
}

/* The text written from the record is the dump of the json_t view, byte
 * for byte, or NULL where that view is the one to use. */
static void text_matches(const cf_prediction *p)
{
    json_t *v = cf_prediction_to_json(p);
    char *want = cf_json_dumps(v);
    size_t len = 0;
    char *got = cf_prediction_response_text(p, 1 << 20, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    free(got);
    assert_null(cf_prediction_response_text(p, strlen(want) - 1, &len));
    assert_int_equal(len, strlen(want));
    free(want);
    json_decref(v);
}

static void response_text_is_the_json_views_dump(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("pred_text");
    text_matches(p); /* nothing set */
    p->input_echo = json_pack("{s:s, s:f, s:[i,n]}", "prompt", "q\"\n\u00e9\x01", "t", 0.1, "n", 3);
    p->created_at = strdup("2026-12-01T17:39:59.338872+00:00");
    p->started_at = 1796146799.338872;
    text_matches(p); /* running */
    p->completed_at = 1796146799.339481;
    p->status = CF_STATUS_SUCCEEDED;
    p->output = json_pack("[f, s, {s:b}]", 2.0, "x", "k", 1);
    cf_prediction_append_logs(p, "line\n\tmore\0nul", 15);
    size_t n = 1;
    assert_null(cf_prediction_response_text(p, 1 << 20, &n)); /* a NUL in the logs: the json_t */
    assert_int_equal(n, 0);
    p->logs_len = 0; /* the logs start again */
    cf_prediction_append_logs(p, "line\n\tmore \u00e9\n", 14);
    text_matches(p);
    p->metrics = json_pack("{s:f, s:i}", "queue_time", 0.000123, "tokens", 7);
    text_matches(p); /* predict_time first, then the recorded ones */
    json_object_set_new(p->metrics, "predict_time", json_real(9.5));
    text_matches(p); /* the model's own predict_time in its place */
    p->status = CF_STATUS_FAILED;
    cf_prediction_set_error(p, "it \"broke\"");
    text_matches(p); /* failed: the recorded metrics only */
    json_decref(p->metrics);
    p->metrics = NULL;
    text_matches(p); /* failed, no metrics: null */
    cf_prediction_set_error(p, "bad \xff byte");
    size_t len = 1;
    assert_null(cf_prediction_response_text(p, 1 << 20, &len)); /* not UTF-8: the json_t */
    assert_int_equal(len, 0);
    cf_prediction_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(response_has_every_key_in_cogs_order),
        cmocka_unit_test(success_carries_predict_time_and_custom_metrics),
        cmocka_unit_test(failure_has_no_metrics_and_an_error),
        cmocka_unit_test(webhook_leaves_out_unset_keys),
        cmocka_unit_test(logs_grow),
        cmocka_unit_test(generated_ids_look_like_cogs),
        cmocka_unit_test(prefer_follows_rfc_7240),
        cmocka_unit_test(durations_parse),
        cmocka_unit_test(logs_that_are_not_utf8_stay_in_every_view),
        cmocka_unit_test(floats_are_written_as_python_does),
        cmocka_unit_test(response_text_is_the_json_views_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
