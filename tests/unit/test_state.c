/* test_state.c - prediction records on disk: round trip, restart flags, failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "json_out.h"
#include "state.h"

typedef struct fixture {
    char dir[256];   /* a fresh temp directory */
    char state[300]; /* dir/state: the state directory under test */
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
    snprintf(f->dir, sizeof f->dir, "/tmp/test_state.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static cf_state *open_ok(const char *dir)
{
    cf_error err;
    cf_error_clear(&err);
    cf_state *s = cf_state_open(dir, &err);
    if (s == NULL)
        fail_msg("cf_state_open: %s", err.msg);
    return s;
}

static unsigned long long next_seq = 1;

/* Saves p; its sequence number is given at its first save, as the record
 * table does. */
static void save_ok(cf_state *s, cf_prediction *p, int running)
{
    cf_error err;
    cf_error_clear(&err);
    if (p->seq == 0)
        p->seq = next_seq++;
    int rc = cf_state_save(s, p, running, p->seq, 0, &err);
    if (rc != CF_OK)
        fail_msg("cf_state_save: %s", err.msg);
}

/* The records of a load_all, flags in *running and *omitted (may be NULL). */
static cf_prediction **records_of(cf_state_loaded *loaded, size_t n, int *running, int *omitted)
{
    cf_prediction **list = calloc(n ? n : 1, sizeof *list);
    for (size_t i = 0; i < n; i++) {
        list[i] = loaded[i].p;
        if (running)
            running[i] = loaded[i].running;
        if (omitted)
            omitted[i] = loaded[i].omitted;
    }
    free(loaded);
    return list;
}

static cf_prediction **load_all_ok(cf_state *s, size_t *n, int *running, int *omitted)
{
    cf_error err;
    cf_error_clear(&err);
    cf_state_loaded *loaded = NULL;
    assert_int_equal(cf_state_load_all(s, &loaded, n, &err), CF_OK);
    return records_of(loaded, *n, running, omitted);
}

/* Reopens dir as a restarted process would and loads every record. */
static cf_prediction **reload_flags(const char *dir, size_t *n, int *running, int *omitted)
{
    cf_state *s = open_ok(dir);
    cf_prediction **list = load_all_ok(s, n, running, omitted);
    cf_state_free(s);
    return list;
}

static cf_prediction **reload(const char *dir, size_t *n)
{
    return reload_flags(dir, n, NULL, NULL);
}

static void free_list(cf_prediction **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cf_prediction_decref(list[i]);
    free(list);
}

static int count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void assert_json_equal(json_t *a, json_t *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
        return;
    }
    assert_true(json_equal(a, b));
}

static void assert_str_or_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* A record with every field set. */
static cf_prediction *full_record(const char *id)
{
    cf_prediction *p = cf_prediction_new(id);
    p->is_training = 1;
    p->is_async = 1;
    p->input_echo = json_pack("{s:s, s:i, s:o}", "text", "héllo", "n", 3, "img", json_object());
    p->input_worker = json_pack("{s:s, s:i, s:s}", "text", "héllo", "n", 3, "img",
                                "data:text/plain;base64,aGk=");
    p->kinds = json_pack("{s:s}", "img", "path");
    p->context = json_pack("{s:s}", "user", "alice");
    p->output = json_pack("[i, s, f]", 1, "two", 3.5);
    p->output_is_iterator = 1;
    p->created_at = strdup("2024-01-02T03:04:05.123456+00:00");
    p->started_at = 1700000000.123456;
    const char logs[] = "line one\nline \0two\n";
    cf_prediction_append_logs(p, logs, sizeof logs - 1);
    cf_prediction_set_error(p, "an earlier error");
    p->metrics = json_pack("{s:i}", "tokens", 7);
    p->webhook = strdup("http://127.0.0.1:9/hook?token=x");
    p->events = CF_EVENT_START | CF_EVENT_COMPLETED;
    p->traceparent = strdup("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    p->tracestate = strdup("congo=t61rcWkgMzE");
    p->raw_files = 1;
    p->deadline = cf_monotonic() + 100;
    return p;
}

static void assert_same_record(const cf_prediction *a, const cf_prediction *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->is_training, b->is_training);
    assert_int_equal(a->is_async, b->is_async);
    assert_json_equal(a->input_echo, b->input_echo);
    assert_json_equal(a->input_worker, b->input_worker);
    assert_json_equal(a->kinds, b->kinds);
    assert_json_equal(a->context, b->context);
    assert_json_equal(a->output, b->output);
    assert_int_equal(a->output_is_iterator, b->output_is_iterator);
    assert_str_or_null(a->created_at, b->created_at);
    assert_true(a->started_at == b->started_at);
    assert_true(a->completed_at == b->completed_at);
    assert_int_equal(a->logs_len, b->logs_len);
    assert_memory_equal(a->logs, b->logs, a->logs_len);
    assert_str_or_null(a->error, b->error);
    assert_int_equal(a->status, b->status);
    assert_json_equal(a->metrics, b->metrics);
    assert_str_or_null(a->webhook, b->webhook);
    assert_int_equal(a->events, b->events);
    assert_str_or_null(a->traceparent, b->traceparent);
    assert_str_or_null(a->tracestate, b->tracestate);
    assert_int_equal(a->raw_files, b->raw_files);
    assert_int_equal(a->cancel_requested, b->cancel_requested);
    assert_int_equal(a->terminal_webhook_pending, b->terminal_webhook_pending);
    if (a->deadline == 0)
        assert_true(b->deadline == 0);
    else
        assert_true(b->deadline > a->deadline - 1 && b->deadline < a->deadline + 1);
}

