/* test_decimal.c - cf_decimal writes what printf's %llu writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"

static void check(unsigned long long v)
{
    char mine[CF_DECIMAL_MAX], theirs[32];
    size_t n = cf_decimal(mine, v);
    int m = snprintf(theirs, sizeof theirs, "%llu", v);
    assert_int_equal(n, (size_t)m);
    assert_memory_equal(mine, theirs, n);
}

/* Zero, every power of ten and its neighbours, and the largest value. */
static void same_as_printf(void **state)
{
    (void)state;
    check(0);
    for (unsigned long long p = 1; p <= ULLONG_MAX / 10; p *= 10) {
        check(p - 1);
        check(p);
        check(p + 1);
    }
    check(ULLONG_MAX);
    for (unsigned long long v = 0; v < 100000; v += 7)
        check(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
