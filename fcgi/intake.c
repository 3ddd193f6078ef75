/* intake.c - validating a request and building its prediction record. */
#include "intake.h"

#include <string.h>

#include "validate.h"

static int is_kind(const json_t *kinds, const char *name, const char *kind)
{
    const char *k = json_string_value(json_object_get(kinds, name));
    return k != NULL && strcmp(k, kind) == 0;
}

/* The echoed input: Secret masked, File as {} (Cog serialises the file
 * object as an empty object), Path as the URL given. A shallow copy: the
 * values are shared with the validated input (strings are never changed in
 * place; a large data URI is not copied), except arrays of files, which
 * files.c rewrites in the worker's copy. New reference. */
static json_t *echo_of(const json_t *validated, const json_t *kinds)
{
    json_t *echo = json_copy((json_t *)validated);
    const char *name;
    json_t *value;
    if (echo == NULL || kinds == NULL)
        return echo;
    json_object_foreach(echo, name, value) {
        if (json_is_null(value))
            continue;
        if (is_kind(kinds, name, "secret")) {
            json_object_set_new(echo, name, json_string("**********"));
        } else if (is_kind(kinds, name, "file")) {
            if (json_is_array(value)) {
                json_t *masked = json_array();
                for (size_t i = 0; masked && i < json_array_size(value); i++)
                    json_array_append_new(masked, json_object());
                json_object_set_new(echo, name, masked ? masked : json_array());
            } else {
                json_object_set_new(echo, name, json_object());
            }
        } else if (is_kind(kinds, name, "path") && json_is_array(value)) {
            json_object_set_new(echo, name, json_copy(value));
        }
    }
    return echo;
}

static unsigned events_of(const json_t *filter)
{
    if (!json_is_array(filter))
        return CF_EVENT_ALL;
    unsigned mask = 0;
    size_t i;
    json_t *item;
    json_array_foreach(filter, i, item) {
        const char *s = json_string_value(item);
        if (s == NULL)
            continue;
        if (strcmp(s, "start") == 0)
            mask |= CF_EVENT_START;
        else if (strcmp(s, "output") == 0)
            mask |= CF_EVENT_OUTPUT;
        else if (strcmp(s, "logs") == 0)
            mask |= CF_EVENT_LOGS;
        else if (strcmp(s, "completed") == 0)
            mask |= CF_EVENT_COMPLETED;
    }
    return mask;
}

cf_prediction *cf_intake(const json_t *schema, const json_t *body, const char *id,
                         json_t *details, cf_error *err)
{
    json_t *validated = NULL;
    cf_prediction *p = NULL;
    const json_t *input_schema = json_object_get(schema, "input");
    const json_t *components = json_object_get(schema, "components");
    const json_t *kinds = json_object_get(schema, "kinds");
    const json_t *input = json_object_get(body, "input");
    if (json_is_null(input))
        input = NULL; /* a missing or null input is {} (COG-API.md §16) */

    int rc = cf_validate_input(input_schema, components, kinds, input, &validated, details, err);
    if (rc != CF_OK && rc != CF_EINVAL)
        return NULL;
    int rc2 = cf_validate_request_fields(body, details, err);
    if (rc2 != CF_OK && rc2 != CF_EINVAL) {
        json_decref(validated);
        return NULL;
    }
    if (json_array_size(details) > 0) {
        json_decref(validated);
        cf_error_set(err, CF_EINVAL, "invalid request");
        return NULL;
    }

    /* validate keeps every key of a schema without properties, for
     * `**kwargs` predictors; a predict() with no parameters takes none. */
    if (!json_is_true(json_object_get(schema, "kwargs")) &&
        json_object_size(json_object_get(input_schema, "properties")) == 0)
        json_object_clear(validated);

    char idbuf[128];
    if (id == NULL)
        id = json_string_value(json_object_get(body, "id"));
    if (id == NULL || *id == '\0') {
        cf_prediction_generate_id(idbuf, sizeof idbuf);
        id = idbuf;
    }
    p = cf_prediction_new(id);
    if (p == NULL) {
        json_decref(validated);
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    p->input_worker = validated; /* stolen */
    p->input_echo = echo_of(validated, kinds);
    /* Shared with the schema, which is never changed once loaded (a reload
     * makes a new one; jansson's reference counts are atomic): a copy per
     * prediction was 5% of the front's work for a no-op. */
    p->kinds = kinds ? json_incref((json_t *)kinds) : NULL;
    json_t *context = json_object_get(body, "context");
    if (json_is_object(context))
        p->context = json_deep_copy(context);
    const json_t *created = json_object_get(body, "created_at");
    if (created && !json_is_null(created)) {
        char norm[64];
        if (cf_normalize_datetime_json(created, norm, sizeof norm) == CF_OK)
            p->created_at = strdup(norm);
    }
    const char *webhook = json_string_value(json_object_get(body, "webhook"));
    if (webhook && *webhook)
        p->webhook = strdup(webhook);
    p->events = events_of(json_object_get(body, "webhook_events_filter"));
    /* an iterator that yields nothing still answers [] */
    const char *array_type =
        json_string_value(json_object_get(json_object_get(schema, "output"), "x-cog-array-type"));
    p->output_is_iterator = array_type != NULL && strcmp(array_type, "iterator") == 0;
    if (p->input_echo == NULL) {
        cf_prediction_decref(p);
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    return p;
}