static void queued_and_finished_records_round_trip_every_field(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *queued = full_record("pred_queued");
    cf_prediction *done = full_record("pred_done");
    done->status = CF_STATUS_SUCCEEDED;
    done->completed_at = 1700000001.5;
    done->deadline = 0;
    done->terminal_webhook_pending = 1;
    cf_prediction_set_error(done, NULL);
    save_ok(s, queued, 0);
    save_ok(s, done, 0);
    cf_state_free(s);

    size_t n = 0;
    cf_prediction **list = reload(f->state, &n);
    assert_int_equal(n, 2);
    assert_same_record(queued, list[0]);
    assert_same_record(done, list[1]);
    assert_int_equal(list[0]->refs, 1);
    free_list(list, n);
    cf_prediction_decref(queued);
    cf_prediction_decref(done);
}

/* The record's text written straight from p is the dump of its json_t,
 * byte for byte (or NULL where the json_t is the one to use). */
static void text_matches_json(const cf_prediction *p, int running)
{
    json_t *rec = cf_state_record_json(p, running, 42);
    char *want = cf_json_dumps(rec);
    size_t len = 0;
    char *got = cf_state_record_text(p, running, 42, 1 << 20, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    free(got);
    assert_null(cf_state_record_text(p, running, 42, len - 1, &len));
    assert_int_equal(len, strlen(want));
    free(want);
    json_decref(rec);
}

static void record_text_is_the_json_records_dump(void **state)
{
    (void)state;
    cf_prediction *p = cf_prediction_new("pred_text");
    text_matches_json(p, 0); /* queued, nothing set */
    cf_prediction_decref(p);
    p = full_record("pred_full");
    p->deadline = 0; /* the wall-clock deadline is taken at each call */
    size_t len = 1;
    assert_null(cf_state_record_text(p, 0, 42, 1 << 20, &len)); /* a NUL in its logs */
    assert_int_equal(len, 0);
    p->logs_len = 0;
    cf_prediction_append_logs(p, "line one\nline two \u00e9\n", 20);
    text_matches_json(p, 0);
    text_matches_json(p, 1); /* running */
    json_decref(p->kinds);
    p->kinds = json_pack("{s:s, s:s}", "img", "path", "text", "secret");
    text_matches_json(p, 1); /* a secret left out of input_worker */
    p->status = CF_STATUS_SUCCEEDED;
    p->completed_at = 1700000001.5;
    text_matches_json(p, 0); /* finished */
    cf_prediction_decref(p);
}

static void logs_that_are_not_utf8_survive_as_replacement_characters(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *p = cf_prediction_new("pred_bytes");
    const char raw[] = "ok \xff\xfe end \xc3\xa9";
    cf_prediction_append_logs(p, raw, sizeof raw - 1);
    save_ok(s, p, 0);
    cf_state_free(s);
    size_t n = 0;
    cf_prediction **list = reload(f->state, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->logs, "ok \xEF\xBF\xBD\xEF\xBF\xBD end \xc3\xa9");
    free_list(list, n);
    cf_prediction_decref(p);
}

static void secret_inputs_never_reach_the_disk(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *p = cf_prediction_new("pred_secret");
    p->input_worker = json_pack("{s:s, s:s}", "token", "hunter2-TOPSECRET", "text", "hi");
    p->input_echo = json_pack("{s:s, s:s}", "token", "**********", "text", "hi");
    p->kinds = json_pack("{s:s}", "token", "secret");
    p->webhook = strdup("http://127.0.0.1:9/hook");
    save_ok(s, p, 0);
    cf_state_free(s);

    char path[512];
    snprintf(path, sizeof path, "%s/pred_secret.json", f->state);
    char *text = read_all(path);
    assert_non_null(text);
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "\"secrets_omitted\":true"));
    free(text);

    /* it comes back flagged: record.c fails it (test_record.c) */
    size_t n = 0;
    int omitted[1] = {0};
    cf_prediction **list = reload_flags(f->state, &n, NULL, omitted);
    assert_int_equal(n, 1);
    assert_int_equal(omitted[0], 1);
    assert_int_equal(list[0]->status, CF_STATUS_PROCESSING);
    assert_null(json_object_get(list[0]->input_worker, "token"));
    free_list(list, n);
    cf_prediction_decref(p);
}

