/* test_spill.c - the spill's segment files: round trip, release, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files_in.h"
#include "spill.h"

typedef struct fixture {
    char dir[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_spill.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rmdir(f->dir);
    free(f);
    return 0;
}

static cf_spill *open_ok(const char *dir)
{
    cf_error err;
    cf_error_clear(&err);
    cf_spill *s = cf_spill_open(dir, &err);
    if (s == NULL)
        fail_msg("cf_spill_open: %s", err.msg);
    return s;
}

static cf_spill_loc append_ok(cf_spill *s, const char *text, size_t len)
{
    cf_error err;
    cf_error_clear(&err);
    cf_spill_loc loc = {0};
    if (cf_spill_append(s, text, len, &loc, &err) != CF_OK)
        fail_msg("cf_spill_append: %s", err.msg);
    return loc;
}

static void records_read_back_as_written(void **state)
{
    fixture *f = *state;
    cf_spill *s = open_ok(f->dir);
    cf_spill_loc a = append_ok(s, "{\"id\":\"a\"}", 10);
    cf_spill_loc b = append_ok(s, "{\"id\":\"bb\"}", 11);
    size_t len = 0;
    char *text = cf_spill_read(s, &b, &len);
    assert_string_equal(text, "{\"id\":\"bb\"}");
    assert_int_equal(len, 11);
    free(text);
    text = cf_spill_read(s, &a, NULL);
    assert_string_equal(text, "{\"id\":\"a\"}");
    free(text);
    assert_int_equal(files_in(f->dir), 1); /* one segment for both, no file per record */
    cf_spill_loc none = {0};
    assert_null(cf_spill_read(s, &none, NULL));
    cf_spill_free(s);
    assert_int_equal(files_in(f->dir), 0);
}

static void a_segment_goes_when_its_last_record_is_released(void **state)
{
    fixture *f = *state;
    cf_spill *s = open_ok(f->dir);
    size_t big = 3u << 20;
    char *blob = malloc(big);
    memset(blob, 'x', big);
    cf_spill_loc locs[8];
    for (int i = 0; i < 8; i++)
        locs[i] = append_ok(s, blob, big); /* 24 MiB: several 8 MiB segments */
    size_t before = cf_spill_segments(s);
    assert_true(before >= 3);
    assert_int_equal(files_in(f->dir), (int)before);
    cf_spill_release(s, &locs[0]); /* its segment still has locs[1] */
    assert_int_equal(cf_spill_segments(s), before);
    char *text = cf_spill_read(s, &locs[1], NULL);
    assert_non_null(text);
    assert_int_equal(strlen(text), big);
    free(text);
    cf_spill_release(s, &locs[1]);
    assert_int_equal(cf_spill_segments(s), before - 1);
    assert_null(cf_spill_read(s, &locs[1], NULL)); /* released: gone */
    for (int i = 2; i < 8; i++)
        cf_spill_release(s, &locs[i]);
    /* the one appended to stays open, empty */
    assert_int_equal(cf_spill_segments(s), 1);
    assert_int_equal(files_in(f->dir), 1);
    cf_spill_loc again = append_ok(s, blob, big);
    cf_spill_release(s, &again);
    free(blob);
    cf_spill_free(s);
}

static void what_an_earlier_run_left_is_removed(void **state)
{
    fixture *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/seg-7", f->dir);
    FILE *old = fopen(path, "w");
    fputs("stale", old);
    fclose(old);
    snprintf(path, sizeof path, "%s/pred_x.json", f->dir); /* the earlier format */
    old = fopen(path, "w");
    fclose(old);
    cf_spill *s = open_ok(f->dir);
    assert_int_equal(files_in(f->dir), 0);
    cf_spill_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(records_read_back_as_written, setup, teardown),
        cmocka_unit_test_setup_teardown(a_segment_goes_when_its_last_record_is_released, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(what_an_earlier_run_left_is_removed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
