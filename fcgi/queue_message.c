/* queue_message.c - a stream entry's value field read as a prediction request. */
#include "queue_message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cf_queue_message_cleanup(cf_queue_message *m)
{
    json_decref(m->body);
    free(m->cancel_key);
    free(m->response_queue);
    free(m->response_key);
    free(m->response_stream);
    free(m->traceparent);
    memset(m, 0, sizeof *m);
}

/* Copies the optional string key name of the body into *out. */
static int opt_string(const json_t *body, const char *name, char **out, cf_error *err)
{
    const json_t *v = json_object_get(body, name);
    if (v == NULL || json_is_null(v))
        return CF_OK;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return cf_error_set(err, CF_EINVAL, "%s must be a non-empty string", name);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return cf_error_set(err, CF_EINVAL, "%s holds a NUL character", name);
    *out = strdup(json_string_value(v));
    return *out ? CF_OK : cf_error_set(err, CF_ENOMEM, "out of memory");
}

int cf_queue_message_parse(const char *entry_id, const char *value, cf_queue_message *m,
                           cf_error *err)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "q%s", entry_id);
    if (value == NULL)
        return cf_error_set(err, CF_EINVAL, "the entry has no field \"value\"");
    json_error_t jerr;
    m->body = json_loads(value, JSON_REJECT_DUPLICATES, &jerr);
    if (m->body == NULL)
        return cf_error_set(err, CF_EINVAL, "value is not JSON: %s (line %d column %d)", jerr.text,
                            jerr.line, jerr.column);
    if (!json_is_object(m->body))
        return cf_error_set(err, CF_EINVAL, "value must be a JSON object");
    const json_t *id = json_object_get(m->body, "id");
    if (json_is_string(id)) {
        const char *s = json_string_value(id);
        size_t n = strlen(s);
        if (n == 0 || n >= 100 || n != json_string_length(id))
            return cf_error_set(err, CF_EINVAL, "id must be 1 to 99 characters");
        snprintf(m->id, sizeof m->id, "%s", s);
    } else if (id != NULL && !json_is_null(id)) {
        return cf_error_set(err, CF_EINVAL, "id must be a string");
    }
    int rc;
    if ((rc = opt_string(m->body, "cancel_key", &m->cancel_key, err)) != CF_OK ||
        (rc = opt_string(m->body, "response_queue", &m->response_queue, err)) != CF_OK ||
        (rc = opt_string(m->body, "response_key", &m->response_key, err)) != CF_OK ||
        (rc = opt_string(m->body, "response_stream", &m->response_stream, err)) != CF_OK ||
        (rc = opt_string(m->body, "traceparent", &m->traceparent, err)) != CF_OK)
        return rc;
    return CF_OK;
}
