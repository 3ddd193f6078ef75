/* fuzz_validate.c - libFuzzer target for input validation (predictor/project/validate.c) against real schemas. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemas.h"
#include "validate.h"

#define CF_FUZZ_NSCHEMAS (sizeof(cf_fuzz_schemas) / sizeof(cf_fuzz_schemas[0]))

static json_t *cf_fuzz_schema[CF_FUZZ_NSCHEMAS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < CF_FUZZ_NSCHEMAS; i++) {
        json_error_t jerr;
        cf_fuzz_schema[i] = json_loads(cf_fuzz_schemas[i], 0, &jerr);
        if (cf_fuzz_schema[i] == NULL) {
            fprintf(stderr, "fuzz_validate: schema %zu: %s\n", i, jerr.text);
            abort();
        }
    }
    return 0;
}

/* Every 422 item has a loc starting at "body", a msg and a type. */
static void cf_fuzz_check_details(const json_t *details, size_t from)
{
    for (size_t i = from; i < json_array_size(details); i++) {
        const json_t *item = json_array_get(details, i);
        const json_t *loc = json_object_get(item, "loc");
        const char *first = json_string_value(json_array_get(loc, 0));
        if (!json_is_array(loc) || first == NULL || strcmp(first, "body") != 0 ||
            !json_is_string(json_object_get(item, "msg")) ||
            !json_is_string(json_object_get(item, "type"))) {
            abort();
        }
    }
}

/* A validated value has its schema's JSON type (null only for an input that may be absent). */
static void cf_fuzz_check_types(const json_t *input_schema, const json_t *validated)
{
    const json_t *props = json_object_get(input_schema, "properties");
    const char *name;
    const json_t *prop;
    json_object_foreach((json_t *)props, name, prop) {
        const json_t *v = json_object_get(validated, name);
        const char *type = json_string_value(json_object_get(prop, "type"));
        if (v == NULL) {
            abort();
        }
        if (json_is_null(v) || type == NULL) {
            continue;
        }
        if ((strcmp(type, "integer") == 0 && !json_is_integer(v)) ||
            (strcmp(type, "number") == 0 && !json_is_number(v)) ||
            (strcmp(type, "boolean") == 0 && !json_is_boolean(v)) ||
            (strcmp(type, "string") == 0 && !json_is_string(v)) ||
            (strcmp(type, "array") == 0 && !json_is_array(v))) {
            fprintf(stderr, "input %s is not of type %s\n", name, type);
            abort();
        }
    }
}

/* The first byte picks a schema (and, bit 7, whether kinds are passed); the rest is JSON, read
 * like a request body ({"input": {...}, "id": ..., "webhook": ...}, as fcgi/intake.c does) or,
 * when it is not an object, given as the input itself. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *value = NULL;
    json_t *details = NULL;
    json_t *validated = NULL;
    json_t *copy = NULL;
    cf_error err;

    if (size == 0) {
        return 0;
    }
    const json_t *schema = cf_fuzz_schema[(data[0] & 0x7f) % CF_FUZZ_NSCHEMAS];
    int with_kinds = (data[0] & 0x80) == 0;
    value = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    details = json_array();
    if (value == NULL || details == NULL) {
        goto cleanup;
    }
    const json_t *input = value;
    if (json_is_object(value)) {
        input = json_object_get(value, "input");
        if (json_is_null(input)) {
            input = NULL;
        }
    }
    const json_t *input_schema = json_object_get(schema, "input");
    copy = json_deep_copy(value); /* the request is borrowed: it must come back unchanged */
    if (copy == NULL) {
        goto cleanup;
    }
    const json_t *kinds = with_kinds ? json_object_get(schema, "kinds") : NULL;
    if (json_is_null(kinds)) {
        kinds = NULL;
    }

    cf_error_clear(&err);
    int rc = cf_validate_input(input_schema, json_object_get(schema, "components"), kinds, input,
                               &validated, details, &err);
    size_t nd = json_array_size(details);
    if (rc == CF_OK) {
        const json_t *props = json_object_get(input_schema, "properties");
        if (!json_is_object(validated) || nd != 0) {
            abort();
        }
        /* Every declared input is there, nothing else (unless **kwargs). */
        if (json_object_size(props) > 0 && json_object_size(validated) != json_object_size(props)) {
            abort();
        }
        cf_fuzz_check_types(input_schema, validated);
        /* Validation is idempotent: what it produced validates to itself. */
        json_t *again = NULL;
        json_t *details2 = json_array();
        if (details2 != NULL) {
            int rc2 = cf_validate_input(input_schema, json_object_get(schema, "components"), kinds,
                                        validated, &again, details2, &err);
            if (rc2 == CF_EINVAL || (rc2 == CF_OK && !json_equal(again, validated))) {
                fprintf(stderr, "not idempotent: %s\n", json_dumps(validated, JSON_COMPACT));
                abort();
            }
            json_decref(again);
            json_decref(details2);
        }
    } else if (rc == CF_EINVAL) {
        if (validated != NULL || nd == 0) {
            abort();
        }
        cf_fuzz_check_details(details, 0);
    } else if (validated != NULL || nd != 0) {
        abort();
    }

    if (json_is_object(value)) {
        size_t before = json_array_size(details);
        rc = cf_validate_request_fields(value, details, &err);
        if ((rc == CF_OK) != (json_array_size(details) == before) ||
            (rc != CF_OK && rc != CF_EINVAL && rc != CF_ENOMEM)) {
            abort();
        }
        cf_fuzz_check_details(details, before);
    }

    if (!json_equal(copy, value)) {
        abort();
    }

    /* The datetime parser on its own: any string, any out size; its output reads back as
     * itself. */
    if (json_is_string(value)) {
        char out[33];
        char again[33];
        if (cf_normalize_datetime(json_string_value(value), out, sizeof(out)) == CF_OK) {
            if (strnlen(out, sizeof(out)) == sizeof(out) ||
                cf_normalize_datetime(out, again, sizeof(again)) != CF_OK ||
                strcmp(out, again) != 0) {
                fprintf(stderr, "datetime %s does not read back\n", out);
                abort();
            }
        }
        char small[8];
        (void)cf_normalize_datetime(json_string_value(value), small, sizeof(small));
    }

cleanup:
    json_decref(copy);
    json_decref(validated);
    json_decref(details);
    json_decref(value);
    return 0;
}
