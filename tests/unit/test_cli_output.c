/* test_cli_output.c - predict's printed output: Cog's indentation, Python's floats, file names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_output.h"

/* What cf_cli_put_result writes for the JSON text in, NUL-terminated (caller frees). */
static char *printed(const char *in)
{
    char path[] = "/tmp/cf-cli-output.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    json_t *v = json_loads(in, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    assert_int_equal(cf_cli_put_result(v, path), 0);
    json_decref(v);
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    return buf;
}

static void test_json_is_indented_as_cog_prints_it(void **state)
{
    (void)state;
    char *s = printed("{\"p\": 0.999909, \"n\": [1, 2.5], \"e\": {}, \"l\": [], "
                      "\"s\": \"a {b}, [c]: \\\"d\\\"\"}");
    assert_string_equal(s, "{\n  \"p\": 0.999909,\n  \"n\": [\n    1,\n    2.5\n  ],\n"
                           "  \"e\": {},\n  \"l\": [],\n  \"s\": \"a {b}, [c]: \\\"d\\\"\"\n}\n");
    free(s);
}

static void test_scalars(void **state)
{
    (void)state;
    char *s = printed("0.1");
    assert_string_equal(s, "0.1\n"); /* not 0.10000000000000001 */
    free(s);
    s = printed("\"hello world\"");
    assert_string_equal(s, "hello world\n"); /* a string as it is */
    free(s);
    s = printed("3.0");
    assert_string_equal(s, "3.0\n");
    free(s);
}

static void test_plan_output(void **state)
{
    (void)state;
    cf_out_target t;
    assert_int_equal(cf_cli_plan_output(NULL, &t), 0);
    assert_string_equal(t.stem, "output");
    assert_string_equal(t.exact, "");
    assert_int_equal(cf_cli_plan_output("/tmp", &t), 0);
    assert_string_equal(t.stem, "/tmp/output");
    assert_string_equal(t.json, "/tmp/output.json");
    assert_int_equal(cf_cli_plan_output("/tmp/x.png", &t), 0);
    assert_string_equal(t.exact, "/tmp/x.png");
    assert_string_equal(t.stem, "/tmp/x");
    assert_string_equal(t.ext, ".png");
    assert_int_equal(cf_cli_plan_output("/tmp/cf-no-such-dir/x.png", &t), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_is_indented_as_cog_prints_it),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_plan_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
