/* multipart.c - a streaming multipart/form-data reader and its typing by the schema. */
#include "multipart.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_HEADERS 16384
#define MAX_PARTS 1000

int cf_multipart_boundary(const char *content_type, char *out, size_t len)
{
    if (content_type == NULL || strncasecmp(content_type, "multipart/form-data", 19) != 0)
        return 0;
    const char *b = strcasestr(content_type, "boundary=");
    if (b == NULL)
        return 0;
    b += 9;
    size_t n;
    if (*b == '"') {
        b++;
        n = strcspn(b, "\"");
    } else {
        n = strcspn(b, "; \t");
    }
    if (n == 0 || n > 70 || n + 1 > len)
        return 0;
    memcpy(out, b, n);
    out[n] = '\0';
    return 1;
}

static const char *spool_base(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* A file name that is safe in a path and a URL: [A-Za-z0-9._-], no leading dot. */
static void safe_name(const char *in, char *out, size_t len)
{
    size_t n = 0;
    const char *slash = strrchr(in, '/');
    const char *bs = strrchr(in, '\\');
    if (bs && (!slash || bs > slash))
        slash = bs;
    if (slash)
        in = slash + 1;
    for (; *in && n + 1 < len && n < 120; in++) {
        unsigned char c = (unsigned char)*in;
        int ok = isalnum(c) || c == '.' || c == '_' || c == '-';
        out[n++] = ok ? (char)c : '_';
    }
    out[n] = '\0';
    if (n == 0 || out[0] == '.')
        snprintf(out, len, "file%s", n ? out : "");
}

/* The reader's state: a buffer over the stream. */
typedef struct reader {
    int (*read)(void *ctx, char *buf, int n);
    void *ctx;
    char *buf;
    size_t have, cap;
    int eof;
    size_t total, max;
    int *too_large;
} reader;

/* Reads more into the buffer; 0 at EOF. */
static int fill(reader *r)
{
    if (r->eof || r->have == r->cap)
        return 0;
    int n = r->read(r->ctx, r->buf + r->have, (int)(r->cap - r->have));
    if (n <= 0) {
        r->eof = 1;
        return 0;
    }
    r->total += (size_t)n;
    if (r->total > r->max)
        *r->too_large = 1;
    r->have += (size_t)n;
    return n;
}

static void consume(reader *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->have - n);
    r->have -= n;
}

static void drain(reader *r)
{
    while (!r->eof) {
        r->have = 0;
        fill(r);
    }
}

/* The value of param (name= or filename=) in a Content-Disposition line. */
static char *disposition_param(const char *line, const char *param)
{
    size_t pl = strlen(param);
    for (const char *p = line; (p = strcasestr(p, param)) != NULL; p += pl) {
        if (p > line && p[-1] != ' ' && p[-1] != ';' && p[-1] != '\t')
            continue;
        const char *v = p + pl;
        if (*v != '=')
            continue;
        v++;
        if (*v == '"') {
            v++;
            const char *e = strchr(v, '"');
            return e ? strndup(v, (size_t)(e - v)) : NULL;
        }
        return strndup(v, strcspn(v, "; \t\r\n"));
    }
    return NULL;
}

static int new_spool(cf_form *form, cf_error *err)
{
    if (form->spool[0])
        return CF_OK;
    unsigned char r[16];
    char hex[33];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return cf_error_set(err, CF_EIO, "getrandom failed: %s", strerror(errno));
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    snprintf(form->spool, sizeof form->spool, "%s/cog-fcgi-form-%s", spool_base(), hex);
    if (mkdir(form->spool, 0700) != 0) {
        int e = errno;
        form->spool[0] = '\0';
        return cf_error_set(err, CF_EIO, "cannot create a spool directory: %s", strerror(e));
    }
    return CF_OK;
}

/* The 32 hex digits of the spool's name. */
static const char *spool_token(const cf_form *form)
{
    return form->spool + strlen(form->spool) - 32;
}

static int fcgx_read(void *ctx, char *buf, int n)
{
    return FCGX_GetStr(buf, n, ctx);
}

int cf_multipart_read(FCGX_Stream *in, const char *boundary, size_t max_body, cf_form *form,
                      int *too_large, cf_error *err)
{
    return cf_multipart_read_from(fcgx_read, in, boundary, max_body, form, too_large, err);
}

