/* test_multipart.c - the streaming form reader: every split of the input, files, limits, errors, typing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "multipart.h"

/* Feeds data at most step bytes per read. */
typedef struct feed {
    const char *data;
    size_t len, off, step;
} feed;

static int feed_read(void *ctx, char *buf, int n)
{
    feed *f = ctx;
    size_t k = f->len - f->off;
    if (k > f->step)
        k = f->step;
    if (k > (size_t)n)
        k = (size_t)n;
    memcpy(buf, f->data + f->off, k);
    f->off += k;
    return (int)k;
}

static const char BODY[] =
    "preamble\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhi --XyZ there\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"steps\"\r\n\r\n12\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"../my photo.png\"\r\n"
    "Content-Type: image/png\r\n\r\nPNG\r\n--Xy\r\nZ\0data\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\na\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"tags\"\r\n\r\nb\r\n"
    "--XyZ--\r\nepilogue";

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[256];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void test_every_step(void **state)
{
    (void)state;
    static const char file_bytes[] = "PNG\r\n--Xy\r\nZ\0data";
    for (size_t step = 1; step <= sizeof BODY; step++) {
        feed f = {BODY, sizeof BODY - 1, 0, step};
        cf_form form;
        cf_error err;
        int big = 0;
        assert_int_equal(cf_multipart_read_from(feed_read, &f, "XyZ", 1 << 20, &form, &big, &err), 0);
        assert_int_equal(big, 0);
        assert_int_equal(form.n, 5);
        assert_string_equal(form.parts[0].name, "prompt");
        assert_string_equal(form.parts[0].value, "hi --XyZ there");
        assert_null(form.parts[0].filename);
        assert_string_equal(form.parts[1].value, "12");
        assert_string_equal(form.parts[2].filename, "../my photo.png");
        assert_true(strncmp(form.parts[2].value, CF_FORM_SCHEME, strlen(CF_FORM_SCHEME)) == 0);
        assert_non_null(strstr(form.parts[2].value, "/2/my_photo.png"));
        char path[4096];
        assert_int_equal(cf_form_file_path(form.parts[2].value, path, sizeof path, &err), 0);
        size_t len;
        char *got = read_file(path, &len);
        assert_int_equal(len, sizeof file_bytes - 1);
        assert_memory_equal(got, file_bytes, len);
        assert_string_equal(form.parts[4].value, "b");
        char spool[256];
        snprintf(spool, sizeof spool, "%s", form.spool);
        cf_form_free(&form);
        struct stat st;
        assert_int_not_equal(stat(spool, &st), 0); /* removed with its file */
    }
}

static void test_typing(void **state)
{
    (void)state;
    feed f = {BODY, sizeof BODY - 1, 0, 4096};
    cf_form form;
    cf_error err;
    int big = 0;
    assert_int_equal(cf_multipart_read_from(feed_read, &f, "XyZ", 1 << 20, &form, &big, &err), 0);
    json_t *schema = json_loads(
        "{\"input\":{\"properties\":{\"prompt\":{\"type\":\"string\"},\"steps\":{\"type\":\"integer\"},"
        "\"image\":{\"type\":\"string\",\"format\":\"uri\"},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}}", 0, NULL);
    json_t *body = cf_form_to_body(&form, schema);
    json_t *input = json_object_get(body, "input");
    assert_string_equal(json_string_value(json_object_get(input, "prompt")), "hi --XyZ there");
    assert_int_equal(json_integer_value(json_object_get(input, "steps")), 12);
    assert_true(json_is_integer(json_object_get(input, "steps")));
    assert_int_equal(json_array_size(json_object_get(input, "tags")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(input, "tags"), 1)), "b");
    json_decref(body);
    json_decref(schema);
    cf_form_free(&form);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "no boundary at all",
        "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
        "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",
        "--B\r\nContent-Disposition: form-data; name=\"a\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        feed f = {bad[i], strlen(bad[i]), 0, 7};
        cf_form form;
        cf_error err;
        int big = 0;
        assert_int_equal(cf_multipart_read_from(feed_read, &f, "B", 1 << 20, &form, &big, &err),
                         CF_EINVAL);
        cf_form_free(&form);
    }
    /* over the limit: read to the end, flagged */
    feed f = {BODY, sizeof BODY - 1, 0, 16};
    cf_form form;
    cf_error err;
    int big = 0;
    cf_multipart_read_from(feed_read, &f, "XyZ", 64, &form, &big, &err);
    assert_int_equal(big, 1);
    assert_int_equal(f.off, f.len);
    cf_form_free(&form);
}

static void test_boundary_and_paths(void **state)
{
    (void)state;
    char b[80];
    assert_true(cf_multipart_boundary("multipart/form-data; boundary=abc", b, sizeof b));
    assert_string_equal(b, "abc");
    assert_true(cf_multipart_boundary("Multipart/Form-Data; charset=x; boundary=\"a b\"", b, sizeof b));
    assert_string_equal(b, "a b");
    assert_false(cf_multipart_boundary("application/json", b, sizeof b));
    assert_false(cf_multipart_boundary("multipart/form-data", b, sizeof b));
    char path[4096];
    cf_error err;
    assert_int_equal(cf_form_file_path(CF_FORM_SCHEME "0123456789abcdef0123456789abcdef/0/x.png",
                                       path, sizeof path, &err), CF_EINVAL); /* not there */
    assert_int_equal(cf_form_file_path(CF_FORM_SCHEME "../../etc/passwd", path, sizeof path, &err),
                     CF_EINVAL);
    assert_int_equal(cf_form_file_path(CF_FORM_SCHEME "0123456789abcdef0123456789abcdef/0/../../x",
                                       path, sizeof path, &err), CF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_step),
        cmocka_unit_test(test_typing),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_boundary_and_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