static void a_running_record_comes_back_flagged_running(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *run = cf_prediction_new("pred_running");
    run->started_at = cf_now();
    save_ok(s, run, 1);
    cf_prediction *queued = cf_prediction_new("pred_queued");
    save_ok(s, queued, 0);
    cf_prediction *done = cf_prediction_new("pred_done");
    done->status = CF_STATUS_SUCCEEDED;
    save_ok(s, done, 1); /* running is ignored for a terminal record */
    cf_state_free(s);

    size_t n = 0;
    int running[3] = {0};
    cf_prediction **list = reload_flags(f->state, &n, running, NULL);
    assert_int_equal(n, 3);
    assert_string_equal(list[0]->id, "pred_running");
    assert_int_equal(running[0], 1);
    assert_int_equal(list[0]->status, CF_STATUS_PROCESSING);
    assert_int_equal(running[1], 0);
    assert_int_equal(running[2], 0);
    free_list(list, n);
    cf_prediction_decref(run);
    cf_prediction_decref(queued);
    cf_prediction_decref(done);
}

static void queued_records_come_back_in_arrival_order(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    const char *ids[] = {"zeta", "alpha", "mid", "beta"};
    cf_prediction *ps[4];
    for (int i = 0; i < 4; i++) {
        ps[i] = cf_prediction_new(ids[i]);
        ps[i]->started_at = 1000.0; /* same second: order comes from arrival */
        save_ok(s, ps[i], 0);
    }
    save_ok(s, ps[0], 0); /* saving again keeps its place */
    cf_state_free(s);

    size_t n = 0;
    cf_prediction **list = reload(f->state, &n);
    assert_int_equal(n, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(list[i]->id, ids[i]);
        assert_int_equal(list[i]->status, CF_STATUS_PROCESSING);
    }
    free_list(list, n);

    /* records saved after a restart go after the loaded ones */
    s = open_ok(f->state);
    list = load_all_ok(s, &n, NULL, NULL);
    free_list(list, n);
    cf_prediction *late = cf_prediction_new("aaa_late");
    save_ok(s, late, 0);
    cf_state_free(s);
    list = reload(f->state, &n);
    assert_int_equal(n, 5);
    assert_string_equal(list[4]->id, "aaa_late");
    free_list(list, n);
    cf_prediction_decref(late);
    for (int i = 0; i < 4; i++)
        cf_prediction_decref(ps[i]);
}

static void a_leftover_temp_file_is_ignored_and_removed(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *p = cf_prediction_new("pred_a");
    cf_prediction_append_logs(p, "old", 3);
    save_ok(s, p, 0);
    cf_state_free(s);
    /* a crash in the middle of the next save of pred_a */
    write_file(f->state, ".tmp-pred_a.json", "{\"version\":1,\"id\":\"pred_a\",\"lo");
    write_file(f->state, ".probe-1234", "x");

    size_t n = 0;
    cf_prediction **list = reload(f->state, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->logs, "old");
    assert_int_equal(count_files(f->state, ".tmp-"), 0);
    assert_int_equal(count_files(f->state, ".probe-"), 0);
    free_list(list, n);
    cf_prediction_decref(p);
}

