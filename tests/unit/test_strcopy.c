/* test_strcopy.c - cf_strcopy cuts to fit and terminates, as snprintf("%s") did. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "strcopy.h"

/* Every source length around the buffer's size: the first size - 1 bytes at
 * most, then the terminator, as snprintf(dst, size, "%s", src) writes. */
static void cut_to_fit_and_terminated(void **state)
{
    (void)state;
    const char *src = "pred_abcdefghijklmnopqrstuvwxyz";
    for (size_t size = 1; size <= 40; size++) {
        for (size_t len = 0; len <= strlen(src); len++) {
            char cut[64], mine[64], theirs[64];
            memcpy(cut, src, len);
            cut[len] = '\0';
            memset(mine, 'x', sizeof mine);
            memset(theirs, 'x', sizeof theirs);
            assert_ptr_equal(cf_strcopy(mine, size, cut), mine);
            size_t kept = len < size - 1 ? len : size - 1;
            memcpy(theirs, cut, kept);
            theirs[kept] = '\0';
            assert_memory_equal(mine, theirs, kept + 1);
            assert_int_equal(mine[size], 'x'); /* nothing written past size */
        }
    }
}

/* A source longer than the buffer is read only as far as it fits: it need
 * not even be terminated past that. */
static void reads_no_further_than_it_copies(void **state)
{
    (void)state;
    char src[4] = {'a', 'b', 'c', 'd'}; /* no terminator */
    char out[4];
    cf_strcopy(out, sizeof out, src);
    assert_string_equal(out, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cut_to_fit_and_terminated),
        cmocka_unit_test(reads_no_further_than_it_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
