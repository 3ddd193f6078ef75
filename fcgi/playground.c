/* playground.c - serves the built-in playground page and the project's examples. */
#include "playground.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "examples.h"
#include "log.h"
#include "playground_assets.h"

/* The page talks only to its own origin; outputs may be URLs elsewhere (an
 * upload storage), so media may come from anywhere, scripts never. */
#define PAGE_HEADERS                                                                       \
    "Cache-Control: no-cache\r\n"                                                          \
    "X-Content-Type-Options: nosniff\r\n"                                                  \
    "Content-Security-Policy: default-src 'self'; img-src * data: blob:; "                 \
    "media-src * data: blob:; connect-src 'self'; script-src 'self'; style-src 'self'; "   \
    "object-src 'none'; base-uri 'none'; frame-ancestors 'self'\r\n"

/* The q value of one media range's parameters (";q=0.5;level=1"); 1 when absent. */
static double q_of(const char *params, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (params[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && params[j] == ' ')
            j++;
        if (j + 1 < len && (params[j] == 'q' || params[j] == 'Q') && params[j + 1] == '=')
            return atof(params + j + 2);
    }
    return 1.0;
}

int cf_playground_wants_page(const char *accept)
{
    double q_html = 0, q_json = 0;
    const char *p = accept;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t type_len = strcspn(p, ";, ");
        if (type_len > len)
            type_len = len;
        double q = q_of(p + type_len, len - type_len);
        if (type_len == 9 && strncasecmp(p, "text/html", 9) == 0 && q > q_html)
            q_html = q;
        else if (type_len == 16 && strncasecmp(p, "application/json", 16) == 0 && q > q_json)
            q_json = q;
        p += len;
    }
    return q_html > 0 && q_html > q_json;
}

static const cf_asset *asset_get(const char *name)
{
    for (size_t i = 0; i < cf_playground_asset_count; i++) {
        if (strcmp(cf_playground_assets[i].name, name) == 0)
            return &cf_playground_assets[i];
    }
    return NULL;
}

/* For HEAD too the whole answer is written: the web server drops the body.
 * vary: the URL also answers JSON (/), so caches must key on Accept. */
static void send_asset(cf_request *req, const cf_asset *a, int vary)
{
    cf_respond_raw(req, 200, a->type, a->data, a->len,
                   vary ? PAGE_HEADERS "Vary: Accept\r\n" : PAGE_HEADERS);
}

void cf_playground_page(cf_app *app, cf_request *req)
{
    (void)app;
    const cf_asset *a = asset_get("index.html");
    if (a == NULL) {
        cf_respond_detail(req, 500, "the playground was built without its page");
        return;
    }
    send_asset(req, a, 1);
}

/* GET /playground/examples.json: read on each request, so that an example
 * recorded with `cog-fcgi predict --save-example` shows without a restart. */
static void send_examples(cf_app *app, cf_request *req)
{
    cf_error err;
    cf_error_clear(&err);
    json_t *doc = app->project_dir ? cf_examples_load(app->project_dir, &err)
                                   : json_pack("{s:[]}", "examples");
    if (doc == NULL) {
        cf_log_warn("CF1301", "playground examples not shown: %s", err.msg);
        cf_respond_detail(req, 500, err.msg);
        return;
    }
    cf_respond_json(req, 200, doc, "Cache-Control: no-cache\r\n");
    json_decref(doc);
}

/* Answers path when it is one of ours exactly; 1 if answered. */
static int route_exact(cf_app *app, cf_request *req, const char *path)
{
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    const cf_asset *a = NULL;
    if (strcmp(path, "/docs") == 0) {
        a = asset_get("index.html");
    } else if (strcmp(path, "/playground/examples.json") == 0) {
        if (get)
            send_examples(app, req);
    } else if (strncmp(path, "/playground/", 12) == 0 && strcmp(path + 12, "index.html") != 0) {
        a = asset_get(path + 12);
        if (a == NULL)
            return 0;
    } else {
        return 0;
    }
    if (!get) {
        json_t *body = json_pack("{s:s}", "detail", "Method Not Allowed");
        cf_respond_json(req, 405, body, "Allow: GET\r\n");
        json_decref(body);
    } else if (a) {
        send_asset(req, a, 0);
    }
    return 1;
}

int cf_playground_route(cf_app *app, cf_request *req)
{
    if (app->playground_off)
        return 0;
    /* As routes.c does for Cog's routes: the whole path, then each suffix
     * after a '/', so a mount prefix needs no configuration. */
    if (route_exact(app, req, req->path))
        return 1;
    for (const char *p = req->path + 1; *p; p++) {
        if (*p == '/' && route_exact(app, req, p))
            return 1;
    }
    return 0;
}
