/* cogyaml.c - loading and checking a project's cog.yaml (Cog's v1.0 schema). */
#include "cogyaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* What a node is once YAML 1.1's implicit typing (as Go's yaml.v2, which Cog
 * uses, applies it) has been resolved. Quoted scalars are always strings. */
enum kind { K_NULL, K_BOOL, K_INT, K_FLOAT, K_STR, K_SEQ, K_MAP };

/* Everything the checks need: the file name for messages, the document being
 * walked, the struct being filled. */
typedef struct loader {
    const char *path;
    yaml_document_t *doc;
    cf_cogyaml *y;
    cf_error *err;
} loader;

static int line_of(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* Sets err to "path:line: message" and returns CF_EINVAL. */
__attribute__((format(printf, 3, 4)))
static int fail(loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cf_error_set(ld->err, CF_EINVAL, "%s:%d: %s", ld->path,
                        n != NULL ? line_of(n) : 1, msg);
}

static int nomem(loader *ld)
{
    return cf_error_set(ld->err, CF_ENOMEM, "%s: out of memory", ld->path);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int one_of(const char *s, const char *const *words)
{
    for (; *words != NULL; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

static int is_int_text(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == '\0';
}

/* Digits with one optional '.', an optional exponent; at least one digit. */
static int is_float_text(const char *s)
{
    int digits = 0;
    if (*s == '+' || *s == '-')
        s++;
    while (isdigit((unsigned char)*s)) {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            s++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

static const char *const TRUE_WORDS[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                         "on", "On", "ON", "y", "Y", NULL};
static const char *const FALSE_WORDS[] = {"false", "False", "FALSE", "no", "No", "NO",
                                          "off", "Off", "OFF", "n", "N", NULL};
static const char *const NULL_WORDS[] = {"", "~", "null", "Null", "NULL", NULL};

static enum kind kind_of(const yaml_node_t *n)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return K_SEQ;
    if (n->type == YAML_MAPPING_NODE)
        return K_MAP;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return K_STR;
    const char *s = scalar(n);
    if (one_of(s, NULL_WORDS))
        return K_NULL;
    if (one_of(s, TRUE_WORDS) || one_of(s, FALSE_WORDS))
        return K_BOOL;
    if (is_int_text(s))
        return K_INT;
    if (is_float_text(s))
        return K_FLOAT;
    return K_STR;
}

static yaml_node_t *node(loader *ld, int index)
{
    return yaml_document_get_node(ld->doc, index);
}

/* A free-form string setting: any non-null scalar but a boolean, kept as
 * written (Cog's Go structs take `cuda: 11.8` as "11.8"). A null value
 * leaves *dst alone. */
static int take_string(loader *ld, const yaml_node_t *v, const char *key, char **dst)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_STR && k != K_INT && k != K_FLOAT)
        return fail(ld, v, "%s must be a string", key);
    free(*dst);
    *dst = strdup(scalar(v));
    return *dst != NULL ? 0 : nomem(ld);
}

static int take_bool(loader *ld, const yaml_node_t *v, const char *key, int *dst)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_BOOL)
        return fail(ld, v, "%s must be a boolean", key);
    *dst = one_of(scalar(v), TRUE_WORDS);
    return 0;
}

/* "file.py:Name": something before the colon, an identifier after it. */
static int is_ref(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return 0;
    const char *p = colon + 1;
    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return 0;
    for (; *p != '\0'; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return 0;
    return 1;
}

static int take_ref(loader *ld, const yaml_node_t *v, const char *key, char **dst)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_STR || !is_ref(scalar(v)))
        return fail(ld, v, "%s must be a string like \"predict.py:Predictor\"", key);
    free(*dst);
    *dst = strdup(scalar(v));
    return *dst != NULL ? 0 : nomem(ld);
}

