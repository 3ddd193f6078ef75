/* test_openapi.c - the assembled OpenAPI document equals Cog's recorded ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openapi.h"

/* Components that Cog always has; everything else in a recorded document
 * came from the model. */
static int is_fixed(const char *name)
{
    static const char *const fixed[] = {"HTTPValidationError", "PredictionRequest",
                                        "PredictionResponse", "Status", "ValidationError",
                                        "WebhookEvent", NULL};
    for (const char *const *p = fixed; *p != NULL; p++)
        if (strcmp(*p, name) == 0)
            return 1;
    return 0;
}

/* The SCHEMA a worker would send for the model behind a recorded document. */
static json_t *schema_from_doc(const json_t *doc)
{
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    assert_non_null(schemas);
    json_t *components = json_object();
    const char *name;
    json_t *value;
    json_object_foreach(schemas, name, value) {
        if (!is_fixed(name) && strcmp(name, "Input") != 0 && strcmp(name, "Output") != 0)
            json_object_set(components, name, value);
    }
    return json_pack("{s:O, s:O, s:o, s:{}}", "input", json_object_get(schemas, "Input"),
                     "output", json_object_get(schemas, "Output"), "components", components,
                     "kinds");
}

/* Every "$ref" in v points at an existing component. */
static void check_refs(const json_t *v, const json_t *schemas)
{
    size_t i;
    const char *key;
    json_t *child;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child) {
            if (strcmp(key, "$ref") == 0) {
                const char *ref = json_string_value(child);
                assert_non_null(ref);
                assert_int_equal(strncmp(ref, "#/components/schemas/", 21), 0);
                if (json_object_get(schemas, ref + 21) == NULL)
                    fail_msg("dangling $ref %s", ref);
            } else {
                check_refs(child, schemas);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child) {
            check_refs(child, schemas);
        }
    }
}

/* Builds the document from the SCHEMA inside `want` and compares: equal as
 * JSON, and equal as text, which also checks every key order. */
static void check_doc(const char *label, const json_t *want)
{
    json_t *schema = schema_from_doc(want);
    cf_error err;
    json_t *got = cf_openapi_build(schema, NULL, &err);
    if (got == NULL)
        fail_msg("%s: %s", label, err.msg);
    char *want_text = json_dumps(want, JSON_INDENT(1));
    char *got_text = json_dumps(got, JSON_INDENT(1));
    if (!json_equal(got, want) || strcmp(want_text, got_text) != 0) {
        print_error("%s: document differs\n--- want\n%s\n--- got\n%s\n", label, want_text,
                    got_text);
        fail();
    }
    check_refs(got, json_object_get(json_object_get(got, "components"), "schemas"));
    free(want_text);
    free(got_text);
    json_decref(got);
    json_decref(schema);
}

/* The body of the case's GET /openapi.json step, borrowed from steps, or NULL. */
static const json_t *recorded_openapi(const json_t *steps)
{
    size_t i;
    json_t *step;
    json_array_foreach(steps, i, step) {
        const char *path = json_string_value(json_object_get(step, "path"));
        const char *method = json_string_value(json_object_get(step, "method"));
        if (path && method && strcmp(path, "/openapi.json") == 0 && strcmp(method, "GET") == 0)
            return json_object_get(json_object_get(step, "expect"), "body");
    }
    return NULL;
}

static void test_conformance_documents(void **state)
{
    (void)state;
    static const char *const roots[] = {"tests/conformance/cases/*/requests.json"};
    glob_t g;
    int found = 0, checked = 0;
    for (size_t r = 0; r < sizeof roots / sizeof roots[0] && !found; r++) {
        if (glob(roots[r], 0, NULL, &g) != 0)
            continue;
        found = 1;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            json_error_t jerr;
            json_t *steps = json_load_file(g.gl_pathv[i], 0, &jerr);
            if (steps == NULL)
                fail_msg("%s: %s", g.gl_pathv[i], jerr.text);
            const json_t *want = recorded_openapi(steps);
            if (want != NULL) {
                check_doc(g.gl_pathv[i], want);
                checked++;
            }
            json_decref(steps);
        }
        globfree(&g);
    }
    if (!found)
        skip();
    print_message("%d recorded documents rebuilt exactly\n", checked);
    assert_true(checked >= 10);
}

/* The same against copies kept in the repository, for checkouts without shared/. */
static void test_local_documents(void **state)
{
    (void)state;
    static const char *const files[] = {"tests/data/openapi/kitchen-sink.json",
                                        "tests/data/openapi/named-model.json"};
    for (size_t i = 0; i < 2; i++) {
        json_error_t jerr;
        json_t *want = json_load_file(files[i], 0, &jerr);
        if (want == NULL)
            fail_msg("%s: %s", files[i], jerr.text);
        check_doc(files[i], want);
        json_decref(want);
    }
}

static json_t *simple_schema(const char *input_title, const char *output_title)
{
    return json_pack("{s:{s:s, s:s, s:{}}, s:{s:s, s:s}, s:{s:{s:s, s:[s], s:s}}, s:{}}",
                     "input", "title", input_title, "type", "object", "properties",
                     "output", "title", output_title, "type", "string",
                     "components", "zmode", "title", "zmode", "enum", "a", "type", "string",
                     "kinds");
}

