/* test_queue_message.c - a stream entry read as a request (Cog's format), and redis:// URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "queue_message.h"
#include "redis_conn.h"

/* A message exactly as Cog's queue producers sent it. */
static void test_cog_message(void **state)
{
    (void)state;
    cf_queue_message m;
    cf_error err;
    const char *v = "{\"id\":\"abc\",\"input\":{\"prompt\":\"hi\"},\"webhook\":\"http://h/w\","
                    "\"webhook_events_filter\":[\"completed\"],\"cancel_key\":\"cancel:abc\","
                    "\"response_queue\":\"responses\",\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}";
    assert_int_equal(cf_queue_message_parse("1700000000000-0", v, &m, &err), CF_OK);
    assert_string_equal(m.id, "abc");
    assert_string_equal(m.cancel_key, "cancel:abc");
    assert_string_equal(m.response_queue, "responses");
    assert_null(m.response_key);
    assert_null(m.response_stream);
    assert_non_null(m.traceparent);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m.body, "input"), "prompt")), "hi");
    cf_queue_message_cleanup(&m);
}

/* No id: the entry's own id names the prediction, so a redelivery keeps it. */
static void test_id_from_entry(void **state)
{
    (void)state;
    cf_queue_message m;
    cf_error err;
    assert_int_equal(cf_queue_message_parse("17-3", "{\"input\":{},\"response_key\":\"k\","
                                                    "\"response_stream\":\"s\"}", &m, &err), CF_OK);
    assert_string_equal(m.id, "q17-3");
    assert_string_equal(m.response_key, "k");
    assert_string_equal(m.response_stream, "s");
    cf_queue_message_cleanup(&m);
}

static void test_refused(void **state)
{
    (void)state;
    struct { const char *value, *why; } cases[] = {
        {NULL, "no field \"value\""},
        {"not json", "not JSON"},
        {"[1]", "JSON object"},
        {"{\"id\":5}", "id must be a string"},
        {"{\"id\":\"\"}", "id must be 1 to 99"},
        {"{\"cancel_key\":3}", "cancel_key must be"},
        {"{\"response_queue\":\"\"}", "response_queue must be"},
        {"{\"a\":1,\"a\":2}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cf_queue_message m;
        cf_error err;
        assert_int_equal(cf_queue_message_parse("9-0", cases[i].value, &m, &err), CF_EINVAL);
        assert_non_null(strstr(err.msg, cases[i].why));
        assert_string_equal(m.id, "q9-0"); /* set first: a refused entry can still be recorded */
        cf_queue_message_cleanup(&m);
    }
}

static void test_url(void **state)
{
    (void)state;
    cf_redis_target t;
    cf_error err;
    assert_int_equal(cf_redis_url_parse("redis://127.0.0.1:6380/2", &t, &err), CF_OK);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 6380);
    assert_int_equal(t.db, 2);
    assert_string_equal(t.password, "");
    assert_int_equal(cf_redis_url_parse("redis://localhost", &t, &err), CF_OK);
    assert_int_equal(t.port, 6379);
    assert_int_equal(t.db, 0);
    assert_int_equal(cf_redis_url_parse("redis://:s%40cret@[::1]:7000/", &t, &err), CF_OK);
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 7000);
    assert_string_equal(t.password, "s@cret");
    assert_string_equal(t.user, "");
    assert_int_equal(cf_redis_url_parse("redis://bob:pw@h/0", &t, &err), CF_OK);
    assert_string_equal(t.user, "bob");
    assert_string_equal(t.password, "pw");
    const char *bad[] = {"", "http://h", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                         "redis://h/x", "redis://h/1/2", "redis://[::1", "redis://:%zz@h",
                         "redis://h?x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(cf_redis_url_parse(bad[i], &t, &err), CF_EINVAL);
        assert_non_null(strstr(err.msg, "--redis"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cog_message),
        cmocka_unit_test(test_id_from_entry),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