/* ^[A-Za-z_][A-Za-z0-9_]*=[^\s]+$ */
static int is_env_item(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    if (*s++ != '=' || *s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (isspace((unsigned char)*s))
            return 0;
    return 1;
}

static void free_list(char **list)
{
    if (list == NULL)
        return;
    for (char **p = list; *p != NULL; p++)
        free(*p);
    free(list);
}

/* A list of strings (each item checked with `ok` when given); stored as a
 * NULL-terminated array in *dst. A null value leaves *dst alone. */
static int take_list(loader *ld, const yaml_node_t *v, const char *key, char ***dst,
                     int (*ok)(const char *), const char *ok_what)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_SEQ)
        return fail(ld, v, "%s must be a list of strings", key);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    char **list = calloc(n + 1, sizeof *list);
    if (list == NULL)
        return nomem(ld);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = node(ld, v->data.sequence.items.start[i]);
        enum kind ik = kind_of(item);
        if (ik != K_STR && ik != K_INT && ik != K_FLOAT) {
            rc = fail(ld, item, "%s[%zu] must be a string", key, i);
            goto cleanup;
        }
        if (ok != NULL && !ok(scalar(item))) {
            rc = fail(ld, item, "%s[%zu] \"%s\" %s", key, i, scalar(item), ok_what);
            goto cleanup;
        }
        list[i] = strdup(scalar(item));
        if (list[i] == NULL) {
            rc = nomem(ld);
            goto cleanup;
        }
    }
    free_list(*dst);
    *dst = list;
    list = NULL;
cleanup:
    free_list(list);
    return rc;
}

/* Checks a list without keeping it (pre_install, build.environment). */
static int check_list(loader *ld, const yaml_node_t *v, const char *key)
{
    char **tmp = NULL;
    int rc = take_list(ld, v, key, &tmp, NULL, NULL);
    free_list(tmp);
    return rc;
}

/* Walks a mapping: rejects non-scalar and duplicate keys, then calls fn for
 * each pair. */
typedef int (*pair_fn)(loader *ld, const yaml_node_t *k, const yaml_node_t *v, void *ctx);

