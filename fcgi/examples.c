/* examples.c - reads and records a project's examples.json. */
#include "examples.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int path_of(const char *dir, char *buf, size_t cap, cf_error *err)
{
    int n = snprintf(buf, cap, "%s/examples.json", dir);
    if (n < 0 || (size_t)n >= cap)
        return cf_error_set(err, CF_EINVAL, "%s: path too long", dir);
    return CF_OK;
}

/* Checks the shape the playground relies on; 0 or CF_EINVAL naming the entry. */
static int check_shape(const json_t *doc, const char *path, cf_error *err)
{
    const json_t *list = json_object_get(doc, "examples");
    if (!json_is_object(doc) || !json_is_array(list))
        return cf_error_set(err, CF_EINVAL, "%s: expected {\"examples\": [...]}", path);
    size_t i;
    const json_t *ex;
    json_array_foreach(list, i, ex) {
        if (!json_is_string(json_object_get(ex, "name")) ||
            !json_is_object(json_object_get(ex, "input")))
            return cf_error_set(err, CF_EINVAL,
                                "%s: example %zu needs a string \"name\" and an object \"input\"",
                                path, i);
    }
    return CF_OK;
}

json_t *cf_examples_load(const char *project_dir, cf_error *err)
{
    char path[4096];
    if (path_of(project_dir, path, sizeof path, err) != CF_OK)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return json_pack("{s:[]}", "examples");
        cf_error_set(err, CF_EIO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadf(f, 0, &jerr);
    fclose(f);
    if (doc == NULL) {
        cf_error_set(err, CF_EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    if (check_shape(doc, path, err) != CF_OK) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int cf_examples_save(const char *project_dir, const char *name, const json_t *input,
                     const json_t *output, cf_error *err)
{
    char path[4096], tmp[4200] = "";
    int rc = path_of(project_dir, path, sizeof path, err);
    if (rc != CF_OK)
        return rc;
    json_t *doc = cf_examples_load(project_dir, err);
    json_t *entry = NULL;
    FILE *f = NULL;
    if (doc == NULL)
        return err ? err->code : CF_EINVAL;
    entry = json_pack("{s:s,s:O}", "name", name, "input", (json_t *)input);
    if (entry == NULL || (output && json_object_set(entry, "output", (json_t *)output) != 0)) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
        goto out;
    }
    json_t *list = json_object_get(doc, "examples"); /* borrowed */
    size_t i;
    json_t *ex;
    int replaced = 0;
    json_array_foreach(list, i, ex) {
        if (strcmp(json_string_value(json_object_get(ex, "name")), name) == 0) {
            json_array_set(list, i, entry);
            replaced = 1;
            break;
        }
    }
    if (!replaced && json_array_append(list, entry) != 0) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (f == NULL) {
        rc = cf_error_set(err, CF_EIO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF) {
        rc = cf_error_set(err, CF_EIO, "%s: write failed", tmp);
        goto out;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0 || rename(tmp, path) != 0) {
        rc = cf_error_set(err, CF_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = CF_OK;
out:
    if (f)
        fclose(f);
    if (rc != CF_OK && tmp[0])
        unlink(tmp);
    json_decref(entry);
    json_decref(doc);
    return rc;
}

/* 1 when a schema, or any schema inside it, is a file ("format": "uri"). */
static int has_files(const json_t *schema, const json_t *components, int depth)
{
    if (depth > 16)
        return 0;
    if (json_is_object(schema)) {
        const char *key;
        const json_t *v;
        const char *fmt = json_string_value(json_object_get(schema, "format"));
        if (fmt && strcmp(fmt, "uri") == 0)
            return 1;
        const char *ref = json_string_value(json_object_get(schema, "$ref"));
        if (ref && strncmp(ref, "#/components/schemas/", 21) == 0 &&
            has_files(json_object_get(components, ref + 21), components, depth + 1))
            return 1;
        json_object_foreach((json_t *)schema, key, v) {
            if (has_files(v, components, depth + 1))
                return 1;
        }
    } else if (json_is_array(schema)) {
        size_t i;
        const json_t *v;
        json_array_foreach(schema, i, v) {
            if (has_files(v, components, depth + 1))
                return 1;
        }
    }
    return 0;
}

int cf_examples_record(const char *project_dir, const char *name, const json_t *input,
                       const json_t *output, const json_t *openapi, int *with_output,
                       cf_error *err)
{
    const json_t *components = json_object_get(json_object_get(openapi, "components"), "schemas");
    int files = openapi == NULL || has_files(json_object_get(components, "Output"), components, 0);
    *with_output = output != NULL && !files;
    return cf_examples_save(project_dir, name, input, *with_output ? output : NULL, err);
}