int cf_multipart_read_from(int (*read)(void *ctx, char *buf, int n), void *ctx,
                           const char *boundary, size_t max_body, cf_form *form, int *too_large,
                           cf_error *err)
{
    memset(form, 0, sizeof *form);
    char delim[80];
    int dlen = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    reader r = {.read = read, .ctx = ctx, .cap = CHUNK + MAX_HEADERS, .max = max_body,
                .too_large = too_large};
    r.buf = malloc(r.cap);
    if (r.buf == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory for a form");
    int rc = CF_OK;
    /* The first delimiter may come without its CRLF: put one in front. */
    r.buf[0] = '\r';
    r.buf[1] = '\n';
    r.have = 2;
    for (;;) { /* the preamble, up to the first delimiter */
        fill(&r);
        char *d = memmem(r.buf, r.have, delim, (size_t)dlen);
        if (d) {
            consume(&r, (size_t)(d - r.buf) + (size_t)dlen);
            break;
        }
        if (r.eof) {
            rc = cf_error_set(err, CF_EINVAL, "the multipart body has no boundary --%s", boundary);
            goto out;
        }
        if (r.have > (size_t)dlen)
            consume(&r, r.have - (size_t)dlen);
    }
    for (;;) {
        /* after a delimiter: "--" ends the body, else CRLF and a part's headers */
        while (r.have < 2 && fill(&r) > 0)
            ;
        if (r.have >= 2 && memcmp(r.buf, "--", 2) == 0)
            break;
        char *hend;
        while ((hend = memmem(r.buf, r.have, "\r\n\r\n", 4)) == NULL) {
            if (r.have >= MAX_HEADERS || fill(&r) == 0) {
                rc = cf_error_set(err, CF_EINVAL, r.have >= MAX_HEADERS
                                                      ? "a multipart part's headers are too long"
                                                      : "the multipart body ends inside a part's headers");
                goto out;
            }
        }
        *hend = '\0';
        char *name = NULL, *filename = NULL;
        for (char *line = r.buf; line && *line;) {
            char *next = strstr(line, "\r\n");
            if (next)
                *next = '\0';
            if (strncasecmp(line, "content-disposition:", 20) == 0) {
                name = disposition_param(line + 20, "name");
                filename = disposition_param(line + 20, "filename");
            }
            line = next ? next + 2 : NULL;
        }
        consume(&r, (size_t)(hend - r.buf) + 4);
        if (name == NULL || form->n >= MAX_PARTS) {
            free(name);
            free(filename);
            rc = cf_error_set(err, CF_EINVAL, form->n >= MAX_PARTS
                                                  ? "more than 1000 parts in a form"
                                                  : "a multipart part has no Content-Disposition name");
            goto out;
        }
        cf_form_part *grown = realloc(form->parts, (form->n + 1) * sizeof *grown);
        if (grown == NULL) {
            free(name);
            free(filename);
            rc = cf_error_set(err, CF_ENOMEM, "out of memory for a form");
            goto out;
        }
        form->parts = grown;
        cf_form_part *part = &form->parts[form->n++];
        memset(part, 0, sizeof *part);
        part->name = name;
        part->filename = filename;
        int fd = -1;
        char path[PATH_MAX];
        size_t tcap = 0;
        if (filename) {
            char safe[128];
            safe_name(filename, safe, sizeof safe);
            if ((rc = new_spool(form, err)) != CF_OK)
                goto out;
            snprintf(path, sizeof path, "%s/%zu-%s", form->spool, form->n - 1, safe);
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0) {
                rc = cf_error_set(err, CF_EIO, "cannot create %s: %s", path, strerror(errno));
                goto out;
            }
            if (asprintf(&part->value, CF_FORM_SCHEME "%s/%zu/%s", spool_token(form), form->n - 1,
                         safe) < 0) {
                part->value = NULL;
                close(fd);
                rc = cf_error_set(err, CF_ENOMEM, "out of memory for a form");
                goto out;
            }
        }
        /* the part's bytes, up to the next delimiter */
        for (;;) {
            fill(&r);
            char *d = memmem(r.buf, r.have, delim, (size_t)dlen);
            size_t n = d ? (size_t)(d - r.buf) : r.have > (size_t)dlen ? r.have - (size_t)dlen : 0;
            if (*too_large) {
                /* past --max-body: read on, keep nothing (answered 413) */
            } else if (fd >= 0) {
                for (size_t off = 0; off < n;) {
                    ssize_t w = write(fd, r.buf + off, n - off);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w < 0) {
                        rc = cf_error_set(err, CF_EIO, "cannot write %s: %s", path, strerror(errno));
                        close(fd);
                        goto out;
                    }
                    off += (size_t)w;
                }
            } else if (n > 0) {
                if (part->len + n + 1 > tcap) {
                    size_t cap = tcap ? tcap * 2 : 256;
                    while (cap < part->len + n + 1)
                        cap *= 2;
                    char *g = realloc(part->value, cap);
                    if (g == NULL) {
                        rc = cf_error_set(err, CF_ENOMEM, "out of memory for a form");
                        goto out;
                    }
                    part->value = g;
                    tcap = cap;
                }
                memcpy(part->value + part->len, r.buf, n);
                part->len += n;
                part->value[part->len] = '\0';
            }
            if (d) {
                consume(&r, n + (size_t)dlen);
                break;
            }
            consume(&r, n);
            if (r.eof) {
                if (fd >= 0)
                    close(fd);
                rc = cf_error_set(err, CF_EINVAL, "the multipart body ends before its closing boundary");
                goto out;
            }
        }
        if (fd >= 0 && close(fd) != 0) {
            rc = cf_error_set(err, CF_EIO, "cannot write %s: %s", path, strerror(errno));
            goto out;
        }
        if (!filename && part->value == NULL && (part->value = strdup("")) == NULL) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory for a form");
            goto out;
        }
        if (filename)
            part->len = strlen(part->value);
        /* transport padding, then CRLF (or "--") */
        while (r.have < 2 && fill(&r) > 0)
            ;
        if (r.have >= 2 && memcmp(r.buf, "\r\n", 2) == 0)
            consume(&r, 2);
    }
