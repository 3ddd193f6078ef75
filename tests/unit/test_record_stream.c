/* test_record_stream.c - a record's events as Cog's and Replicate's event streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "record_stream.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static cf_records *table(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_record_stream.XXXXXX");
    assert_non_null(mkdtemp(dir));
    cf_error err;
    cf_error_clear(&err);
    cf_records_config cfg = {.lock = &lock, .spill_dir = dir, .keep_bytes = 1 << 20,
                             .keep_seconds = 60};
    cf_records *rs = cf_records_new(&cfg, &err);
    assert_non_null(rs);
    return rs;
}

static void table_free(cf_records *rs)
{
    cf_records_free(rs);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A record that started, yielded "a" and "b" around a log line and a
 * metric, and ends with status (not yet when status is PROCESSING). */
static cf_prediction *record(cf_records *rs, const char *id, cf_status status)
{
    cf_prediction *p = cf_prediction_new(id);
    pthread_mutex_lock(&lock);
    assert_int_equal(cf_records_accept(rs, p), CF_OK);
    cf_records_start(rs, p);
    cf_records_output(rs, p, json_string("a"));
    cf_records_log(rs, p, "one\ntwo\n", 8);
    cf_records_metric(rs, p, "tokens", json_integer(2));
    cf_records_output(rs, p, json_string("b"));
    if (status != CF_STATUS_PROCESSING)
        cf_records_finish(rs, p, status, status == CF_STATUS_FAILED ? "boom" : NULL);
    pthread_mutex_unlock(&lock);
    return p;
}

/* Everything the stream has to say now. */
static char *drain(cf_stream *s, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    pthread_mutex_lock(&lock);
    *rc = cf_stream_render_locked(s, &text, &len);
    pthread_mutex_unlock(&lock);
    return text;
}

static void test_cog_format(void **state)
{
    (void)state;
    cf_records *rs = table();
    cf_prediction *p = record(rs, "c1", CF_STATUS_PROCESSING);
    cf_stream s;
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_COG, 0, 1024, -1);
    pthread_mutex_unlock(&lock);
    int rc;
    char *text = drain(&s, &rc);
    assert_int_equal(rc, 1);
    assert_string_equal(text,
                        "event: start\ndata: {\"id\":\"c1\",\"status\":\"processing\"}\n\n"
                        "event: output\ndata: {\"chunk\":\"a\",\"index\":0}\n\n"
                        "event: log\ndata: {\"source\":\"stdout\",\"data\":\"one\\ntwo\\n\"}\n\n"
                        "event: metric\ndata: {\"name\":\"tokens\",\"value\":2,\"mode\":\"replace\"}\n\n"
                        "event: output\ndata: {\"chunk\":\"b\",\"index\":1}\n\n");
    free(text);
    text = drain(&s, &rc);
    assert_int_equal(rc, 0); /* nothing new, not ended */
    assert_null(text);
    pthread_mutex_lock(&lock);
    cf_records_finish(rs, p, CF_STATUS_SUCCEEDED, NULL);
    pthread_mutex_unlock(&lock);
    text = drain(&s, &rc);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, "event: completed\ndata: {\"input\":{},\"output\":[\"a\",\"b\"]"));
    assert_non_null(strstr(text, "\"status\":\"succeeded\""));
    free(text);
    text = drain(&s, &rc);
    assert_int_equal(rc, -1);
    cf_stream_close(&s);
    cf_prediction_decref(p);
    table_free(rs);
}

