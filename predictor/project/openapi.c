/* openapi.c - Cog's OpenAPI document, assembled from the worker's schemas. */
#include "openapi.h"

#include <stdlib.h>
#include <string.h>

#include "openapi_template.h"

/* Parses one of the built-in templates. They are constant and valid, so the
 * only way this fails is memory. */
static json_t *template_load(const char *text, cf_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (doc == NULL)
        cf_error_set(err, CF_ENOMEM, "openapi: cannot build the document: %s", jerr.text);
    return doc;
}

/* Checks that a SCHEMA has the parts we take from it. */
static int schema_check(const json_t *schema, const char *which, cf_error *err)
{
    if (!json_is_object(schema))
        return cf_error_set(err, CF_EINVAL, "openapi: the %s schema is not an object", which);
    if (!json_is_object(json_object_get(schema, "input")))
        return cf_error_set(err, CF_EINVAL, "openapi: the %s schema has no \"input\" object",
                            which);
    if (!json_is_object(json_object_get(schema, "output")))
        return cf_error_set(err, CF_EINVAL, "openapi: the %s schema has no \"output\" object",
                            which);
    const json_t *components = json_object_get(schema, "components");
    if (components != NULL && !json_is_null(components) && !json_is_object(components))
        return cf_error_set(err, CF_EINVAL,
                            "openapi: the %s schema's \"components\" is not an object", which);
    return 0;
}

/* Adds a SCHEMA's input, output and components to `all` under the names
 * Cog gives them. Values are deep-copied: the document must not share
 * nodes with the worker's message. */
static int schema_add(json_t *all, const json_t *schema, const char *input_name,
                      const char *output_name)
{
    const char *name;
    json_t *value;
    json_t *components = json_object_get(schema, "components");
    if (json_is_object(components)) {
        json_object_foreach(components, name, value) {
            if (json_object_set_new(all, name, json_deep_copy(value)) != 0)
                return CF_ENOMEM;
        }
    }
    if (json_object_set_new(all, input_name,
                            json_deep_copy(json_object_get(schema, "input"))) != 0 ||
        json_object_set_new(all, output_name,
                            json_deep_copy(json_object_get(schema, "output"))) != 0)
        return CF_ENOMEM;
    return 0;
}

/* TrainingRequest / TrainingResponse are Cog's subclasses of the prediction
 * ones: the same fields in the same order, another title, and refs to
 * TrainingInput / TrainingOutput. */
static int training_model_add(json_t *all, const char *from, const char *to)
{
    json_t *model = json_deep_copy(json_object_get(all, from));
    json_t *props = json_object_get(model, "properties");
    if (model == NULL || props == NULL)
        goto fail;
    if (json_object_set_new(model, "title", json_string(to)) != 0)
        goto fail;
    if (json_object_get(props, "input") != NULL &&
        json_object_set_new(json_object_get(props, "input"), "$ref",
                            json_string("#/components/schemas/TrainingInput")) != 0)
        goto fail;
    if (json_object_get(props, "output") != NULL &&
        json_object_set_new(json_object_get(props, "output"), "$ref",
                            json_string("#/components/schemas/TrainingOutput")) != 0)
        goto fail;
    return json_object_set_new(all, to, model) == 0 ? 0 : CF_ENOMEM;
fail:
    json_decref(model);
    return CF_ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns a new object with the members of `all` in byte order of their
 * names (FastAPI sorts the definitions; Python compares code points, which
 * for UTF-8 is byte order), or NULL. */
static json_t *sorted_copy(json_t *all)
{
    size_t n = json_object_size(all);
    const char **names = malloc((n > 0 ? n : 1) * sizeof *names);
    json_t *out = json_object();
    if (names == NULL || out == NULL)
        goto fail;
    size_t i = 0;
    const char *name;
    json_t *value;
    json_object_foreach(all, name, value) {
        names[i++] = name;
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (i = 0; i < n; i++)
        if (json_object_set(out, names[i], json_object_get(all, names[i])) != 0)
            goto fail;
    free(names);
    return out;
fail:
    free(names);
    json_decref(out);
    return NULL;
}

/* Cog registers /shutdown, then the /trainings routes, then the rest:
 * rebuilds doc.paths in that order. */
static int train_paths_insert(json_t *doc, cf_error *err)
{
    json_t *train_paths = template_load(CF_OPENAPI_TRAIN_PATHS, err);
    json_t *old = json_object_get(doc, "paths");
    json_t *paths = json_object();
    int rc = CF_ENOMEM;
    if (train_paths == NULL || paths == NULL)
        goto cleanup;
    if (json_object_set(paths, "/shutdown", json_object_get(old, "/shutdown")) != 0 ||
        json_object_update(paths, train_paths) != 0 ||
        json_object_update_missing(paths, old) != 0)
        goto cleanup;
    rc = json_object_set(doc, "paths", paths) == 0 ? 0 : CF_ENOMEM;
cleanup:
    json_decref(train_paths);
    json_decref(paths);
    if (rc != 0 && err != NULL && err->code == CF_OK)
        cf_error_set(err, rc, "openapi: out of memory");
    return rc;
}

json_t *cf_openapi_build(const json_t *predict, const json_t *train, cf_error *err)
{
    json_t *doc = NULL, *all = NULL, *sorted = NULL;
    int rc = 0;

    if (err != NULL)
        cf_error_clear(err);
    if (predict == NULL)
        return template_load(CF_OPENAPI_SETUP_FAILED_DOC, err);
    if (schema_check(predict, "predict", err) != 0 ||
        (train != NULL && schema_check(train, "train", err) != 0))
        return NULL;

    doc = template_load(CF_OPENAPI_PREDICT_DOC, err);
    all = json_object();
    if (doc == NULL || all == NULL) {
        rc = CF_ENOMEM;
        goto cleanup;
    }
    json_t *components = json_object_get(doc, "components"); /* borrowed */
    json_t *fixed = json_object_get(components, "schemas");  /* borrowed */

    /* The model's components first, so that Cog's own names win a clash. */
    rc = schema_add(all, predict, "Input", "Output");
    if (rc == 0 && train != NULL)
        rc = schema_add(all, train, "TrainingInput", "TrainingOutput");
    if (rc == 0 && json_object_update(all, fixed) != 0)
        rc = CF_ENOMEM;
    if (rc == 0 && train != NULL) {
        rc = training_model_add(all, "PredictionRequest", "TrainingRequest");
        if (rc == 0)
            rc = training_model_add(all, "PredictionResponse", "TrainingResponse");
        if (rc == 0)
            rc = train_paths_insert(doc, err);
    }
    /* @cog.streaming marks the operation, as Cog 0.22 does */
    if (rc == 0 && json_is_true(json_object_get(predict, "streaming")))
        rc = json_object_set_new(json_object_get(json_object_get(json_object_get(doc, "paths"),
                                                                 "/predictions"), "post"),
                                 "x-cog-streaming", json_true()) == 0 ? 0 : CF_ENOMEM;
    if (rc != 0)
        goto cleanup;
    sorted = sorted_copy(all);
    if (sorted == NULL || json_object_set(components, "schemas", sorted) != 0)
        rc = CF_ENOMEM;

cleanup:
    json_decref(sorted);
    json_decref(all);
    if (rc != 0) {
        if (err != NULL && err->code == CF_OK)
            cf_error_set(err, rc, "openapi: out of memory");
        json_decref(doc);
        return NULL;
    }
    return doc;
}
