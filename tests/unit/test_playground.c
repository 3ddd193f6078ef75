/* test_playground.c - the page or the JSON by Accept, the built-in assets, examples.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "examples.h"
#include "playground.h"
#include "playground_assets.h"

static void accept_decides(void **state)
{
    (void)state;
    static const struct {
        const char *accept;
        int page;
    } cases[] = {
        {NULL, 0},
        {"", 0},
        {"*/*", 0},
        {"application/json", 0},
        {"application/json, text/html", 0},     /* a tie: the API wins */
        {"text/html;q=0.5, application/json", 0},
        {"text/html;q=0", 0},
        {"text/htmlx", 0},
        {"text/html", 1},
        {"TEXT/HTML", 1},
        {"application/json;q=0.9, text/html", 1},
        {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", 1},
        {"text/html ; q=0.7, application/json;q=0.2", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cf_playground_wants_page(cases[i].accept) != cases[i].page)
            print_error("Accept: %s\n", cases[i].accept ? cases[i].accept : "(none)");
        assert_int_equal(cf_playground_wants_page(cases[i].accept), cases[i].page);
    }
}

static void assets_are_built_in(void **state)
{
    (void)state;
    int page = 0, script = 0;
    for (size_t i = 0; i < cf_playground_asset_count; i++) {
        const cf_asset *a = &cf_playground_assets[i];
        assert_int_equal(strlen(a->data), a->len);
        if (strcmp(a->name, "index.html") == 0)
            page = strncmp(a->type, "text/html", 9) == 0 && strstr(a->data, "playground/app.js") != NULL;
        if (strcmp(a->name, "app.js") == 0)
            script = strncmp(a->type, "text/javascript", 15) == 0;
    }
    assert_true(page);
    assert_true(script);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void examples_load_and_save(void **state)
{
    (void)state;
    char dir[] = "/tmp/cf-examples.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/examples.json", dir);
    cf_error err;

    json_t *doc = cf_examples_load(dir, &err); /* no file: an empty list */
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "examples")), 0);
    json_decref(doc);

    json_t *in1 = json_pack("{s:s}", "text", "one");
    json_t *in2 = json_pack("{s:s}", "text", "two");
    json_t *out = json_string("hello one");
    assert_int_equal(cf_examples_save(dir, "a", in1, out, &err), CF_OK);
    assert_int_equal(cf_examples_save(dir, "b", in2, NULL, &err), CF_OK);
    assert_int_equal(cf_examples_save(dir, "a", in2, NULL, &err), CF_OK); /* replaced in place */
    doc = cf_examples_load(dir, &err);
    assert_non_null(doc);
    json_t *list = json_object_get(doc, "examples");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "a");
    assert_true(json_equal(json_object_get(json_array_get(list, 0), "input"), in2));
    assert_null(json_object_get(json_array_get(list, 0), "output"));
    json_decref(doc);

    /* Files in the output schema: the output is not recorded. */
    json_t *openapi = json_pack("{s:{s:{s:{s:s,s:s}}}}", "components", "schemas", "Output", "type",
                                "string", "format", "uri");
    int with_output = -1;
    assert_int_equal(cf_examples_record(dir, "c", in1, out, openapi, &with_output, &err), CF_OK);
    assert_int_equal(with_output, 0);
    json_object_del(json_object_get(json_object_get(openapi, "components"), "schemas"), "Output");
    assert_int_equal(cf_examples_record(dir, "d", in1, out, openapi, &with_output, &err), CF_OK);
    assert_int_equal(with_output, 1);

    write_file(path, "{\"examples\": [");
    assert_null(cf_examples_load(dir, &err));
    assert_int_equal(err.code, CF_EINVAL);
    assert_non_null(strstr(err.msg, "line 1"));
    assert_int_not_equal(cf_examples_save(dir, "x", in1, NULL, &err), CF_OK);
    write_file(path, "{\"examples\": [{\"name\": 1, \"input\": {}}]}");
    assert_null(cf_examples_load(dir, &err));
    assert_non_null(strstr(err.msg, "example 0"));

    json_decref(openapi);
    json_decref(in1);
    json_decref(in2);
    json_decref(out);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_decides),
        cmocka_unit_test(assets_are_built_in),
        cmocka_unit_test(examples_load_and_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
