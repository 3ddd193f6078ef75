/* test_body.c - request bodies parsed like FastAPI: content types, PUT, and Python's JSON errors. */
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

#include "body.h"
#include "json_in.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(v);
    return v;
}

static void expect_detail(const char *body, const char *ctype, int for_put, const char *want_text)
{
    json_t *details = json_array();
    json_t *out = NULL;
    cf_error err;
    json_t *want = parse(want_text);
    int rc = cf_body_parse(body, body ? strlen(body) : 0, ctype, for_put, &out, details, &err);
    if (!json_equal(details, want)) {
        char *got = json_dumps(details, JSON_COMPACT);
        print_error("body %s (%s): got %s\n", body ? body : "(none)", ctype ? ctype : "no type", got);
        free(got);
    }
    assert_int_equal(rc, CF_EINVAL);
    assert_null(out);
    assert_true(json_equal(details, want));
    json_decref(want);
    json_decref(details);
}

static void expect_object(const char *body, const char *ctype, int for_put, const char *want_text)
{
    json_t *details = json_array();
    json_t *out = NULL;
    cf_error err;
    json_t *want = parse(want_text);
    assert_int_equal(cf_body_parse(body, body ? strlen(body) : 0, ctype, for_put, &out, details, &err), 0);
    assert_true(json_equal(out, want));
    assert_int_equal(json_array_size(details), 0);
    json_decref(out);
    json_decref(want);
    json_decref(details);
}

static const char *const not_a_dict =
    "[{\"loc\":[\"body\"],\"msg\":\"value is not a valid dict\",\"type\":\"type_error.dict\"}]";

/* Case 06: a JSON body with a form or text content type is not a dict. */
static void test_non_json_content_type(void **state)
{
    (void)state;
    expect_detail("{\"input\": {\"text\": \"hi\"}}", "application/x-www-form-urlencoded", 0, not_a_dict);
    expect_detail("{\"input\": {\"text\": \"hi\"}}", "text/plain", 0, not_a_dict);
    expect_detail("{\"input\": {}}", "   ", 0, not_a_dict);
    expect_detail("{\"input\": {}}", "application/json/x", 0, not_a_dict);
    expect_detail("{\"input\": {}}", "application/jsonx", 0, not_a_dict);
    expect_detail("{\"input\": {}}", "text/json", 1, not_a_dict);
}

static void test_json_content_types(void **state)
{
    (void)state;
    assert_true(cf_body_is_json_type(NULL));
    assert_true(cf_body_is_json_type(""));
    assert_true(cf_body_is_json_type("application/json"));
    assert_true(cf_body_is_json_type("Application/JSON; charset=utf-8"));
    assert_true(cf_body_is_json_type(" application/json ;x=y"));
    assert_true(cf_body_is_json_type("application/vnd.api+json"));
    assert_true(cf_body_is_json_type("application/merge-patch+JSON"));
    assert_false(cf_body_is_json_type("text/plain"));
    assert_false(cf_body_is_json_type("application/x-www-form-urlencoded"));
    assert_false(cf_body_is_json_type("multipart/form-data; boundary=x"));
    assert_false(cf_body_is_json_type("json"));
    assert_false(cf_body_is_json_type("application/json+"));
    assert_false(cf_body_is_json_type("text/x+json"));
    expect_object("{\"input\": {\"text\": \"hi\"}}", "application/json; charset=utf-8", 0,
                  "{\"input\": {\"text\": \"hi\"}}");
    expect_object("{\"id\": \"x\"}", NULL, 1, "{\"id\": \"x\"}");
}

static void test_no_body(void **state)
{
    (void)state;
    const char *missing = "[{\"loc\":[\"body\"],\"msg\":\"field required\",\"type\":\"value_error.missing\"}]";
    expect_object(NULL, NULL, 0, "{}");
    expect_object("", "application/json", 0, "{}");
    expect_object("", "text/plain", 0, "{}");
    expect_object("null", "application/json", 0, "{}");
    expect_detail(NULL, NULL, 1, missing);
    expect_detail("", "application/json", 1, missing);
    expect_detail(" null ", "application/json", 1, missing);
}

static void test_not_an_object(void **state)
{
    (void)state;
    expect_detail("[1, 2]", "application/json", 0, not_a_dict);
    expect_detail("\"x\"", "application/json", 0, not_a_dict);
    expect_detail("5", NULL, 1, not_a_dict);
    expect_detail("true", NULL, 0, not_a_dict);
}

