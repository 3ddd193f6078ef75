/* cli_output.c - writing `cog-fcgi predict`'s output as cog predict does.
 *
 * A string output is printed as it is and anything else as indented JSON (floats as the
 * HTTP API writes them); file outputs, which the worker hands over as {"$cogfile": path},
 * are copied to Cog's names (output.<ext>, output.0.<ext>, ...) or where -o says, and
 * replaced by the paths written.
 */
#include "cli_output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_out.h"

/* Checks -o before the model runs, as Cog does: an existing directory takes Cog's names, a
 * new file needs its directory to exist and be writable. 0, or 1 after printing why. */
int cf_cli_plan_output(const char *path, cf_out_target *t)
{
    memset(t, 0, sizeof *t);
    if (path == NULL) {
        snprintf(t->stem, sizeof t->stem, "output");
        return 0;
    }
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (access(path, W_OK) != 0) {
            fprintf(stderr, "cog-fcgi: -o %s: directory not writable: %s\n", path, strerror(errno));
            return 1;
        }
        snprintf(t->stem, sizeof t->stem, "%s/output", path);
        snprintf(t->json, sizeof t->json, "%s/output.json", path);
        return 0;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cog-fcgi: -o %s: the directory %s does not exist\n", path, dir);
        return 1;
    }
    if (access(dir, W_OK) != 0 || (access(path, F_OK) == 0 && access(path, W_OK) != 0)) {
        fprintf(stderr, "cog-fcgi: -o %s: not writable: %s\n", path, strerror(errno));
        return 1;
    }
    snprintf(t->exact, sizeof t->exact, "%s", path);
    snprintf(t->json, sizeof t->json, "%s", path);
    snprintf(t->stem, sizeof t->stem, "%s", path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base && strlen(dot) < sizeof t->ext) {
        snprintf(t->ext, sizeof t->ext, "%s", dot);
        t->stem[strlen(t->stem) - strlen(dot)] = '\0';
    }
    return 0;
}

static const char *cogfile(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1
               ? json_string_value(json_object_get(v, "$cogfile"))
               : NULL;
}

/* Copies src to dst (replacing it), with the usual mode (0666 less the umask). */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        fprintf(stderr, "cog-fcgi: the model's output %s: %s\n", src, strerror(errno));
        return 1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
        fprintf(stderr, "cog-fcgi: cannot write %s: %s\n", dst, strerror(errno));
        close(in);
        return 1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = 1;
            break;
        }
    if (n < 0)
        rc = 1;
    if (close(out) != 0)
        rc = 1;
    close(in);
    if (rc)
        fprintf(stderr, "cog-fcgi: cannot write %s: %s\n", dst, strerror(errno));
    else
        fprintf(stderr, "Written output to: %s\n", dst);
    return rc;
}

/* Writes every file of *v under Cog's names and replaces it by its path: a file at the root
 * is STEM.EXT (or -o PATH exactly), a list's items STEM.0.EXT, ..., an object's fields
 * STEM.KEY.EXT (EXT: -o's, else the file's own). 0, or 1 after printing why. */
int cf_cli_save_files(json_t **v, const cf_out_target *t, const char *stem, int root)
{
    const char *src = cogfile(*v);
    if (src) {
        char dst[PATH_MAX + 80];
        const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
        const char *dot = strrchr(base, '.');
        if (root && t->exact[0])
            snprintf(dst, sizeof dst, "%s", t->exact);
        else
            snprintf(dst, sizeof dst, "%s%s", stem,
                     t->ext[0] ? t->ext : (dot && dot != base ? dot : ""));
        if (copy_file(src, dst))
            return 1;
        json_decref(*v);
        *v = json_string(dst);
        return 0;
    }
    char sub[PATH_MAX + 80];
    if (json_is_array(*v)) {
        for (size_t i = 0; i < json_array_size(*v); i++) {
            json_t *item = json_incref(json_array_get(*v, i));
            snprintf(sub, sizeof sub, "%s.%zu", stem, i);
            int rc = cf_cli_save_files(&item, t, sub, 0);
            json_array_set_new(*v, i, item);
            if (rc)
                return 1;
        }
    } else if (json_is_object(*v)) {
        const char *key;
        json_t *item;
        json_object_foreach(*v, key, item) {
            json_t *own = json_incref(item);
            snprintf(sub, sizeof sub, "%s.%s", stem, key);
            int rc = cf_cli_save_files(&own, t, sub, 0);
            json_object_set_new(*v, key, own);
            if (rc)
                return 1;
        }
    }
    return 0;
}

/* 1 when v holds a file output anywhere. */
int cf_cli_has_files(const json_t *v)
{
    if (cogfile(v))
        return 1;
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(v))
        json_array_foreach(v, i, item) if (cf_cli_has_files(item)) return 1;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, key, item) if (cf_cli_has_files(item)) return 1;
    return 0;
}

/* Writes v as indented JSON (2 spaces, "key": value, as Cog's Go prints it) with floats as
 * the HTTP API writes them (Python's repr: 0.999909). */
static void put_pretty(FILE *f, const json_t *v)
{
    char *s = cf_json_dumps(v);
    int depth = 0, in_str = 0;
    for (const char *p = s; p && *p; p++) {
        char c = *p;
        if (in_str) {
            fputc(c, f);
            if (c == '\\' && p[1])
                fputc(*++p, f);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            fputc(c, f);
            break;
        case '{':
        case '[':
            fputc(c, f);
            if (p[1] == '}' || p[1] == ']') {
                fputc(*++p, f);
                break;
            }
            fprintf(f, "\n%*s", 2 * ++depth, "");
            break;
        case '}':
        case ']':
            fprintf(f, "\n%*s%c", 2 * --depth, "", c);
            break;
        case ',':
            fprintf(f, ",\n%*s", 2 * depth, "");
            break;
        case ':':
            fputs(": ", f);
            break;
        default:
            fputc(c, f);
        }
    }
    fputc('\n', f);
    free(s);
}

/* Prints (or with -o writes) a non-file result: a string as it is, the rest as JSON. */
int cf_cli_put_result(const json_t *v, const char *path)
{
    FILE *f = stdout;
    if (path && (f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "cog-fcgi: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (json_is_string(v))
        fprintf(f, "%s\n", json_string_value(v));
    else
        put_pretty(f, v);
    if (path) {
        if (fclose(f) != 0) {
            fprintf(stderr, "cog-fcgi: cannot write %s: %s\n", path, strerror(errno));
            return 1;
        }
        fprintf(stderr, "Written output to: %s\n", path);
    }
    return 0;
}