out:
    drain(&r);
    free(r.buf);
    return rc;
}

/* The schema of input name, with a $ref (in allOf, as Cog writes choices) resolved. */
static const json_t *input_type(const json_t *schema, const char *name, const json_t **items)
{
    const json_t *props = json_object_get(json_object_get(schema, "input"), "properties");
    const json_t *p = json_object_get(props, name);
    *items = NULL;
    if (p == NULL)
        return NULL;
    const json_t *t = json_object_get(p, "type");
    if (t == NULL) {
        const json_t *ref = json_object_get(json_array_get(json_object_get(p, "allOf"), 0), "$ref");
        const char *r = json_string_value(ref);
        const char *slash = r ? strrchr(r, '/') : NULL;
        if (slash) {
            const json_t *comps = json_object_get(schema, "components");
            const json_t *c = json_object_get(json_object_get(comps, "schemas"), slash + 1);
            if (c == NULL)
                c = json_object_get(comps, slash + 1);
            t = json_object_get(c, "type");
        }
    }
    if (json_is_string(t) && strcmp(json_string_value(t), "array") == 0)
        *items = json_object_get(json_object_get(p, "items"), "type");
    return t;
}

/* A text value as the JSON type wants; a string when it does not parse. */
static json_t *typed(const char *text, const char *type)
{
    char *end = NULL;
    if (type && strcmp(type, "integer") == 0) {
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (*text && end && *end == '\0' && errno == 0)
            return json_integer(v);
    } else if (type && strcmp(type, "number") == 0) {
        errno = 0;
        double v = strtod(text, &end);
        if (*text && end && *end == '\0' && errno == 0)
            return json_real(v);
    } else if (type && strcmp(type, "boolean") == 0) {
        if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
            return json_true();
        if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
            return json_false();
    } else if (type && (strcmp(type, "array") == 0 || strcmp(type, "object") == 0)) {
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        if (v)
            return v;
    }
    return json_string(text);
}

static int is_request_field(const char *name)
{
    return strcmp(name, "id") == 0 || strcmp(name, "webhook") == 0 ||
           strcmp(name, "webhook_events_filter") == 0 || strcmp(name, "output_file_prefix") == 0;
}

