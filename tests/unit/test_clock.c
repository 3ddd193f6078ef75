/* test_clock.c - timestamps as Cog writes them, against gmtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* What cf_format_time wrote before it stopped calling gmtime_r. */
static void reference(double t, char *buf, size_t len)
{
    time_t secs = (time_t)floor(t);
    long usec = (long)((t - (double)secs) * 1e6 + 0.5);
    if (usec >= 1000000) {
        secs += 1;
        usec -= 1000000;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

static void timestamps_match_gmtime_over_four_centuries(void **state)
{
    (void)state;
    static const double fixed[] = {0.0, 0.9999996, 951782400.5 /* 2000-02-29 */, 1796133599.338872,
                                   4107542400.0 /* 2100-03-01 */, 253402300799.999 /* 9999-12-31 */};
    char got[64], want[64];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        cf_format_time(fixed[i], got, sizeof got);
        reference(fixed[i], want, sizeof want);
        assert_string_equal(got, want);
    }
    srand(11);
    for (int i = 0; i < 200000; i++) {
        double t = (double)rand() / RAND_MAX * 12.6e9 + (double)(rand() % 1000000) / 1e6;
        cf_format_time(t, got, sizeof got);
        reference(t, want, sizeof want);
        assert_string_equal(got, want);
    }
}

static void the_time_cog_writes(void **state)
{
    (void)state;
    char got[64];
    cf_format_time(1796146799.338872, got, sizeof got);
    assert_string_equal(got, "2026-12-01T17:39:59.338872+00:00");
}

/* cf_now is a whole number of microseconds: n / 10^6 exactly as the
 * division rounds it, so a record's times survive its file unchanged. */
static void now_is_whole_microseconds(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        double t = cf_now();
        long long us = llround(t * 1e6);
        assert_true((double)us / 1e6 == t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timestamps_match_gmtime_over_four_centuries),
        cmocka_unit_test(the_time_cog_writes),
        cmocka_unit_test(now_is_whole_microseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
