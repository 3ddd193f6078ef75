/* fuzz_body.c - libFuzzer target for the request body parser (fcgi/body.c cf_body_parse). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"

/* The first byte picks the method (bit 0: PUT) and a Content-Type (bits 1-3); with selector 7 the
 * Content-Type is the input up to the first '\n'. The rest is the body, in a buffer of exactly
 * its length so that ASan sees any read past the end. */
static const char *const cf_fuzz_types[] = {
    NULL,
    "",
    "application/json",
    "application/vnd.cog+json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    " APPLICATION/JSON ; q=1",
};

/* Depth of nested arrays and objects in v. */
static size_t cf_fuzz_depth(const json_t *v)
{
    size_t max = 0;
    if (json_is_object(v)) {
        const char *key;
        const json_t *item;
        json_object_foreach((json_t *)v, key, item) {
            size_t d = cf_fuzz_depth(item);
            max = d > max ? d : max;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            size_t d = cf_fuzz_depth(item);
            max = d > max ? d : max;
        }
        return max + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ctype = NULL;
    char *body = NULL;
    json_t *details = NULL;
    json_t *out = NULL;
    json_t *strict = NULL;
    cf_error err;

    if (size == 0) {
        return 0;
    }
    int for_put = data[0] & 1;
    unsigned sel = (data[0] >> 1) & 7;
    data++;
    size--;
    const char *content_type;
    if (sel < sizeof(cf_fuzz_types) / sizeof(cf_fuzz_types[0])) {
        content_type = cf_fuzz_types[sel];
    } else {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl != NULL ? (size_t)(nl - data) : size;
        ctype = strndup((const char *)data, n); /* stops at a NUL, as a header would */
        if (ctype == NULL) {
            goto cleanup;
        }
        content_type = ctype;
        data += nl != NULL ? n + 1 : n;
        size -= nl != NULL ? n + 1 : n;
    }
    body = malloc(size > 0 ? size : 1);
    details = json_array();
    if (body == NULL || details == NULL) {
        goto cleanup;
    }
    memcpy(body, data, size);

    cf_error_clear(&err);
    int rc = cf_body_parse(size > 0 ? body : NULL, size, content_type, for_put, &out, details,
                           &err);
    size_t nd = json_array_size(details);
    if (rc == CF_OK) {
        if (!json_is_object(out) || nd != 0) {
            abort();
        }
    } else {
        if (out != NULL || rc != CF_EINVAL || nd > 1 || (nd == 0 && err.msg[0] == '\0')) {
            abort();
        }
        if (nd == 1) {
            const json_t *item = json_array_get(details, 0);
            if (!json_is_array(json_object_get(item, "loc")) ||
                !json_is_string(json_object_get(item, "msg")) ||
                !json_is_string(json_object_get(item, "type"))) {
                abort();
            }
        }
    }

    /* Whatever strict JSON jansson reads as an object (not nested past Python's recursion
     * limit), Python reads too, to the same value. jansson lets a raw NUL byte end a number
     * ("0.2\0"), where Python says "Expecting ',' delimiter": such bodies are left out. */
    if (size > 0 && cf_body_is_json_type(content_type) && memchr(body, '\0', size) == NULL) {
        strict = json_loadb(body, size, JSON_DECODE_ANY, NULL);
        if (json_is_object(strict) && cf_fuzz_depth(strict) < 800) {
            if (rc != CF_OK || !json_equal(out, strict)) {
                fprintf(stderr, "jansson reads the body, cf_body_parse gives %d (%s)\n", rc,
                        err.msg);
                abort();
            }
        }
    }

cleanup:
    json_decref(strict);
    json_decref(out);
    json_decref(details);
    free(body);
    free(ctype);
    return 0;
}