/* Case 06's recorded answers, verbatim. */
static void test_recorded_jsondecode(void **state)
{
    (void)state;
    expect_detail("{\"input\": {\"text\": \"hi\"}", "application/json", 0,
                  "[{\"loc\": [\"body\", 24], \"msg\": \"Expecting ',' delimiter: line 1 column 25 (char 24)\", "
                  "\"type\": \"value_error.jsondecode\", \"ctx\": {\"msg\": \"Expecting ',' delimiter\", "
                  "\"doc\": \"{\\\"input\\\": {\\\"text\\\": \\\"hi\\\"}\", \"pos\": 24, \"lineno\": 1, "
                  "\"colno\": 25}}]");
    expect_detail("not json", "application/json", 0,
                  "[{\"loc\": [\"body\", 0], \"msg\": \"Expecting value: line 1 column 1 (char 0)\", \"type\": "
                  "\"value_error.jsondecode\", \"ctx\": {\"msg\": \"Expecting value\", \"doc\": \"not json\", "
                  "\"pos\": 0, \"lineno\": 1, \"colno\": 1}}]");
    expect_detail("{\"input\": {\"text\": \"hi\"}, \"id\": \"re-0\",}", "application/json", 0,
                  "[{\"loc\": [\"body\", 39], \"msg\": \"Expecting property name enclosed in double quotes: line 1 "
                  "column 40 (char 39)\", \"type\": \"value_error.jsondecode\", \"ctx\": {\"msg\": \"Expecting "
                  "property name enclosed in double quotes\", \"doc\": \"{\\\"input\\\": {\\\"text\\\": "
                  "\\\"hi\\\"}, \\\"id\\\": \\\"re-0\\\",}\", \"pos\": 39, \"lineno\": 1, \"colno\": 40}}]");
}

/* FastAPI's 400: bytes that are not UTF-8, values JSON cannot hold, depth. */
static void test_undecodable(void **state)
{
    (void)state;
    static const char *const bodies[] = {"{\"a\": \"\xff\"}", "\xc3\x28", "{\"a\": \"\xed\xa0\x80\"}",
                                         "\"\\ud800\"", "[1e999]"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *details = json_array();
        json_t *out = NULL;
        cf_error err;
        assert_int_equal(cf_body_parse(bodies[i], strlen(bodies[i]), "application/json", 0, &out, details, &err),
                         CF_EINVAL);
        assert_int_equal(json_array_size(details), 0);
        assert_string_equal(err.msg, CF_BODY_PARSE_ERROR);
        json_decref(details);
    }
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    json_t *details = json_array();
    json_t *out = NULL;
    cf_error err;
    assert_int_equal(cf_body_parse(deep, 2 * depth, NULL, 0, &out, details, &err), CF_EINVAL);
    assert_int_equal(json_array_size(details), 0);
    free(deep);
    json_decref(details);
}

static void test_bom_and_duplicates(void **state)
{
    (void)state;
    expect_object("\xef\xbb\xbf{\"a\": 1}", "application/json", 0, "{\"a\": 1}");
    json_t *details = json_array();
    json_t *out = NULL;
    cf_error err;
    const char *body = "{\"b\": 1, \"a\": 2, \"b\": 3}";
    assert_int_equal(cf_body_parse(body, strlen(body), NULL, 0, &out, details, &err), 0);
    /* Python's dict: the last value, in the first key's place. */
    assert_string_equal(json_object_iter_key(json_object_iter(out)), "b");
    assert_int_equal(json_integer_value(json_object_get(out, "b")), 3);
    json_decref(out);
    /* A BOM is not counted in the error position. */
    body = "\xef\xbb\xbf{x";
    assert_int_equal(cf_body_parse(body, strlen(body), NULL, 0, &out, details, &err), CF_EINVAL);
    json_t *item = json_array_get(details, 0);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(item, "loc"), 1)), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(item, "ctx"), "doc")), "{x");
    json_decref(details);
}

static void test_numbers_keep_their_kind(void **state)
{
    (void)state;
    json_t *details = json_array();
    json_t *out = NULL;
    cf_error err;
    const char *body = "{\"i\": 7, \"f\": 7.0, \"e\": 1e2, \"big\": 123456789012345678901234567890, \"n\": -0}";
    assert_int_equal(cf_body_parse(body, strlen(body), NULL, 0, &out, details, &err), 0);
    assert_true(json_is_integer(json_object_get(out, "i")));
    assert_true(json_is_real(json_object_get(out, "f")));
    assert_true(json_is_real(json_object_get(out, "e")));
    assert_true(json_is_real(json_object_get(out, "big")));
    assert_true(json_is_integer(json_object_get(out, "n")));
    json_decref(out);
    json_decref(details);
}

