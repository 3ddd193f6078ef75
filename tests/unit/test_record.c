/* test_record.c - the record table: transitions, events, byte budget, age, recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "files_in.h"
#include "record.h"
#include "state.h"

typedef struct fixture {
    char dir[256];
    char state[300];
    char spill[300];
    pthread_mutex_t lock;
} fixture;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_record.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    snprintf(f->spill, sizeof f->spill, "%s/spill", f->dir);
    pthread_mutex_init(&f->lock, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

static cf_records *table(fixture *f, cf_state *st, size_t keep_bytes, double keep_seconds)
{
    cf_error err;
    cf_error_clear(&err);
    cf_records_config cfg = {.lock = &f->lock, .state = st, .spill_dir = f->spill,
                             .keep_bytes = keep_bytes, .keep_seconds = keep_seconds};
    cf_records *rs = cf_records_new(&cfg, &err);
    if (rs == NULL)
        fail_msg("cf_records_new: %s", err.msg);
    return rs;
}

static cf_state *open_state(fixture *f)
{
    cf_error err;
    cf_error_clear(&err);
    cf_state *s = cf_state_open(f->state, &err);
    if (s == NULL)
        fail_msg("cf_state_open: %s", err.msg);
    return s;
}

static const char *event_type(const cf_prediction *p, size_t i)
{
    return json_string_value(json_object_get(json_array_get(p->eventlog, i), "type"));
}

static void a_prediction_moves_through_every_phase_with_its_events(void **state)
{
    fixture *f = *state;
    cf_records *rs = table(f, NULL, 1 << 20, 3600);
    cf_prediction *p = cf_prediction_new("pred_a");
    p->webhook = strdup("http://127.0.0.1:9/hook");
    pthread_mutex_lock(&f->lock);
    assert_int_equal(p->phase, CF_PHASE_NEW);
    assert_int_equal(cf_records_accept(rs, p), CF_OK);
    assert_int_equal(p->phase, CF_PHASE_QUEUED);
    assert_true(p->started_at == 0);
    cf_records_start(rs, p);
    assert_int_equal(p->phase, CF_PHASE_RUNNING);
    assert_true(p->started_at > 0);
    cf_records_output(rs, p, json_string("one"));
    json_t *before = json_incref(p->output); /* a snapshot being sent */
    cf_records_log(rs, p, "hello \xc3", 7); /* cut in the middle of é */
    cf_records_log(rs, p, "\xa9\n", 2);
    cf_records_output(rs, p, json_string("two"));
    cf_records_metric(rs, p, "tokens", json_integer(3));
    assert_int_equal(json_array_size(before), 1); /* copied on write */
    json_decref(before);
    assert_int_equal(cf_records_finish(rs, p, CF_STATUS_SUCCEEDED, NULL), 1);
    assert_int_equal(p->phase, CF_PHASE_FINISHED);
    assert_true(p->completed_at >= p->started_at);
    assert_string_equal(p->logs, "hello \xc3\xa9\n");
    const char *want[] = {"start", "output", "log", "log", "output", "metric", "completed"};
    assert_int_equal(json_array_size(p->eventlog), 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(event_type(p, i), want[i]);
    assert_int_equal(json_array_size(p->output), 2);
    cf_records_webhook_delivered(rs, p);
    assert_int_equal(p->phase, CF_PHASE_DELIVERED);
    assert_ptr_equal(cf_records_get(rs, "pred_a"), p);
    pthread_mutex_unlock(&f->lock);
    cf_records_free(rs);
    cf_prediction_decref(p);
}

static void a_queued_prediction_can_finish_without_running(void **state)
{
    fixture *f = *state;
    cf_records *rs = table(f, NULL, 1 << 20, 3600);
    cf_prediction *p = cf_prediction_new("pred_q");
    pthread_mutex_lock(&f->lock);
    cf_records_accept(rs, p);
    /* no webhook: nothing is owed, it is delivered at once */
    assert_int_equal(cf_records_finish(rs, p, CF_STATUS_CANCELED, NULL), 0);
    assert_int_equal(p->phase, CF_PHASE_DELIVERED);
    assert_int_equal(p->status, CF_STATUS_CANCELED);
    pthread_mutex_unlock(&f->lock);
    cf_records_free(rs);
    cf_prediction_decref(p);
}

static void invalid_utf8_in_logs_becomes_replacement_characters(void **state)
{
    fixture *f = *state;
    cf_records *rs = table(f, NULL, 1 << 20, 3600);
    cf_prediction *p = cf_prediction_new("pred_u");
    pthread_mutex_lock(&f->lock);
    cf_records_accept(rs, p);
    cf_records_start(rs, p);
    cf_records_log(rs, p, "bad \xff\xfe ok\n\xe2\x82", 12); /* ends cut short */
    cf_records_finish(rs, p, CF_STATUS_SUCCEEDED, NULL);
    assert_string_equal(p->logs, "bad \xEF\xBF\xBD\xEF\xBF\xBD ok\n\xEF\xBF\xBD\xEF\xBF\xBD");
    json_t *o = cf_prediction_to_json(p);
    assert_true(json_is_string(json_object_get(o, "logs")));
    json_decref(o);
    pthread_mutex_unlock(&f->lock);
    cf_records_free(rs);
    cf_prediction_decref(p);
}

