/* test_sse.c - server-sent event framing, Accept, Last-Event-ID and Prefer: wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prefer.h"
#include "sse.h"

static void expect_format(const char *id, const char *name, const char *data, const char *want)
{
    size_t len = 0;
    char *got = cf_sse_format(id, name, data, strlen(data), &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
}

static void test_format(void **state)
{
    (void)state;
    expect_format(NULL, "start", "{\"id\":\"a\"}", "event: start\ndata: {\"id\":\"a\"}\n\n");
    expect_format("7", "output", "hello", "id: 7\nevent: output\ndata: hello\n\n");
    /* each line its own data: line; a client joins them with \n again */
    expect_format("2", "logs", "a\nb\n", "id: 2\nevent: logs\ndata: a\ndata: b\ndata: \n\n");
    expect_format(NULL, "logs", "a\r\nb\rc", "event: logs\ndata: a\ndata: b\ndata: c\n\n");
    expect_format(NULL, "done", "", "event: done\ndata: \n\n");
}

static void test_accepts(void **state)
{
    (void)state;
    assert_true(cf_sse_accepts("text/event-stream"));
    assert_true(cf_sse_accepts("application/json, TEXT/EVENT-STREAM"));
    assert_true(cf_sse_accepts("text/event-stream;q=0.5"));
    assert_false(cf_sse_accepts("text/event-stream; q=0"));
    assert_false(cf_sse_accepts("*/*"));
    assert_false(cf_sse_accepts("text/*"));
    assert_false(cf_sse_accepts("application/json"));
    assert_false(cf_sse_accepts("text/event-streams"));
    assert_false(cf_sse_accepts(NULL));
}

static void test_last_event_id(void **state)
{
    (void)state;
    assert_int_equal(cf_sse_last_event_id("12"), 12);
    assert_int_equal(cf_sse_last_event_id(" 3 "), 3);
    assert_int_equal(cf_sse_last_event_id("0"), 0);
    assert_int_equal(cf_sse_last_event_id("x1"), -1);
    assert_int_equal(cf_sse_last_event_id("1x"), -1);
    assert_int_equal(cf_sse_last_event_id("-1"), -1);
    assert_int_equal(cf_sse_last_event_id(""), -1);
    assert_int_equal(cf_sse_last_event_id(NULL), -1);
}

static void test_prefer_wait(void **state)
{
    (void)state;
    double s = -1;
    assert_true(cf_prefer_wait("wait", &s));
    assert_true(s == 60);
    assert_true(cf_prefer_wait("wait=5", &s));
    assert_true(s == 5);
    assert_true(cf_prefer_wait("respond-async, Wait = 1.5", &s));
    assert_true(s == 1.5);
    assert_true(cf_prefer_wait("handling=lenient; x=\"wait=3\", wait=2", &s));
    assert_true(s == 2);
    assert_false(cf_prefer_wait("respond-async", &s));
    assert_false(cf_prefer_wait("waiting=3", &s));
    assert_false(cf_prefer_wait(NULL, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_last_event_id),
        cmocka_unit_test(test_prefer_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