static void corrupt_files_are_skipped(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *p = cf_prediction_new("pred_good");
    save_ok(s, p, 0);
    cf_state_free(s);
    write_file(f->state, "pred_garbage.json", "\x01not json at all");
    write_file(f->state, "pred_empty.json", "");
    write_file(f->state, "pred_array.json", "[1,2]");
    write_file(f->state, "pred_noid.json", "{\"version\":1,\"status\":\"processing\"}");
    write_file(f->state, "pred_renamed.json",
               "{\"version\":1,\"id\":\"pred_other\",\"status\":\"processing\","
               "\"phase\":\"queued\"}");
    write_file(f->state, "pred_badstatus.json",
               "{\"version\":1,\"id\":\"pred_badstatus\",\"status\":\"weird\","
               "\"phase\":\"queued\"}");
    write_file(f->state, "pred_future.json",
               "{\"version\":99,\"id\":\"pred_future\",\"status\":\"processing\","
               "\"phase\":\"queued\"}");
    write_file(f->state, "README", "not a record");

    size_t n = 0;
    cf_prediction **list = reload(f->state, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->id, "pred_good");
    free_list(list, n);
    cf_prediction_decref(p);
}

static void odd_ids_get_safe_file_names(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    char longid[128];
    memset(longid, '%', 127);
    longid[127] = '\0';
    const char *ids[] = {"../../etc/passwd", "a b/c.d", ".hidden", "é\xff", longid};
    for (int i = 0; i < 5; i++) {
        cf_prediction *p = cf_prediction_new(ids[i]);
        save_ok(s, p, 0);
        cf_prediction_decref(p);
    }
    cf_state_free(s);
    assert_int_equal(count_files(f->state, "~"), 5);
    assert_int_equal(count_files(f->dir, "passwd"), 0);

    size_t n = 0;
    cf_prediction **list = reload(f->state, &n);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(list[i]->id, ids[i]);
    free_list(list, n);

    s = open_ok(f->state);
    cf_error err;
    for (int i = 0; i < 5; i++)
        assert_int_equal(cf_state_remove(s, ids[i], &err), CF_OK);
    assert_int_equal(cf_state_remove(s, "never-saved", &err), CF_OK);
    cf_state_free(s);
    assert_int_equal(count_files(f->state, "~"), 0);
}

static void a_directory_under_a_file_cannot_be_opened(void **state)
{
    fixture *f = *state;
    write_file(f->dir, "afile", "x");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/afile/state", f->dir);
    cf_error err;
    cf_error_clear(&err);
    assert_null(cf_state_open(dir, &err));
    assert_int_equal(err.code, CF_EIO);
    assert_non_null(strstr(err.msg, dir));
    assert_non_null(strstr(err.msg, "Not a directory"));
}

