/* files_dir.c - file outputs copied to --files-dir and handed to the web server to send. */
#include "files_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mime.h"

static cf_files_dir_config config;
static char url_path[PATH_MAX]; /* the path part of --files-url, with its trailing slash */

int cf_files_dir_configure(const cf_files_dir_config *cfg, cf_error *err)
{
    config = *cfg;
    if (config.dir == NULL)
        return CF_OK;
    if (config.url == NULL)
        config.url = "/files/";
    if (config.accel_prefix == NULL)
        config.accel_prefix = "/cog-fcgi-files/";
    struct stat st;
    if (stat(config.dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(config.dir, W_OK) != 0)
        return cf_error_set(err, CF_EINVAL, "--files-dir %s is not a writable directory",
                            config.dir);
    const char *u = config.url, *sep = strstr(u, "://");
    if (sep) {
        u = strchr(sep + 3, '/');
        if (u == NULL)
            u = "/";
    }
    if (*u != '/')
        return cf_error_set(err, CF_EINVAL, "--files-url must be a path (/files/) or an "
                            "absolute URL, got %s", config.url);
    size_t n = strcspn(u, "?#");
    snprintf(url_path, sizeof url_path, "%.*s%s", (int)n, u, n && u[n - 1] == '/' ? "" : "/");
    return CF_OK;
}

int cf_files_dir_enabled(void)
{
    return config.dir != NULL;
}

/* Copies src to dst (created, exclusive), in kernel space. */
static int copy_file(const char *src, const char *dst, cf_error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return cf_error_set(err, CF_EIO, "cannot read %s: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return cf_error_set(err, CF_EIO, "cannot create %s: %s", dst, strerror(e));
    }
    int rc = CF_OK;
    for (;;) {
        ssize_t n = sendfile(out, in, NULL, 1 << 30);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cf_error_set(err, CF_EIO, "cannot copy %s to %s: %s", src, dst, strerror(errno));
            break;
        }
    }
    close(in);
    if (close(out) != 0 && rc == CF_OK)
        rc = cf_error_set(err, CF_EIO, "cannot write %s: %s", dst, strerror(errno));
    if (rc != CF_OK)
        unlink(dst);
    return rc;
}

/* A name may hold letters, digits, '.', '_', '-' only, and not start with '.'. */
static int safe_name(const char *s)
{
    if (*s == '\0' || *s == '.')
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

json_t *cf_files_dir_store(const char *path, cf_error *err)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        cf_error_set(err, CF_EIO, "getrandom failed: %s", strerror(errno));
        return NULL;
    }
    char name[NAME_MAX + 1];
    int n = 0;
    for (size_t i = 0; i < sizeof r; i++)
        n += snprintf(name + n, sizeof name - (size_t)n, "%02x", r[i]);
    name[n++] = '-';
    /* the output's own name, made safe for a URL and a file name */
    for (const char *s = base; *s && n < 200; s++) {
        unsigned char c = (unsigned char)*s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        name[n++] = ok ? (char)c : '_';
    }
    name[n] = '\0';
    char dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/%s", config.dir, name);
    if (copy_file(path, dst, err) != CF_OK)
        return NULL;
    size_t ulen = strlen(config.url);
    char *url = malloc(ulen + strlen(name) + 2);
    if (url == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    sprintf(url, "%s%s%s", config.url, ulen && config.url[ulen - 1] == '/' ? "" : "/", name);
    json_t *j = json_string(url);
    free(url);
    if (j == NULL)
        cf_error_set(err, CF_ENOMEM, "out of memory");
    return j;
}

/* The part of path after --files-url's path, found at any mount (the
 * leading segments dropped, as routes.c does), or NULL. */
static const char *name_in(const char *path)
{
    size_t n = strlen(url_path);
    for (const char *p = path; p; p = strchr(p + 1, '/')) {
        if (strncmp(p, url_path, n) == 0)
            return p + n;
    }
    return NULL;
}

int cf_files_dir_route(cf_request *req)
{
    if (config.dir == NULL)
        return 0;
    const char *name = name_in(req->path);
    if (name == NULL)
        return 0;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        cf_respond_raw(req, 405, "application/json", "{\"detail\":\"Method Not Allowed\"}", 31,
                       "Allow: GET, HEAD\r\n");
        return 1;
    }
    char file[PATH_MAX];
    struct stat st;
    snprintf(file, sizeof file, "%s/%s", config.dir, name);
    if (!safe_name(name) || stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
        cf_respond_detail(req, 404, "Not Found");
        return 1;
    }
    char headers[PATH_MAX + 256];
    if (config.sendfile)
        snprintf(headers, sizeof headers, "X-Sendfile: %s\r\n", file);
    else
        snprintf(headers, sizeof headers, "X-Accel-Redirect: %s%s%s\r\n", config.accel_prefix,
                 config.accel_prefix[strlen(config.accel_prefix) - 1] == '/' ? "" : "/", name);
    const char *mime = cf_mime_from_name(name);
    cf_respond_raw(req, 200, mime ? mime : "application/octet-stream", "", 0, headers);
    return 1;
}