/* A finished record of about `size` bytes of output. */
static cf_prediction *finished_big(cf_records *rs, fixture *f, const char *id, size_t size)
{
    char *big = malloc(size + 1);
    memset(big, 'x', size);
    big[size] = '\0';
    cf_prediction *p = cf_prediction_new(id);
    pthread_mutex_lock(&f->lock);
    cf_records_accept(rs, p);
    cf_records_start(rs, p);
    cf_records_set_output(rs, p, json_string(big));
    cf_records_finish(rs, p, CF_STATUS_SUCCEEDED, NULL);
    pthread_mutex_unlock(&f->lock);
    free(big);
    return p;
}

static void memory_stays_within_the_byte_budget_whatever_the_count(void **state)
{
    fixture *f = *state;
    size_t budget = 1 << 20;
    cf_records *rs = table(f, NULL, budget, 3600);
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf(id, sizeof id, "pred_%d", i);
        cf_prediction_decref(finished_big(rs, f, id, 100 * 1024));
        cf_records_flush(rs);
    }
    pthread_mutex_lock(&f->lock);
    size_t bytes = cf_records_bytes(rs);
    assert_int_equal(cf_records_count(rs), 40);
    assert_null(cf_records_get(rs, "pred_0")); /* in a file only */
    assert_non_null(cf_records_get(rs, "pred_39"));
    pthread_mutex_unlock(&f->lock);
    assert_true(bytes <= budget);
    /* the oldest reads back whole from its file */
    cf_prediction *old = cf_records_find(rs, "pred_0");
    assert_non_null(old);
    assert_int_equal(old->status, CF_STATUS_SUCCEEDED);
    assert_int_equal(json_string_length(old->output), 100 * 1024);
    cf_prediction_decref(old);
    cf_records_free(rs);
}

static void finished_records_are_forgotten_after_their_age(void **state)
{
    fixture *f = *state;
    cf_records *rs = table(f, NULL, 1024, 0.3); /* tiny budget: it spills at once */
    cf_prediction_decref(finished_big(rs, f, "pred_old", 4096));
    cf_records_flush(rs);
    cf_prediction *still = cf_records_find(rs, "pred_old");
    assert_non_null(still);
    cf_prediction_decref(still);
    usleep(1300 * 1000);
    cf_prediction *gone = cf_records_find(rs, "pred_old");
    assert_null(gone);
    /* nothing of it is left on disk but the segment the next spill appends to */
    cf_prediction_decref(finished_big(rs, f, "pred_new", 4096));
    cf_records_flush(rs);
    usleep(1300 * 1000);
    assert_null(cf_records_find(rs, "pred_new"));
    cf_records_flush(rs);
    assert_true(files_in(f->spill) <= 1);
    cf_records_free(rs);
}

static void recovery_finishes_what_ran_with_the_same_verb(void **state)
{
    fixture *f = *state;
    char tempdir[512];
    snprintf(tempdir, sizeof tempdir, "%s/inputs", f->dir);
    mkdir(tempdir, 0700);
    cf_state *st = open_state(f);
    cf_error err;
    cf_error_clear(&err);
    /* what a crashed process left behind */
    cf_prediction *run = cf_prediction_new("pred_running");
    run->is_async = 1;
    run->webhook = strdup("http://127.0.0.1:9/hook");
    run->output_is_iterator = 1;
    run->tempdir = strdup(tempdir);
    run->started_at = cf_now() - 5;
    assert_int_equal(cf_state_save(st, run, 1, 1, 1, &err), CF_OK);
    cf_prediction *secret = cf_prediction_new("pred_secret");
    secret->input_worker = json_pack("{s:s}", "token", "hunter2");
    secret->kinds = json_pack("{s:s}", "token", "secret");
    assert_int_equal(cf_state_save(st, secret, 0, 2, 1, &err), CF_OK);
    cf_prediction *queued = cf_prediction_new("pred_queued");
    assert_int_equal(cf_state_save(st, queued, 0, 3, 1, &err), CF_OK);
    cf_prediction *owed = cf_prediction_new("pred_owed");
    owed->status = CF_STATUS_SUCCEEDED;
    owed->completed_at = cf_now() - 1;
    owed->webhook = strdup("http://127.0.0.1:9/hook");
    owed->terminal_webhook_pending = 1;
    assert_int_equal(cf_state_save(st, owed, 0, 4, 1, &err), CF_OK);

    cf_records *rs = table(f, st, 1 << 20, 3600);
    cf_prediction **q = NULL, **o = NULL;
    size_t nq = 0, no = 0;
    assert_int_equal(cf_records_recover(rs, &q, &nq, &o, &no, &err), CF_OK);
    pthread_mutex_lock(&f->lock);
    assert_int_equal(nq, 1);
    assert_string_equal(q[0]->id, "pred_queued");
    assert_int_equal(q[0]->phase, CF_PHASE_QUEUED);
    assert_int_equal(no, 1);
    assert_string_equal(o[0]->id, "pred_owed");
    assert_int_equal(o[0]->phase, CF_PHASE_FINISHED);
    cf_prediction *r = cf_records_get(rs, "pred_running");
    assert_int_equal(r->status, CF_STATUS_FAILED);
    assert_non_null(strstr(r->error, "interrupted"));
    assert_int_equal(r->phase, CF_PHASE_FINISHED); /* its webhook is owed */
    assert_true(json_is_array(r->output));
    assert_true(r->started_at < r->completed_at);
    cf_prediction *s = cf_records_get(rs, "pred_secret");
    assert_int_equal(s->status, CF_STATUS_FAILED);
    assert_string_equal(s->error,
                        "the prediction was interrupted and its secret inputs were not persisted");
    assert_int_equal(s->phase, CF_PHASE_DELIVERED);
    pthread_mutex_unlock(&f->lock);
    cf_prediction_decref(q[0]);
    cf_prediction_decref(o[0]);
    free(q);
    free(o);
    cf_records_flush(rs);
    assert_int_equal(access(tempdir, F_OK), -1); /* a dead run's inputs */
    cf_records_free(rs);
    cf_state_free(st);

    /* what recovery decided was saved: a second restart agrees */
    st = open_state(f);
    cf_state_loaded *loaded = NULL;
    size_t n = 0;
    assert_int_equal(cf_state_load_all(st, &loaded, &n, &err), CF_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(loaded[i].p->id, "pred_running") == 0) {
            assert_int_equal(loaded[i].p->status, CF_STATUS_FAILED);
            assert_int_equal(loaded[i].running, 0);
            assert_int_equal(loaded[i].p->terminal_webhook_pending, 1);
        }
        cf_prediction_decref(loaded[i].p);
    }
    free(loaded);
    cf_state_free(st);
    cf_prediction_decref(run);
    cf_prediction_decref(secret);
    cf_prediction_decref(queued);
    cf_prediction_decref(owed);
}