static int each_pair(loader *ld, const yaml_node_t *map, const char *where, pair_fn fn,
                     void *ctx)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    yaml_node_pair_t *top = map->data.mapping.pairs.top;
    for (yaml_node_pair_t *p = start; p < top; p++) {
        const yaml_node_t *k = node(ld, p->key);
        const yaml_node_t *v = node(ld, p->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(ld, k, "keys %s must be plain strings", where);
        for (yaml_node_pair_t *q = start; q < p; q++) {
            const yaml_node_t *qk = node(ld, q->key);
            if (qk->type == YAML_SCALAR_NODE && strcmp(scalar(qk), scalar(k)) == 0)
                return fail(ld, k, "duplicate key \"%s\" %s", scalar(k), where);
        }
        int rc = fn(ld, k, v, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* build.run items: a string, or {command: STR, mounts: [{type: secret, id, target}]}. */
static int check_run_item(loader *ld, const yaml_node_t *item, size_t i)
{
    enum kind k = kind_of(item);
    if (k == K_STR)
        return 0;
    if (k != K_MAP)
        return fail(ld, item, "build.run[%zu] must be a string or {command, mounts}", i);
    const yaml_node_t *command = NULL, *mounts = NULL;
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
         p < item->data.mapping.pairs.top; p++) {
        const yaml_node_t *pk = node(ld, p->key);
        if (pk->type != YAML_SCALAR_NODE)
            continue;
        if (strcmp(scalar(pk), "command") == 0)
            command = node(ld, p->value);
        else if (strcmp(scalar(pk), "mounts") == 0)
            mounts = node(ld, p->value);
    }
    if (command == NULL || kind_of(command) != K_STR)
        return fail(ld, command != NULL ? command : item,
                    "build.run[%zu].command must be a string", i);
    if (mounts == NULL)
        return 0;
    if (kind_of(mounts) != K_SEQ)
        return fail(ld, mounts, "build.run[%zu].mounts must be a list", i);
    for (yaml_node_item_t *m = mounts->data.sequence.items.start;
         m < mounts->data.sequence.items.top; m++) {
        const yaml_node_t *mount = node(ld, *m);
        size_t j = (size_t)(m - mounts->data.sequence.items.start);
        if (kind_of(mount) != K_MAP)
            return fail(ld, mount, "build.run[%zu].mounts[%zu] must be a mapping", i, j);
        static const char *const required[] = {"type", "id", "target"};
        for (size_t r = 0; r < 3; r++) {
            const yaml_node_t *val = NULL;
            for (yaml_node_pair_t *p = mount->data.mapping.pairs.start;
                 p < mount->data.mapping.pairs.top; p++) {
                const yaml_node_t *pk = node(ld, p->key);
                if (pk->type == YAML_SCALAR_NODE && strcmp(scalar(pk), required[r]) == 0)
                    val = node(ld, p->value);
            }
            if (val == NULL || kind_of(val) != K_STR)
                return fail(ld, val != NULL ? val : mount,
                            "build.run[%zu].mounts[%zu].%s must be a string", i, j,
                            required[r]);
            if (r == 0 && strcmp(scalar(val), "secret") != 0)
                return fail(ld, val, "build.run[%zu].mounts[%zu].type must be \"secret\"",
                            i, j);
        }
    }
    return 0;
}

static int check_build_run(loader *ld, const yaml_node_t *v)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_SEQ)
        return fail(ld, v, "build.run must be a list");
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        int rc = check_run_item(ld, node(ld, *it),
                                (size_t)(it - v->data.sequence.items.start));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Lines of python_packages / python_requirements, to report the later one. */
typedef struct build_ctx {
    int packages_line;
    int requirements_line;
} build_ctx;

static int build_pair(loader *ld, const yaml_node_t *k, const yaml_node_t *v, void *vctx)
{
    build_ctx *ctx = vctx;
    cf_cogyaml *y = ld->y;
    const char *key = scalar(k);
    char *ignored = NULL;
    int rc;

    if (strcmp(key, "gpu") == 0)
        return take_bool(ld, v, "build.gpu", &y->gpu);
    if (strcmp(key, "fast") == 0) {
        int fast = 0;
        return take_bool(ld, v, "build.fast", &fast);
    }
    if (strcmp(key, "python_version") == 0) {
        if (kind_of(v) == K_BOOL || kind_of(v) == K_SEQ || kind_of(v) == K_MAP)
            return fail(ld, v, "build.python_version must be a string or a number");
        return take_string(ld, v, "build.python_version", &y->python_version);
    }
    if (strcmp(key, "python_requirements") == 0) {
        if (kind_of(v) != K_NULL)
            ctx->requirements_line = line_of(k);
        return take_string(ld, v, "build.python_requirements", &y->python_requirements);
    }
    if (strcmp(key, "python_packages") == 0) {
        if (kind_of(v) != K_NULL)
            ctx->packages_line = line_of(k);
        return take_list(ld, v, "build.python_packages", &y->python_packages, NULL, NULL);
    }
    if (strcmp(key, "system_packages") == 0)
        return take_list(ld, v, "build.system_packages", &y->system_packages, NULL, NULL);
    if (strcmp(key, "pre_install") == 0)
        return check_list(ld, v, "build.pre_install");
    if (strcmp(key, "environment") == 0)
        return check_list(ld, v, "build.environment");
    if (strcmp(key, "run") == 0)
        return check_build_run(ld, v);
    /* Settings only `cog build` uses: checked for type, not kept. */
    if (strcmp(key, "cuda") == 0 || strcmp(key, "cudnn") == 0 ||
        strcmp(key, "python_overrides") == 0 || strcmp(key, "sdk_version") == 0) {
        char name[64];
        snprintf(name, sizeof name, "build.%s", key);
        rc = take_string(ld, v, name, &ignored);
        free(ignored);
        return rc;
    }
    return fail(ld, k, "unknown key \"%s\" under build", key);
}

static int check_build(loader *ld, const yaml_node_t *v)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_MAP)
        return fail(ld, v, "build must be a mapping");
    build_ctx ctx = {0, 0};
    int rc = each_pair(ld, v, "under build", build_pair, &ctx);
    if (rc != 0)
        return rc;
    if (ctx.packages_line != 0 && ctx.requirements_line != 0) {
        int line = ctx.packages_line > ctx.requirements_line ? ctx.packages_line
                                                             : ctx.requirements_line;
        return cf_error_set(ld->err, CF_EINVAL,
                            "%s:%d: build.python_packages and build.python_requirements "
                            "cannot both be set",
                            ld->path, line);
    }
    return 0;
}

