/* routes.c - routing by path and method, and the small handlers.
 *
 * Routing works on REQUEST_URI. A model mounted under a prefix
 * (`location /models/hello/ { fastcgi_pass ...; }`) sees paths like
 * /models/hello/predictions: when the whole path is not a route, the
 * leading segments are dropped one at a time until the rest is one, so the
 * plainest nginx config works at any mount point without telling us.
 */
#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files_dir.h"
#include "handlers.h"
#include "playground.h"
#include "stream_handler.h"
#include "metrics_http.h"

typedef enum route_kind {
    R_NONE = 0,
    R_ROOT,
    R_HEALTH,
    R_OPENAPI,
    R_SHUTDOWN,
    R_COLLECTION,   /* /predictions, /trainings */
    R_ITEM,         /* /predictions/{id} */
    R_CANCEL,       /* /predictions/{id}/cancel */
    R_STREAM,       /* /predictions/{id}/stream (Replicate's, stream_handler.h) */
    R_METRICS,      /* /metrics (Prometheus) */
} route_kind;

typedef struct route {
    route_kind kind;
    int training;
    char id[128];
} route;

/* Matches one candidate path exactly. */
static route_kind match_exact(const char *path, int has_train, route *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(path, "/") == 0)
        return out->kind = R_ROOT;
    if (strcmp(path, "/health-check") == 0)
        return out->kind = R_HEALTH;
    if (strcmp(path, "/openapi.json") == 0)
        return out->kind = R_OPENAPI;
    if (strcmp(path, "/shutdown") == 0)
        return out->kind = R_SHUTDOWN;
    if (strcmp(path, "/metrics") == 0)
        return out->kind = R_METRICS;
    const char *rest = NULL;
    if (strncmp(path, "/predictions", 12) == 0) {
        rest = path + 12;
    } else if (has_train && strncmp(path, "/trainings", 10) == 0) {
        rest = path + 10;
        out->training = 1;
    } else {
        return R_NONE;
    }
    if (*rest == '\0')
        return out->kind = R_COLLECTION;
    if (*rest != '/' || rest[1] == '\0')
        return R_NONE;
    rest++;
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (idlen == 0 || idlen >= sizeof out->id)
        return R_NONE;
    memcpy(out->id, rest, idlen);
    out->id[idlen] = '\0';
    if (slash == NULL)
        return out->kind = R_ITEM;
    if (strcmp(slash, "/cancel") == 0)
        return out->kind = R_CANCEL;
    if (strcmp(slash, "/stream") == 0)
        return out->kind = R_STREAM;
    return R_NONE;
}

/* Tries the path, then its suffixes at each '/'. The bare root only
 * matches as a suffix when the path ends with the mount's slash. */
static route_kind match(const char *path, int has_train, route *out)
{
    if (match_exact(path, has_train, out))
        return out->kind;
    for (const char *p = path + 1; *p; p++) {
        if (*p == '/' && match_exact(p, has_train, out))
            return out->kind;
    }
    return R_NONE;
}

static const char *allowed_methods(route_kind kind)
{
    switch (kind) {
    case R_ROOT:
    case R_HEALTH:
    case R_OPENAPI:
    case R_METRICS:
    case R_STREAM: return "GET";
    case R_SHUTDOWN:
    case R_COLLECTION:
    case R_CANCEL: return "POST";
    case R_ITEM: return "GET, PUT";
    case R_NONE: break;
    }
    return "";
}

static void method_not_allowed(cf_request *req, route_kind kind)
{
    char headers[128];
    snprintf(headers, sizeof headers, "Allow: %s\r\n", allowed_methods(kind));
    json_t *body = json_pack("{s:s}", "detail", "Method Not Allowed");
    cf_respond_json(req, 405, body, headers);
    json_decref(body);
}

/* Cog (Starlette) redirects /predictions/ to /predictions. */
static int redirect_trailing_slash(cf_app *app, cf_request *req)
{
    size_t len = strlen(req->path);
    if (len < 2 || req->path[len - 1] != '/')
        return 0;
    char *trimmed = strndup(req->path, len - 1);
    if (trimmed == NULL)
        return 0;
    route r;
    int ok = match(trimmed, app->has_train, &r) != R_NONE && r.kind != R_ROOT;
    if (ok) {
        char headers[2048];
        snprintf(headers, sizeof headers, "Location: %s%s%s\r\n", trimmed,
                 req->query[0] ? "?" : "", req->query);
        cf_respond_raw(req, 307, "text/plain", "", 0, headers);
    }
    free(trimmed);
    return ok;
}

void cf_route_request(cf_app *app, cf_request *req)
{
    route r;
    const char *m = req->method;
    /* before matching: "/predictions/" must not read as a mount's root */
    if (redirect_trailing_slash(app, req))
        return;
    if (cf_files_dir_route(req)) /* --files-dir outputs: X-Accel-Redirect */
        return;
    if (match(req->path, app->has_train, &r) == R_NONE) {
        if (cf_playground_route(app, req))
            return;
        cf_respond_detail(req, 404, "Not Found");
        return;
    }
    int get = strcmp(m, "GET") == 0;
    int post = strcmp(m, "POST") == 0;
    int put = strcmp(m, "PUT") == 0;
    switch (r.kind) {
    case R_ROOT:
        if (!get)
            return method_not_allowed(req, r.kind);
        return cf_handle_index(app, req);
    case R_HEALTH:
        if (!get)
            return method_not_allowed(req, r.kind);
        return cf_handle_health(app, req);
    case R_OPENAPI:
        if (!get)
            return method_not_allowed(req, r.kind);
        return cf_handle_openapi(app, req);
    case R_SHUTDOWN:
        if (!post)
            return method_not_allowed(req, r.kind);
        return cf_handle_shutdown(app, req);
    case R_COLLECTION:
        if (!post)
            return method_not_allowed(req, r.kind);
        return cf_handle_predict(app, req, r.training, NULL);
    case R_ITEM:
        if (put)
            return cf_handle_predict(app, req, r.training, r.id);
        if (get)
            return cf_handle_get(app, req, r.id);
        return method_not_allowed(req, r.kind);
    case R_CANCEL:
        if (!post)
            return method_not_allowed(req, r.kind);
        return cf_handle_cancel(app, req, r.id);
    case R_STREAM:
        if (!get)
            return method_not_allowed(req, r.kind);
        return cf_handle_stream(app, req, r.id);
    case R_METRICS:
        if (!app->metrics_fcgi)
            break; /* off, or on its own listener: not a route here */
        if (!get)
            return method_not_allowed(req, r.kind);
        return cf_handle_metrics(app, req);
    case R_NONE:
        break;
    }
    cf_respond_detail(req, 404, "Not Found");
}