static void a_persisted_record_is_written_by_the_saver(void **state)
{
    fixture *f = *state;
    cf_state *st = open_state(f);
    cf_records *rs = table(f, st, 1 << 20, 3600);
    cf_error err;
    cf_error_clear(&err);
    cf_prediction *p = cf_prediction_new("pred_async");
    p->is_async = 1;
    assert_int_equal(cf_records_persist_new(rs, p, &err), CF_OK);
    pthread_mutex_lock(&f->lock);
    cf_records_accept(rs, p);
    cf_records_start(rs, p);
    cf_records_set_output(rs, p, json_string("done"));
    cf_records_finish(rs, p, CF_STATUS_SUCCEEDED, NULL);
    pthread_mutex_unlock(&f->lock);
    cf_records_flush(rs);
    cf_prediction *back = cf_state_load(st, "pred_async");
    assert_non_null(back);
    assert_int_equal(back->status, CF_STATUS_SUCCEEDED);
    assert_string_equal(json_string_value(back->output), "done");
    cf_prediction_decref(back);
    cf_records_free(rs);
    cf_state_free(st);
    cf_prediction_decref(p);
}

static void a_webhook_delivered_after_eviction_is_saved(void **state)
{
    fixture *f = *state;
    cf_state *st = open_state(f);
    /* room for its stub, not for its 8 KB output: it leaves memory once saved */
    cf_records *rs = table(f, st, 1024, 3600);
    cf_error err;
    cf_error_clear(&err);
    cf_prediction *p = cf_prediction_new("pred_hook");
    p->is_async = 1;
    p->webhook = strdup("http://127.0.0.1:9/hook");
    assert_int_equal(cf_records_persist_new(rs, p, &err), CF_OK);
    pthread_mutex_lock(&f->lock);
    cf_records_accept(rs, p);
    cf_records_start(rs, p);
    char big[8192];
    memset(big, 'o', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cf_records_set_output(rs, p, json_string(big));
    /* persisted: the saver announces it once it is on disk, not finish */
    assert_int_equal(cf_records_finish(rs, p, CF_STATUS_SUCCEEDED, NULL), 0);
    pthread_mutex_unlock(&f->lock);
    cf_records_flush(rs);
    pthread_mutex_lock(&f->lock);
    assert_null(cf_records_get(rs, "pred_hook")); /* out of memory, webhook still owed */
    cf_records_webhook_delivered(rs, p);
    pthread_mutex_unlock(&f->lock);
    cf_records_flush(rs);
    cf_prediction *back = cf_state_load(st, "pred_hook");
    assert_non_null(back);
    assert_int_equal(back->terminal_webhook_pending, 0);
    cf_prediction_decref(back);
    cf_records_free(rs);
    cf_state_free(st);
    cf_prediction_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_prediction_moves_through_every_phase_with_its_events,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_queued_prediction_can_finish_without_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(invalid_utf8_in_logs_becomes_replacement_characters,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(memory_stays_within_the_byte_budget_whatever_the_count,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(finished_records_are_forgotten_after_their_age, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recovery_finishes_what_ran_with_the_same_verb, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_persisted_record_is_written_by_the_saver, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_webhook_delivered_after_eviction_is_saved, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