/* An integer setting >= min; stored in *dst when dst is given. */
static int take_int(loader *ld, const yaml_node_t *v, const char *key, long min, int *dst)
{
    if (kind_of(v) != K_INT)
        return fail(ld, v, "%s must be an integer", key);
    errno = 0;
    long n = strtol(scalar(v), NULL, 10);
    if (errno != 0 || n < min || n > 1000000) {
        if (min == 1)
            return fail(ld, v, "%s must be a positive integer", key);
        return fail(ld, v, "%s is out of range", key);
    }
    if (dst != NULL)
        *dst = (int)n;
    return 0;
}

static int concurrency_pair(loader *ld, const yaml_node_t *k, const yaml_node_t *v,
                            void *ctx)
{
    int *seen_max = ctx;
    if (strcmp(scalar(k), "max") == 0) {
        *seen_max = 1;
        return take_int(ld, v, "concurrency.max", 1, &ld->y->concurrency_max);
    }
    if (strcmp(scalar(k), "default_target") == 0)
        return take_int(ld, v, "concurrency.default_target", 0, NULL);
    return fail(ld, k, "unknown key \"%s\" under concurrency", scalar(k));
}

static int check_concurrency(loader *ld, const yaml_node_t *v)
{
    enum kind k = kind_of(v);
    if (k == K_NULL)
        return 0;
    if (k != K_MAP)
        return fail(ld, v, "concurrency must be a mapping");
    int seen_max = 0;
    int rc = each_pair(ld, v, "under concurrency", concurrency_pair, &seen_max);
    if (rc == 0 && !seen_max)
        rc = fail(ld, v, "concurrency.max is required");
    return rc;
}

/* Which of predict/run set y->predict, for the "both set" error. */
typedef struct top_ctx {
    const char *predict_key;
} top_ctx;

static int top_pair(loader *ld, const yaml_node_t *k, const yaml_node_t *v, void *vctx)
{
    top_ctx *ctx = vctx;
    cf_cogyaml *y = ld->y;
    const char *key = scalar(k);

    if (strcmp(key, "build") == 0)
        return check_build(ld, v);
    if (strcmp(key, "predict") == 0 || strcmp(key, "run") == 0) {
        if (kind_of(v) == K_NULL)
            return 0;
        if (ctx->predict_key != NULL)
            return fail(ld, k, "\"%s\" and \"%s\" cannot both be set", ctx->predict_key,
                        key);
        ctx->predict_key = strcmp(key, "run") == 0 ? "run" : "predict";
        return take_ref(ld, v, key, &y->predict);
    }
    if (strcmp(key, "train") == 0)
        return take_ref(ld, v, "train", &y->train);
    if (strcmp(key, "image") == 0)
        return take_string(ld, v, "image", &y->image);
    if (strcmp(key, "concurrency") == 0)
        return check_concurrency(ld, v);
    if (strcmp(key, "environment") == 0)
        return take_list(ld, v, "environment", &y->environment, is_env_item,
                         "must look like NAME=value "
                         "(^[A-Za-z_][A-Za-z0-9_]*=[^\\s]+$)");
    if (strcmp(key, "tests") == 0) {
        enum kind kk = kind_of(v);
        if (kk != K_NULL && kk != K_SEQ)
            return fail(ld, v, "tests must be a list");
        return 0;
    }
    /* v0.22's `model` and `weights`: only `cog build` reads them. */
    if (strcmp(key, "model") == 0 || strcmp(key, "weights") == 0)
        return 0;
    return fail(ld, k, "unknown key \"%s\" at the top level", key);
}