static void test_training_document(void **state)
{
    (void)state;
    json_t *predict = simple_schema("Input", "Output");
    json_t *train = simple_schema("TrainingInput", "TrainingOutput");
    cf_error err;
    json_t *doc = cf_openapi_build(predict, train, &err);
    assert_non_null(doc);

    /* Paths in the order Cog registers its routes. */
    static const char *const order[] = {"/shutdown",
                                        "/trainings",
                                        "/trainings/{training_id}",
                                        "/trainings/{training_id}/cancel",
                                        "/",
                                        "/health-check",
                                        "/predictions",
                                        "/predictions/{prediction_id}",
                                        "/predictions/{prediction_id}/cancel"};
    json_t *paths = json_object_get(doc, "paths");
    assert_int_equal(json_object_size(paths), 9);
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach(paths, key, value) {
        assert_string_equal(key, order[i++]);
    }
    json_t *op = json_object_get(json_object_get(paths, "/trainings"), "post");
    assert_string_equal(json_string_value(json_object_get(op, "operationId")),
                        "train_trainings_post");
    op = json_object_get(json_object_get(paths, "/trainings/{training_id}"), "put");
    assert_string_equal(json_string_value(json_object_get(op, "operationId")),
                        "train_idempotent_trainings__training_id__put");
    op = json_object_get(json_object_get(paths, "/trainings/{training_id}/cancel"), "post");
    assert_string_equal(json_string_value(json_object_get(op, "operationId")),
                        "cancel_training_trainings__training_id__cancel_post");

    /* Components sorted by name, training models mirroring the prediction ones. */
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    static const char *const names[] = {
        "HTTPValidationError", "Input", "Output", "PredictionRequest", "PredictionResponse",
        "Status", "TrainingInput", "TrainingOutput", "TrainingRequest", "TrainingResponse",
        "ValidationError", "WebhookEvent", "zmode"};
    assert_int_equal(json_object_size(schemas), 13);
    i = 0;
    json_object_foreach(schemas, key, value) {
        assert_string_equal(key, names[i++]);
    }
    json_t *req = json_object_get(schemas, "TrainingRequest");
    json_t *resp = json_object_get(schemas, "TrainingResponse");
    assert_string_equal(json_string_value(json_object_get(req, "title")), "TrainingRequest");
    assert_string_equal(json_string_value(json_object_get(resp, "title")), "TrainingResponse");
    json_t *props = json_object_get(resp, "properties");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "input"), "$ref")),
        "#/components/schemas/TrainingInput");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "output"), "$ref")),
        "#/components/schemas/TrainingOutput");
    /* The prediction models still point at Input/Output. */
    props = json_object_get(json_object_get(schemas, "PredictionResponse"), "properties");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(props, "output"), "$ref")),
        "#/components/schemas/Output");
    assert_int_equal(json_object_size(json_object_get(req, "properties")),
                     json_object_size(json_object_get(
                         json_object_get(schemas, "PredictionRequest"), "properties")));
    check_refs(doc, schemas);

    /* The inputs were borrowed, not changed. */
    assert_int_equal(predict->refcount, 1);
    assert_non_null(json_object_get(json_object_get(train, "components"), "zmode"));
    json_decref(doc);
    json_decref(predict);
    json_decref(train);
}

static void test_setup_failed_document(void **state)
{
    (void)state;
    cf_error err;
    json_t *doc = cf_openapi_build(NULL, NULL, &err);
    assert_non_null(doc);
    json_t *paths = json_object_get(doc, "paths");
    assert_int_equal(json_object_size(paths), 2);
    assert_non_null(json_object_get(paths, "/health-check"));
    assert_null(json_object_get(doc, "components"));
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.2");
    json_decref(doc);
}

/* @cog.streaming (the schema's "streaming") marks POST /predictions, as Cog 0.22 */
static void test_streaming_mark(void **state)
{
    (void)state;
    cf_error err;
    json_t *schema = simple_schema("Input", "Output");
    json_t *doc = cf_openapi_build(schema, NULL, &err);
    assert_non_null(doc);
    json_t *post = json_object_get(json_object_get(json_object_get(doc, "paths"), "/predictions"),
                                   "post");
    assert_non_null(post);
    assert_null(json_object_get(post, "x-cog-streaming"));
    json_decref(doc);
    json_object_set_new(schema, "streaming", json_true());
    doc = cf_openapi_build(schema, NULL, &err);
    assert_non_null(doc);
    post = json_object_get(json_object_get(json_object_get(doc, "paths"), "/predictions"), "post");
    assert_true(json_is_true(json_object_get(post, "x-cog-streaming")));
    json_decref(doc);
    json_decref(schema);
}

static void test_bad_schema(void **state)
{
    (void)state;
    cf_error err;
    json_t *bad = json_pack("{s:{}}", "input");
    assert_null(cf_openapi_build(bad, NULL, &err));
    assert_int_equal(err.code, CF_EINVAL);
    assert_string_equal(err.msg, "openapi: the predict schema has no \"output\" object");

    json_t *good = simple_schema("Input", "Output");
    assert_null(cf_openapi_build(good, bad, &err));
    assert_int_equal(err.code, CF_EINVAL);
    assert_string_equal(err.msg, "openapi: the train schema has no \"output\" object");

    json_t *str = json_string("x");
    assert_null(cf_openapi_build(str, NULL, &err));
    assert_int_equal(err.code, CF_EINVAL);
    json_decref(str);
    json_decref(good);
    json_decref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_documents),
        cmocka_unit_test(test_local_documents),
        cmocka_unit_test(test_training_document),
        cmocka_unit_test(test_setup_failed_document),
        cmocka_unit_test(test_streaming_mark),
        cmocka_unit_test(test_bad_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
