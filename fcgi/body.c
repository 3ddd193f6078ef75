/* body.c - turn a prediction request body into a JSON object, as FastAPI does. */
#include "body.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "json_in.h"

int cf_body_is_json_type(const char *content_type)
{
    if (content_type == NULL || *content_type == '\0') {
        return 1;
    }
    /* email.message's get_content_type(): the part before ';', stripped,
     * lowercased; anything without exactly one '/' counts as text/plain. */
    const char *start = content_type;
    while (isspace((unsigned char)*start)) {
        start++;
    }
    size_t n = strcspn(start, ";");
    while (n > 0 && isspace((unsigned char)start[n - 1])) {
        n--;
    }
    const char *slash = memchr(start, '/', n);
    if (slash == NULL || memchr(slash + 1, '/', n - (size_t)(slash + 1 - start)) != NULL) {
        return 0;
    }
    if ((size_t)(slash - start) != 11 || strncasecmp(start, "application", 11) != 0) {
        return 0;
    }
    const char *sub = slash + 1;
    size_t sublen = n - (size_t)(sub - start);
    return (sublen == 4 && strncasecmp(sub, "json", 4) == 0) ||
           (sublen >= 5 && strncasecmp(sub + sublen - 5, "+json", 5) == 0);
}

/* Appends {"loc":["body"],"msg":msg,"type":type} to details. */
static int cf_body_detail(json_t *details, const char *msg, const char *type, cf_error *err)
{
    json_t *item = json_pack("{s:[s],s:s,s:s}", "loc", "body", "msg", msg, "type", type);
    if (item == NULL || json_array_append_new(details, item) != 0) {
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    return cf_error_set(err, CF_EINVAL, "%s", msg);
}

int cf_body_parse(const char *body, size_t len, const char *content_type, int for_put, json_t **out,
                  json_t *details, cf_error *err)
{
    json_t *value = NULL;
    int rc = CF_OK;

    *out = NULL;
    if (body != NULL && len > 0) {
        if (!cf_body_is_json_type(content_type)) {
            /* FastAPI hands the raw bytes to the model field: not a dict. */
            rc = cf_body_detail(details, "value is not a valid dict", "type_error.dict", err);
            goto cleanup;
        }
        cf_pyjson_error perr;
        value = cf_pyjson_loads(body, len, &perr, err);
        if (value == NULL) {
            if (perr.msg == NULL) {
                if (err != NULL && err->code == CF_ENOMEM) {
                    rc = CF_ENOMEM;
                } else {
                    rc = cf_error_set(err, CF_EINVAL, CF_BODY_PARSE_ERROR);
                }
                goto cleanup;
            }
            json_t *item = cf_pyjson_error_detail(&perr, body, len);
            if (item == NULL || json_array_append_new(details, item) != 0) {
                rc = cf_error_set(err, CF_ENOMEM, "out of memory");
                goto cleanup;
            }
            rc = CF_EINVAL;
            goto cleanup;
        }
    }
    /* No body and the body `null` are the same to FastAPI. */
    if (value == NULL || json_is_null(value)) {
        if (for_put) {
            rc = cf_body_detail(details, "field required", "value_error.missing", err);
            goto cleanup;
        }
        json_decref(value);
        value = json_object();
        if (value == NULL) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    if (!json_is_object(value)) {
        rc = cf_body_detail(details, "value is not a valid dict", "type_error.dict", err);
        goto cleanup;
    }
    *out = value;
    value = NULL;

cleanup:
    json_decref(value);
    return rc;
}
