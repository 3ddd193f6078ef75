/* test_json_out.c - the response writer: the counted length, the streamed text and the built text agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_out.h"

typedef struct sink_buf {
    char *data;
    size_t len;
    size_t pieces;
    size_t fail_after; /* 0: never */
} sink_buf;

static int collect(void *ctx, const char *data, size_t len)
{
    sink_buf *b = ctx;
    if (b->fail_after != 0 && b->pieces + 1 >= b->fail_after) {
        return -1;
    }
    b->data = realloc(b->data, b->len + len + 1);
    assert_non_null(b->data);
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    b->pieces++;
    return 0;
}

/* dumps, length and write give the same text for v. */
static void agree(json_t *v)
{
    char *text = cf_json_dumps(v);
    assert_non_null(text);
    assert_int_equal(cf_json_length(v), strlen(text));
    sink_buf b = {0};
    assert_int_equal(cf_json_write(v, collect, &b), 0);
    assert_int_equal(b.len, strlen(text));
    assert_memory_equal(b.data, text, b.len);
    free(b.data);
    /* in one walk: the same text when it fits, else its whole length */
    size_t len = 0, n = strlen(text);
    char *upto = cf_json_dumps_upto(v, n, &len);
    assert_non_null(upto);
    assert_int_equal(len, n);
    assert_string_equal(upto, text);
    free(upto);
    if (n > 1) {
        assert_null(cf_json_dumps_upto(v, n - 1, &len));
        assert_int_equal(len, n);
    }
    free(text);
}

static void test_small_values(void **state)
{
    (void)state;
    const char *docs[] = {
        "{}", "[]", "null", "{\"a\":[1,2.5,true,false,null,\"x\"]}", "{\"k\\\"ey\":\"v\\n\\u0001\\t\"}",
        "[0.1, 1.0, 1e300, -0.0]",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_error_t jerr;
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY, &jerr);
        assert_non_null(v);
        agree(v);
        json_decref(v);
    }
    json_t *f = json_pack("{s:f,s:f}", "a", 0.1, "b", 2.0);
    char *text = cf_json_dumps(f);
    assert_string_equal(text, "{\"a\":0.1,\"b\":2.0}");
    free(text);
    json_decref(f);
}

/* Strings of a few megabytes with escapes at every offset near the 8-byte
 * words and the 4 KiB / 16 KiB piece sizes. */
static void test_long_strings(void **state)
{
    (void)state;
    size_t n = 3 * 1024 * 1024 + 13;
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[i] = (char)('A' + i % 26);
    }
    const size_t marks[] = {0, 1, 7, 8, 9, 4095, 4096, 16383, 16384, 16385, 65535, n - 1};
    for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
        s[marks[m]] = m % 3 == 0 ? '"' : m % 3 == 1 ? '\\' : '\n';
    }
    s[n] = '\0';
    json_t *v = json_pack("{s:s%,s:[s,i]}", "input", s, n, "output", "data:x;base64,AAAA", 3);
    assert_non_null(v);
    agree(v);
    json_decref(v);
    free(s);
}

/* A sink that fails stops the writer with -1. */
static void test_sink_failure(void **state)
{
    (void)state;
    char big[20000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *v = json_pack("[s,s,s]", big, big, big);
    sink_buf b = {0};
    b.fail_after = 2;
    assert_int_equal(cf_json_write(v, collect, &b), -1);
    free(b.data);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_sink_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