/* One case of tests/data/body/jsondecode.json (Python's own verdicts). */
static void test_python_case(void **state)
{
    const json_t *tc = *state;
    const char *text = json_string_value(json_object_get(tc, "text"));
    size_t len = json_string_length(json_object_get(tc, "text"));
    cf_pyjson_error perr;
    cf_error err;

    json_t *v = cf_pyjson_loads(text, len, &perr, &err);
    if (json_object_get(tc, "fastapi400") != NULL) {
        assert_null(v);
        assert_null(perr.msg);
        return;
    }
    if (json_object_get(tc, "value") != NULL) {
        if (v == NULL) {
            print_error("%s: unexpected %s\n", text, err.msg);
        }
        assert_non_null(v);
        assert_true(json_equal(v, json_object_get(tc, "value")));
        json_decref(v);
        return;
    }
    if (v != NULL || perr.msg == NULL ||
        strcmp(perr.msg, json_string_value(json_object_get(tc, "msg"))) != 0 ||
        (json_int_t)perr.pos != json_integer_value(json_object_get(tc, "pos"))) {
        print_error("%s: got %s at %zu, want %s at %lld\n", text, perr.msg ? perr.msg : "(none)", perr.pos,
                    json_string_value(json_object_get(tc, "msg")),
                    (long long)json_integer_value(json_object_get(tc, "pos")));
    }
    assert_null(v);
    assert_non_null(perr.msg);
    assert_string_equal(perr.msg, json_string_value(json_object_get(tc, "msg")));
    assert_int_equal(perr.pos, json_integer_value(json_object_get(tc, "pos")));
    assert_int_equal(perr.lineno, json_integer_value(json_object_get(tc, "lineno")));
    assert_int_equal(perr.colno, json_integer_value(json_object_get(tc, "colno")));

    json_t *item = cf_pyjson_error_detail(&perr, text, len);
    assert_non_null(item);
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: line %zu column %zu (char %zu)", perr.msg, perr.lineno, perr.colno, perr.pos);
    assert_string_equal(json_string_value(json_object_get(item, "msg")), msg);
    assert_string_equal(json_string_value(json_object_get(item, "type")), "value_error.jsondecode");
    assert_true(json_equal(json_object_get(json_object_get(item, "ctx"), "doc"), json_object_get(tc, "text")));
    json_decref(item);
}

static json_t *load_data(const char *argv0, const char *name)
{
    char path[4096];
    const char *dir = getenv("CF_TEST_DATA");
    if (dir != NULL) {
        snprintf(path, sizeof(path), "%s/body/%s", dir, name);
    } else if (access("tests/data", F_OK) == 0) {
        snprintf(path, sizeof(path), "tests/data/body/%s", name);
    } else {
        const char *slash = strrchr(argv0, '/');
        int n = slash ? (int)(slash - argv0) : 1;
        snprintf(path, sizeof(path), "%.*s/../../tests/data/body/%s", n, slash ? argv0 : ".", name);
    }
    json_error_t jerr;
    json_t *data = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (data == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", path, jerr.text);
    }
    return data;
}

/* Strings are scanned eight bytes at a time: a quote, a backslash, a
 * control character or a multibyte character at any offset of a long
 * string is still found where Python finds it. */
static void test_long_strings_every_offset(void **state)
{
    (void)state;
    char body[256], want[512];
    for (int k = 0; k < 40; k++) {
        char run[64];
        memset(run, 'a', (size_t)k);
        run[k] = '\0';
        snprintf(body, sizeof body, "{\"x\":\"%s\\\"b\\u00e9\xc3\xa9%s\"}", run, run);
        snprintf(want, sizeof want, "{\"x\":\"%s\\\"b\xc3\xa9\xc3\xa9%s\"}", run, run);
        expect_object(body, NULL, 0, want);
        snprintf(body, sizeof body, "{\"x\":\"%s\x01\"}", run);
        json_t *details = json_array();
        json_t *out = NULL;
        cf_error err;
        assert_int_equal(cf_body_parse(body, strlen(body), NULL, 0, &out, details, &err), CF_EINVAL);
        snprintf(want, sizeof want, "Invalid control character at: line 1 column %d (char %d)", k + 7,
                 k + 6);
        assert_string_equal(json_string_value(json_object_get(json_array_get(details, 0), "msg")),
                            want);
        json_decref(details);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    json_t *cases = load_data(argv[0], "jsondecode.json");
    if (cases == NULL) {
        return 1;
    }
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_non_json_content_type), cmocka_unit_test(test_json_content_types),
        cmocka_unit_test(test_no_body),               cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_recorded_jsondecode),   cmocka_unit_test(test_undecodable),
        cmocka_unit_test(test_bom_and_duplicates),    cmocka_unit_test(test_numbers_keep_their_kind),
        cmocka_unit_test(test_long_strings_every_offset),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    size_t n = nfixed + json_array_size(cases);
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    char (*names)[48] = calloc(n, sizeof(*names));
    if (tests == NULL || names == NULL) {
        return 1;
    }
    memcpy(tests, fixed, sizeof(fixed));
    size_t i;
    json_t *tc;
    json_array_foreach(cases, i, tc) {
        snprintf(names[nfixed + i], sizeof(names[0]), "python_json_%zu", i);
        tests[nfixed + i] = (struct CMUnitTest){names[nfixed + i], test_python_case, NULL, NULL, tc};
    }
    int failed = _cmocka_run_group_tests("body", tests, n, NULL, NULL);
    free(tests);
    free(names);
    json_decref(cases);
    return failed;
}