json_t *cf_form_to_body(const cf_form *form, const json_t *schema)
{
    json_t *body = json_object(), *input = json_object();
    if (body == NULL || input == NULL || json_object_set_new(body, "input", input) != 0) {
        json_decref(body);
        return NULL;
    }
    for (size_t i = 0; i < form->n; i++) {
        const cf_form_part *p = &form->parts[i];
        const json_t *items;
        const json_t *t = input_type(schema, p->name, &items);
        if (t == NULL && is_request_field(p->name)) {
            json_t *v = strcmp(p->name, "webhook_events_filter") == 0 && p->value[0] == '['
                            ? json_loads(p->value, 0, NULL)
                            : NULL;
            if (v == NULL)
                v = json_string(p->value);
            json_t *old = json_object_get(body, p->name);
            if (strcmp(p->name, "webhook_events_filter") == 0 && json_is_string(v)) {
                /* repeated: -F webhook_events_filter=start -F ...=completed */
                if (!json_is_array(old)) {
                    json_object_set_new(body, p->name, json_array());
                    old = json_object_get(body, p->name);
                }
                json_array_append_new(old, v);
            } else {
                json_object_set_new(body, p->name, v);
            }
            continue;
        }
        const char *type = json_string_value(t);
        int is_array = type && strcmp(type, "array") == 0;
        json_t *v;
        if (p->filename)
            v = json_string(p->value);
        else if (is_array && p->value[0] != '[')
            v = typed(p->value, json_string_value(items)); /* one element */
        else
            v = typed(p->value, type);
        if (v == NULL) {
            json_decref(body);
            return NULL;
        }
        json_t *old = json_object_get(input, p->name);
        if (is_array && !(json_is_array(v) && old == NULL)) {
            if (!json_is_array(old)) {
                json_t *arr = json_array();
                if (old)
                    json_array_append(arr, old);
                json_object_set_new(input, p->name, arr);
                old = arr;
            }
            if (json_is_array(v)) {
                json_array_extend(old, v);
                json_decref(v);
            } else {
                json_array_append_new(old, v);
            }
        } else {
            json_object_set_new(input, p->name, v);
        }
    }
    return body;
}

void cf_form_keep(cf_form *form)
{
    if (form)
        form->kept = 1;
}

void cf_form_free(cf_form *form)
{
    if (form == NULL)
        return;
    if (form->spool[0] && !form->kept) {
        DIR *d = opendir(form->spool);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", form->spool, e->d_name);
            unlink(path);
        }
        if (d)
            closedir(d);
        rmdir(form->spool);
    }
    for (size_t i = 0; i < form->n; i++) {
        free(form->parts[i].name);
        free(form->parts[i].filename);
        free(form->parts[i].value);
    }
    free(form->parts);
    memset(form, 0, sizeof *form);
}

int cf_form_file_path(const char *value, char *path, size_t len, cf_error *err)
{
    size_t sl = strlen(CF_FORM_SCHEME);
    if (strncmp(value, CF_FORM_SCHEME, sl) != 0)
        return cf_error_set(err, CF_EINVAL, "not a form file");
    const char *tok = value + sl;
    for (int i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)tok[i]) || isupper((unsigned char)tok[i]))
            return cf_error_set(err, CF_EINVAL, "no such uploaded file: %.100s", value);
    const char *rest = tok + 32;
    char *end = NULL;
    if (*rest != '/' || !isdigit((unsigned char)rest[1]))
        return cf_error_set(err, CF_EINVAL, "no such uploaded file: %.100s", value);
    unsigned long idx = strtoul(rest + 1, &end, 10);
    if (end == NULL || *end != '/')
        return cf_error_set(err, CF_EINVAL, "no such uploaded file: %.100s", value);
    char safe[128];
    safe_name(end + 1, safe, sizeof safe);
    if (strcmp(safe, end + 1) != 0)
        return cf_error_set(err, CF_EINVAL, "no such uploaded file: %.100s", value);
    snprintf(path, len, "%s/cog-fcgi-form-%.32s/%lu-%s", spool_base(), tok, idx, safe);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return cf_error_set(err, CF_EINVAL, "no such uploaded file: %.100s", value);
    return CF_OK;
}
