/* test_opt_parse.c - strict parsing of numeric, duration and size options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "opt_parse.h"

static void test_long(void **state)
{
    (void)state;
    long v = -7;
    cf_error err;
    assert_int_equal(cf_opt_long("--queue", "0", 0, 100, &v, &err), CF_OK);
    assert_int_equal(v, 0);
    assert_int_equal(cf_opt_long("--queue", "100", 0, 100, &v, &err), CF_OK);
    assert_int_equal(v, 100);
    assert_int_equal(cf_opt_long("--n", "-3", -5, 5, &v, &err), CF_OK);
    assert_int_equal(v, -3);
    const char *bad[] = {"", "x", "1x", " 1", "1 ", "+1", "-1", "101", "1e3", "0x10", "1.0",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 42;
        assert_int_equal(cf_opt_long("--queue", bad[i], 0, 100, &v, &err), CF_EINVAL);
        assert_int_equal(v, 42);
        assert_non_null(strstr(err.msg, "--queue: expected a whole number from 0 to 100, got \""));
    }
}

static void test_seconds(void **state)
{
    (void)state;
    double v;
    cf_error err;
    struct { const char *text; double want; } good[] = {
        {"30", 30}, {"0", 0}, {"0.5", 0.5}, {".5", 0.5}, {"5.", 5}, {"30s", 30},
        {"250ms", 0.25}, {"2m", 120}, {"1.5h", 5400},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(cf_opt_seconds("--t", good[i].text, 0, 1e9, &v, &err), CF_OK);
        assert_true(v > good[i].want - 1e-9 && v < good[i].want + 1e-9);
    }
    const char *bad[] = {"", "abc", "-1", "1e3", "inf", "nan", "0x10", "10 s", "10sec", "10S",
                         ".", "1..2", "5d", " 1", "1e400"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(cf_opt_seconds("--predict-timeout", bad[i], 0, 1e9, &v, &err), CF_EINVAL);
        assert_non_null(strstr(err.msg, "--predict-timeout: expected a duration"));
    }
    assert_int_equal(cf_opt_seconds("--t", "0", 0.001, 10, &v, &err), CF_EINVAL);
    assert_int_equal(cf_opt_seconds("--t", "11", 0.001, 10, &v, &err), CF_EINVAL);
    assert_int_equal(cf_opt_seconds("--t", "1m", 0, 59, &v, &err), CF_EINVAL);
}

static void test_size(void **state)
{
    (void)state;
    size_t v;
    cf_error err;
    struct { const char *text; size_t want; } good[] = {
        {"0", 0}, {"100", 100}, {"100B", 100}, {"1k", 1024}, {"1K", 1024}, {"1KB", 1024},
        {"1KiB", 1024}, {"1.5k", 1536}, {"10M", 10u << 20}, {"2G", (size_t)2 << 30},
        {"2gb", (size_t)2 << 30}, {"1T", (size_t)1 << 40},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(cf_opt_size("--max-body", good[i].text, (size_t)1 << 40, &v, &err), CF_OK);
        assert_int_equal(v, good[i].want);
    }
    const char *bad[] = {"", "10Q", "-1", "1e3", "k", "10 M", "10MBs", "10Bi", "0x10", "1.5.k",
                         "inf", "2T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(cf_opt_size("--max-body", bad[i], (size_t)1 << 40, &v, &err), CF_EINVAL);
        assert_non_null(strstr(err.msg, "--max-body: expected a size"));
    }
}

static void test_mode(void **state)
{
    (void)state;
    unsigned v;
    cf_error err;
    assert_int_equal(cf_opt_mode("--socket-mode", "0660", &v, &err), CF_OK);
    assert_int_equal(v, 0660);
    assert_int_equal(cf_opt_mode("--socket-mode", "777", &v, &err), CF_OK);
    assert_int_equal(v, 0777);
    const char *bad[] = {"", "0999", "rw", "-660", "17777", "0660 "};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(cf_opt_mode("--socket-mode", bad[i], &v, &err), CF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