/* Turns a libyaml parser failure into "path:line: YAML syntax error: ...". */
static int syntax_error(const char *path, const yaml_parser_t *p, cf_error *err)
{
    if (p->error == YAML_MEMORY_ERROR)
        return cf_error_set(err, CF_ENOMEM, "%s: out of memory", path);
    const char *problem = p->problem != NULL ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR)
        return cf_error_set(err, CF_EINVAL, "%s: YAML syntax error: %s at byte %zu", path,
                            problem, p->problem_offset);
    int line = (int)p->problem_mark.line + 1;
    if (p->context != NULL)
        return cf_error_set(err, CF_EINVAL, "%s:%d: YAML syntax error: %s (%s at line %d)",
                            path, line, problem, p->context, (int)p->context_mark.line + 1);
    return cf_error_set(err, CF_EINVAL, "%s:%d: YAML syntax error: %s", path, line,
                        problem);
}

int cf_cogyaml_load(const char *path, cf_cogyaml *out, cf_error *err)
{
    int rc = 0;
    FILE *f = NULL;
    int parser_ready = 0, doc_ready = 0;
    yaml_parser_t parser;
    yaml_document_t doc;
    cf_cogyaml y;

    memset(&y, 0, sizeof y);
    memset(out, 0, sizeof *out);
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = cf_error_set(err, errno == ENOENT ? CF_ENOTFOUND : CF_EIO,
                          "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = cf_error_set(err, CF_ENOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    parser_ready = 1;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = syntax_error(path, &parser, err);
        goto cleanup;
    }
    doc_ready = 1;

    loader ld = {path, &doc, &y, err};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL || kind_of(root) == K_NULL) {
        rc = cf_error_set(err, CF_EINVAL, "%s:1: the file is empty", path);
        goto cleanup;
    }
    if (root->type != YAML_MAPPING_NODE) {
        rc = fail(&ld, root, "the top level must be a mapping of keys");
        goto cleanup;
    }
    top_ctx ctx = {NULL};
    rc = each_pair(&ld, root, "at the top level", top_pair, &ctx);
    if (rc != 0)
        goto cleanup;
    *out = y;
    memset(&y, 0, sizeof y);

cleanup:
    cf_cogyaml_cleanup(&y);
    if (doc_ready)
        yaml_document_delete(&doc);
    if (parser_ready)
        yaml_parser_delete(&parser);
    if (f != NULL)
        fclose(f);
    return rc;
}

void cf_cogyaml_cleanup(cf_cogyaml *y)
{
    if (y == NULL)
        return;
    free(y->predict);
    free(y->train);
    free(y->python_version);
    free_list(y->environment);
    free_list(y->python_packages);
    free(y->python_requirements);
    free_list(y->system_packages);
    free(y->image);
    memset(y, 0, sizeof *y);
}

/* Copies "3.11" out of "3.11", "3.11.4" or " 3.11 " into buf; 0 when s does
 * not start with digits '.' digits. */
static int major_minor(const char *s, char *buf, size_t len)
{
    while (isspace((unsigned char)*s))
        s++;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p++ != '.' || !isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    size_t n = (size_t)(p - s);
    if (n + 1 > len)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 1;
}

int cf_cogyaml_python_mismatch(const cf_cogyaml *y, const char *embedded, char *buf,
                               size_t len)
{
    char want[32], have[32];
    if (len > 0)
        buf[0] = '\0';
    if (y == NULL || y->python_version == NULL || embedded == NULL)
        return 0;
    if (!major_minor(embedded, have, sizeof have))
        return 0;
    if (major_minor(y->python_version, want, sizeof want) && strcmp(want, have) == 0)
        return 0;
    if (len > 0)
        snprintf(buf, len,
                 "cog.yaml asks for Python %s (build.python_version) but cog-fcgi runs "
                 "Python %s: the model runs on %s",
                 y->python_version, embedded, have);
    return 1;
}