static void test_cog_replay_truncated(void **state)
{
    (void)state;
    cf_records *rs = table();
    cf_prediction *p = record(rs, "c2", CF_STATUS_PROCESSING); /* 5 events */
    cf_stream s;
    int rc;
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_COG, 1, 3, -1);
    pthread_mutex_unlock(&lock);
    char *text = drain(&s, &rc);
    assert_string_equal(text, "event: error\ndata: {\"error\":\"SSE stream replay truncated; "
                              "events were dropped\",\"skipped\":2}\n\n");
    free(text);
    assert_null(drain(&s, &rc));
    assert_int_equal(rc, -1);
    cf_stream_close(&s);
    /* with room for all of it: the whole history, the index counted from 0 */
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_COG, 1, 5, -1);
    pthread_mutex_unlock(&lock);
    text = drain(&s, &rc);
    assert_non_null(strstr(text, "event: start\n"));
    assert_non_null(strstr(text, "{\"chunk\":\"b\",\"index\":1}"));
    free(text);
    cf_stream_close(&s);
    /* COG_STREAM_HISTORY_CAPACITY=0: no replay, live from here; the index
     * still counts what came before */
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_COG, 1, 0, -1);
    pthread_mutex_unlock(&lock);
    assert_null(drain(&s, &rc));
    assert_int_equal(rc, 0);
    pthread_mutex_lock(&lock);
    cf_records_output(rs, p, json_string("c"));
    pthread_mutex_unlock(&lock);
    text = drain(&s, &rc);
    assert_string_equal(text, "event: output\ndata: {\"chunk\":\"c\",\"index\":2}\n\n");
    free(text);
    cf_stream_close(&s);
    cf_prediction_decref(p);
    table_free(rs);
}

static void test_replicate_format(void **state)
{
    (void)state;
    cf_records *rs = table();
    cf_prediction *p = record(rs, "r1", CF_STATUS_SUCCEEDED);
    cf_stream s;
    int rc;
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_REPLICATE, 1, 0, -1);
    pthread_mutex_unlock(&lock);
    char *text = drain(&s, &rc);
    assert_string_equal(text, "id: 2\nevent: output\ndata: a\n\n"
                              "id: 3\nevent: logs\ndata: one\ndata: two\ndata: \n\n"
                              "id: 5\nevent: output\ndata: b\n\n"
                              "id: 6\nevent: done\ndata: {}\n\n");
    free(text);
    cf_stream_close(&s);
    /* Last-Event-ID: 3 resumes after the logs */
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_REPLICATE, 1, 0, 3);
    pthread_mutex_unlock(&lock);
    text = drain(&s, &rc);
    assert_string_equal(text, "id: 5\nevent: output\ndata: b\n\nid: 6\nevent: done\ndata: {}\n\n");
    free(text);
    cf_stream_close(&s);
    /* resumed after the end: nothing, ended */
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_REPLICATE, 1, 0, 6);
    pthread_mutex_unlock(&lock);
    assert_null(drain(&s, &rc));
    assert_int_equal(rc, -1);
    cf_stream_close(&s);
    cf_prediction_decref(p);
    p = record(rs, "r2", CF_STATUS_FAILED);
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&lock);
    cf_stream_start_locked(&s, p, CF_STREAM_REPLICATE, 1, 0, 5);
    pthread_mutex_unlock(&lock);
    text = drain(&s, &rc);
    assert_string_equal(text, "id: 6\nevent: error\ndata: {\"detail\":\"boom\"}\n\n"
                              "id: 6\nevent: done\ndata: {\"reason\":\"error\"}\n\n");
    free(text);
    cf_stream_close(&s);
    cf_prediction_decref(p);
    table_free(rs);
}

/* A finished record without its event log (read back from its file):
 * streamed from its fields. */
static void test_from_fields(void **state)
{
    (void)state;
    cf_records *rs = table();
    cf_prediction *p = record(rs, "f1", CF_STATUS_CANCELED);
    pthread_mutex_lock(&lock);
    json_decref(p->eventlog);
    p->eventlog = NULL;
    cf_stream s;
    memset(&s, 0, sizeof s);
    cf_stream_start_locked(&s, p, CF_STREAM_REPLICATE, 1, 0, -1);
    pthread_mutex_unlock(&lock);
    int rc;
    char *text = drain(&s, &rc);
    assert_string_equal(text, "id: 2\nevent: output\ndata: a\n\n"
                              "id: 3\nevent: output\ndata: b\n\n"
                              "id: 4\nevent: logs\ndata: one\ndata: two\ndata: \n\n"
                              "id: 6\nevent: done\ndata: {\"reason\":\"canceled\"}\n\n");
    free(text);
    cf_stream_close(&s);
    cf_prediction_decref(p);
    table_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cog_format),
        cmocka_unit_test(test_cog_replay_truncated),
        cmocka_unit_test(test_replicate_format),
        cmocka_unit_test(test_from_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
