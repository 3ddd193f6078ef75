/* test_metrics.c - the /metrics counters and their Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(cf_metrics *m, const cf_metrics_pool *pool)
{
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(cf_metrics_render(m, pool, &buf, &len), CF_OK);
    assert_int_equal(strlen(buf), len);
    return buf;
}

static void counts_and_histograms(void **state)
{
    (void)state;
    cf_metrics *m = cf_metrics_new("hello");
    assert_non_null(m);
    cf_metrics_ended(m, CF_STATUS_SUCCEEDED);
    cf_metrics_ended(m, CF_STATUS_SUCCEEDED);
    cf_metrics_ended(m, CF_STATUS_CANCELED);
    cf_metrics_started(m, 0.003, -1);
    cf_metrics_started(m, 2.0, 1.5);
    cf_metrics_ran(m, 0.2, "alice");
    cf_metrics_ran(m, 1.0, "alice");
    cf_metrics_ran(m, 4.0, NULL);
    cf_metrics_custom(m, "tokens", 10);
    cf_metrics_custom(m, "tokens", 5);
    cf_metrics_pool pool = {.queue_depth = 3, .slots_by_state = {1, 0, 2, 1, 0, 0},
                            .boots = 4, .capacity = 4};
    char *t = render(m, &pool);
    assert_non_null(strstr(t, "# TYPE cog_predictions_total counter\n"));
    assert_non_null(strstr(t, "cog_predictions_total{model=\"hello\",status=\"succeeded\"} 2\n"));
    assert_non_null(strstr(t, "cog_predictions_total{model=\"hello\",status=\"canceled\"} 1\n"));
    /* buckets are cumulative; +Inf is the count */
    assert_non_null(strstr(t, "cog_queue_duration_seconds_bucket{model=\"hello\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(t, "cog_queue_duration_seconds_bucket{model=\"hello\",le=\"2.5\"} 2\n"));
    assert_non_null(strstr(t, "cog_queue_duration_seconds_bucket{model=\"hello\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(t, "cog_boot_duration_seconds_count{model=\"hello\"} 1\n"));
    assert_non_null(strstr(t, "cog_predict_duration_seconds_sum{model=\"hello\"} 5.200000\n"));
    assert_non_null(strstr(t, "cog_user_predict_seconds_total{model=\"hello\",user=\"alice\"} 1.200000\n"));
    assert_non_null(strstr(t, "cog_user_predictions_total{model=\"hello\",user=\"-\"} 1\n"));
    assert_non_null(strstr(t, "cog_queue_depth{model=\"hello\"} 3\n"));
    assert_non_null(strstr(t, "cog_slots{model=\"hello\",state=\"idle\"} 2\n"));
    assert_non_null(strstr(t, "cog_worker_boots_total{model=\"hello\"} 4\n"));
    assert_non_null(strstr(t, "cog_model_metric_sum{model=\"hello\",name=\"tokens\"} 15\n"));
    assert_non_null(strstr(t, "cog_model_metric_count{model=\"hello\",name=\"tokens\"} 2\n"));
    free(t);
    cf_metrics_free(m);
    cf_metrics_free(NULL);
}

static void labels_are_escaped(void **state)
{
    (void)state;
    cf_metrics *m = cf_metrics_new("a\"b");
    cf_metrics_ran(m, 1, "x\\y\nz");
    cf_metrics_pool pool = {0};
    char *t = render(m, &pool);
    assert_non_null(strstr(t, "{model=\"a\\\"b\",user=\"x\\\\y\\nz\"} 1.000000\n"));
    free(t);
    cf_metrics_free(m);
}

static void users_are_bounded(void **state)
{
    (void)state;
    cf_metrics *m = cf_metrics_new("m");
    char name[32];
    for (int i = 0; i < 1200; i++) {
        snprintf(name, sizeof name, "u%d", i);
        cf_metrics_ran(m, 1, name);
    }
    cf_metrics_pool pool = {0};
    char *t = render(m, &pool);
    assert_non_null(strstr(t, "user=\"other\"} 200\n"));
    assert_null(strstr(t, "user=\"u1100\""));
    free(t);
    cf_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_histograms),
        cmocka_unit_test(labels_are_escaped),
        cmocka_unit_test(users_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