static void a_save_into_a_vanished_directory_is_unavailable(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_prediction *p = cf_prediction_new("pred_lost");
    char lock[512];
    snprintf(lock, sizeof lock, "%s/.lock", f->state);
    assert_int_equal(unlink(lock), 0);
    assert_int_equal(rmdir(f->state), 0);
    cf_error err;
    cf_error_clear(&err);
    assert_int_equal(cf_state_save(s, p, 0, 1, 1, &err), CF_EUNAVAIL);
    assert_non_null(strstr(err.msg, "pred_lost"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    cf_state_free(s);
    cf_prediction_decref(p);
}

static void one_process_per_directory(void **state)
{
    fixture *f = *state;
    cf_state *s = open_ok(f->state);
    cf_error err;
    cf_error_clear(&err);
    assert_null(cf_state_open(f->state, &err));
    assert_int_equal(err.code, CF_EBUSY);
    assert_non_null(strstr(err.msg, "in use"));
    cf_state_free(s);
    cf_state *again = open_ok(f->state); /* the lock went with the first */
    cf_state_free(again);
}

/* The checks of the full-disk test, in a child that mounted a 64 KiB tmpfs
 * on dir. Exit status: 0 = passed, else the failing step. */
static int full_disk_child(const char *dir)
{
    cf_error err;
    cf_error_clear(&err);
    cf_state *s = cf_state_open(dir, &err);
    if (s == NULL)
        return 10;
    cf_prediction *p = cf_prediction_new("pred_small");
    if (cf_state_save(s, p, 0, 1, 1, &err) != CF_OK)
        return 11;
    /* the same record, grown past the disk: the old file must survive */
    static char big[256 * 1024];
    memset(big, 'x', sizeof big);
    cf_prediction_append_logs(p, big, sizeof big);
    if (cf_state_save(s, p, 0, 1, 0, &err) != CF_EUNAVAIL)
        return 12;
    if (strstr(err.msg, "No space left on device") == NULL)
        return 13;
    cf_prediction *other = cf_prediction_new("pred_other");
    cf_prediction_append_logs(other, big, sizeof big);
    if (cf_state_save(s, other, 0, 2, 1, &err) != CF_EUNAVAIL)
        return 14;
    if (count_files(dir, ".tmp-") != 0)
        return 15;
    cf_state_loaded *loaded = NULL;
    size_t n = 0;
    if (cf_state_load_all(s, &loaded, &n, &err) != CF_OK || n != 1 || loaded[0].p->logs_len != 0)
        return 16;
    free_list(records_of(loaded, n, NULL, NULL), n);
    cf_state_free(s);
    /* a full disk is refused at open too */
    int fd = open("/dev/zero", O_RDONLY);
    char fill[512];
    snprintf(fill, sizeof fill, "%s/fill", dir);
    int out = open(fill, O_WRONLY | O_CREAT, 0600);
    while (write(out, big, sizeof big) > 0) {
    }
    close(out);
    close(fd);
    cf_error_clear(&err);
    if (cf_state_open(dir, &err) != NULL || strstr(err.msg, "No space left") == NULL)
        return 17;
    cf_prediction_decref(p);
    cf_prediction_decref(other);
    return 0;
}

static void a_full_disk_is_a_clear_error(void **state)
{
    fixture *f = *state;
    mkdir(f->state, 0700);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a private mount namespace: needs CAP_SYS_ADMIN, else skip (77) */
        if (unshare(CLONE_NEWNS) != 0 ||
            mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", f->state, "tmpfs", 0, "size=64k,mode=0700") != 0)
            _exit(77);
        int rc = full_disk_child(f->state);
        umount(f->state);
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void default_dir_follows_systemd_then_xdg_then_root(void **state)
{
    fixture *f = *state;
    char a[1024], b[1024], c[1024];
    char proj1[512], proj2[512];
    snprintf(proj1, sizeof proj1, "%s/hello world", f->dir);
    snprintf(proj2, sizeof proj2, "%s/other", f->dir);
    mkdir(proj1, 0700);
    mkdir(proj2, 0700);

    setenv("STATE_DIRECTORY", "/run/state/one:/run/state/two", 1);
    cf_state_default_dir(proj1, a, sizeof a);
    assert_string_equal(a, "/run/state/one");
    unsetenv("STATE_DIRECTORY");

    setenv("XDG_STATE_HOME", "/x/state", 1);
    cf_state_default_dir(proj1, a, sizeof a);
    assert_int_equal(strncmp(a, "/x/state/cog-fcgi/hello_world-", 30), 0);
    assert_int_equal(strlen(a), 30 + 16);
    char trailing[600];
    snprintf(trailing, sizeof trailing, "%s/", proj1);
    cf_state_default_dir(trailing, b, sizeof b);
    assert_string_equal(a, b); /* same project, same directory */
    cf_state_default_dir(proj2, c, sizeof c);
    assert_string_not_equal(a, c);
    unsetenv("XDG_STATE_HOME");

    cf_state_default_dir(proj2, a, sizeof a);
    if (geteuid() == 0) {
        assert_int_equal(strncmp(a, "/var/lib/cog-fcgi/other-", 24), 0);
    } else {
        char want[600];
        snprintf(want, sizeof want, "%s/.local/state/cog-fcgi/other-", getenv("HOME"));
        assert_int_equal(strncmp(a, want, strlen(want)), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(queued_and_finished_records_round_trip_every_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(logs_that_are_not_utf8_survive_as_replacement_characters,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(secret_inputs_never_reach_the_disk, setup, teardown),
        cmocka_unit_test(record_text_is_the_json_records_dump),
        cmocka_unit_test_setup_teardown(a_running_record_comes_back_flagged_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(queued_records_come_back_in_arrival_order, setup, teardown),
        cmocka_unit_test_setup_teardown(a_leftover_temp_file_is_ignored_and_removed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(corrupt_files_are_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(odd_ids_get_safe_file_names, setup, teardown),
        cmocka_unit_test_setup_teardown(a_directory_under_a_file_cannot_be_opened, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_save_into_a_vanished_directory_is_unavailable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(one_process_per_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_disk_is_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(default_dir_follows_systemd_then_xdg_then_root, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
