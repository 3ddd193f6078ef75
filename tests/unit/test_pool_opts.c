/* test_pool_opts.c - the pool's serve flags: --workers, --gpus, --idle-timeout, --min-workers, --metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pool_opts.h"

static void workers_and_min(void **state)
{
    (void)state;
    cf_pool_opts o;
    cf_error err;
    cf_runner_config cfg = {0};
    cf_pool_opts_init(&o);
    assert_int_equal(o.workers, 1);
    assert_int_equal(cf_pool_opts_set(&o, "--workers", "4", &err), CF_OK);
    assert_int_equal(cf_pool_opts_set(&o, "--min-workers", "2", &err), CF_OK);
    assert_int_equal(cf_pool_opts_apply(&o, &cfg, &err), CF_OK);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.min_workers, 2);
    assert_int_equal(cf_pool_opts_set(&o, "--min-workers", "5", &err), CF_OK);
    assert_int_equal(cf_pool_opts_apply(&o, &cfg, &err), CF_EINVAL);
    assert_non_null(strstr(err.msg, "--min-workers 5 is more than --workers 4"));
}

static void bad_numbers(void **state)
{
    (void)state;
    static const char *const bad[] = {"0", "-1", "x", "2x", " 2", "65", "", "0x2"};
    cf_pool_opts o;
    cf_error err;
    cf_pool_opts_init(&o);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cf_pool_opts_set(&o, "--workers", bad[i], &err), CF_EINVAL);
        assert_non_null(strstr(err.msg, "--workers: expected a whole number from 1 to 64"));
    }
    assert_int_equal(o.workers, 1);
}

static void durations(void **state)
{
    (void)state;
    cf_pool_opts o;
    cf_error err;
    cf_pool_opts_init(&o);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "1s", &err), CF_OK);
    assert_true(o.idle_timeout == 1.0);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "500ms", &err), CF_OK);
    assert_true(o.idle_timeout == 0.5);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "10m", &err), CF_OK);
    assert_true(o.idle_timeout == 600);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "2h", &err), CF_OK);
    assert_true(o.idle_timeout == 7200);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "30", &err), CF_OK);
    assert_true(o.idle_timeout == 30);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "1d", &err), CF_EINVAL);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "-1s", &err), CF_EINVAL);
    assert_int_equal(cf_pool_opts_set(&o, "--idle-timeout", "soon", &err), CF_EINVAL);
    assert_non_null(strstr(err.msg, "--idle-timeout: expected a duration from 0"));
}

static void gpus(void **state)
{
    (void)state;
    cf_pool_opts o;
    cf_error err;
    cf_runner_config cfg = {0};
    cf_pool_opts_init(&o);
    assert_int_equal(cf_pool_opts_set(&o, "--gpus", "0,1", &err), CF_OK);
    assert_string_equal(o.devices[0], "0");
    assert_string_equal(o.devices[1], "1");
    assert_null(o.devices[2]);
    assert_int_equal(cf_pool_opts_apply(&o, &cfg, &err), CF_OK);
    assert_ptr_equal(cfg.devices, o.devices);
    assert_int_equal(cf_pool_opts_set(&o, "--gpus", "GPU-8f2c1d3e-aaaa,MIG-1/2/3", &err), CF_OK);
    assert_string_equal(o.devices[1], "MIG-1/2/3");
    assert_int_equal(cf_pool_opts_set(&o, "--gpus", ",", &err), CF_EINVAL);
    assert_int_equal(cf_pool_opts_set(&o, "--gpus", "0;rm", &err), CF_EINVAL);
    assert_non_null(strstr(err.msg, "is not a device index or UUID"));
    /* --gpus all on a host without an NVIDIA driver says so (this test host has none
     * unless /proc/driver/nvidia/gpus lists some) */
    int rc = cf_pool_opts_set(&o, "--gpus", "all", &err);
    if (rc != CF_OK)
        assert_non_null(strstr(err.msg, "no NVIDIA GPU found"));
}

static void metrics_flag(void **state)
{
    (void)state;
    cf_pool_opts o;
    cf_error err;
    cf_runner_config cfg = {0};
    cf_pool_opts_init(&o);
    assert_int_equal(o.metrics, 1);
    assert_int_equal(cf_pool_opts_set(&o, "--metrics", "off", &err), CF_OK);
    assert_int_equal(cf_pool_opts_apply(&o, &cfg, &err), CF_OK);
    assert_int_equal(cfg.metrics, 0);
    assert_int_equal(cf_pool_opts_set(&o, "--metrics", "127.0.0.1:9100", &err), CF_OK);
    assert_int_equal(o.metrics, 2);
    assert_string_equal(o.metrics_listen, "127.0.0.1:9100");
    assert_int_equal(cf_pool_opts_set(&o, "--metrics", "yes", &err), CF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_and_min), cmocka_unit_test(bad_numbers),
        cmocka_unit_test(durations),       cmocka_unit_test(gpus),
        cmocka_unit_test(metrics_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
