/* stream_handler.c - event-stream responses (Cog's SSE, Replicate's stream) and urls. */
#include "stream_handler.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "record_stream.h"
#include "sse.h"

int cf_stream_wanted(const cf_request *req)
{
    return cf_sse_accepts(req->accept);
}

/* 1 when the web server closed the FastCGI connection or aborted the
 * request (the client hung up), as predict_handler.c's client_gone. */
static int stream_client_gone(cf_request *req)
{
    struct pollfd pfd = {.fd = req->fcgx->ipcFd, .events = POLLIN | POLLRDHUP};
    if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
        return 0;
    return (pfd.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Writes s's events to the client until the stream ends or the client
 * leaves, with a keep-alive comment whenever nothing was sent for the
 * keep-alive interval. The head has been written. */
static void pump(cf_stream *s, cf_request *req)
{
    double keepalive = cf_sse_keepalive_interval();
    double quiet_since = cf_monotonic();
    for (;;) {
        char *text = NULL;
        size_t len = 0;
        /* short waits: a client that hangs up is noticed within 100 ms */
        int rc = cf_stream_poll(s, 0.1, &text, &len);
        if (rc < 0)
            return;
        if (rc > 0) {
            int w = FCGX_PutStr(text, (int)len, req->fcgx->out) == (int)len &&
                    FCGX_FFlush(req->fcgx->out) == 0;
            free(text);
            if (!w)
                return;
            quiet_since = cf_monotonic();
            continue;
        }
        if (stream_client_gone(req))
            return;
        if (cf_monotonic() - quiet_since >= keepalive) {
            if (cf_sse_comment(req->fcgx->out, "keep-alive") != 0)
                return;
            quiet_since = cf_monotonic();
        }
    }
}

/* Opens, writes the head, pumps, closes. */
static void serve(cf_app *app, cf_request *req, cf_prediction *p, cf_stream_format format,
                  int replay, long long resume_after, int creator)
{
    cf_stream s;
    int rc = cf_stream_open(&s, app->runner, p, format, replay, cf_stream_history_capacity(),
                            resume_after, creator);
    if (rc != CF_OK) {
        json_t *body = json_pack("{s:s}", "error",
                                 rc == CF_EBUSY ? "Too many stream subscribers"
                                                : "Prediction stream unavailable");
        cf_respond_json(req, rc == CF_EBUSY ? 429 : 500, body, NULL);
        json_decref(body);
        return;
    }
    if (cf_sse_begin(req->fcgx->out, NULL) == 0)
        pump(&s, req);
    cf_stream_close(&s);
}

/* A sync prediction the request thread would run itself (runner.h's
 * direct path) is run by a helper thread here: the request thread writes
 * the events meanwhile. */
typedef struct direct_run {
    cf_runner *runner;
    cf_prediction *p;
} direct_run;

static int never_gone(void *ctx)
{
    (void)ctx;
    return 0; /* the stream's end cancels it (cf_stream_close) */
}

static void *direct_main(void *arg)
{
    direct_run *d = arg;
    cf_runner_run_direct(d->runner, d->p, never_gone, NULL, NULL, NULL);
    cf_prediction_decref(d->p);
    free(d);
    return NULL;
}

void cf_stream_created(cf_app *app, cf_request *req, cf_prediction *p)
{
    direct_run *d = malloc(sizeof *d);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    if (d) {
        d->runner = app->runner;
        d->p = p;
        cf_prediction_incref(p);
    }
    if (d == NULL || pthread_create(&t, &attr, direct_main, d) != 0) {
        pthread_attr_destroy(&attr);
        if (d) {
            cf_prediction_decref(p);
            free(d);
        }
        cf_log_error("CF1003", "cannot start a thread for the stream of %s", p->id);
        cf_runner_cancel(app->runner, p->id);
        cf_respond_detail(req, 500, "cannot start the prediction's stream");
        return;
    }
    pthread_attr_destroy(&attr);
    serve(app, req, p, CF_STREAM_COG, 0, -1, 1);
}

void cf_stream_attach(cf_app *app, cf_request *req, cf_prediction *p)
{
    serve(app, req, p, CF_STREAM_COG, 1, -1, 0);
}

void cf_handle_stream(cf_app *app, cf_request *req, const char *id)
{
    if (!cf_stream_wanted(req)) {
        cf_respond_detail(req, 406, "the stream URL answers Accept: text/event-stream only");
        return;
    }
    cf_prediction *p = cf_runner_find(app->runner, id);
    if (p == NULL) {
        cf_respond_detail(req, 404, "Not Found");
        return;
    }
    const char *last = FCGX_GetParam("HTTP_LAST_EVENT_ID", req->fcgx->envp);
    serve(app, req, p, CF_STREAM_REPLICATE, 1, cf_sse_last_event_id(last), 0);
    cf_prediction_decref(p);
}

void cf_stream_refuse(cf_request *req)
{
    json_t *body = json_pack("{s:s}", "error",
                             "Training endpoints do not support streaming responses.");
    cf_respond_json(req, 406, body, NULL);
    json_decref(body);
}

/* ---- urls --------------------------------------------------------------- */

/* scheme://host[:port] of the request, as the client used it. */
static void request_origin(const cf_request *req, char *buf, size_t len)
{
    char **env = req->fcgx->envp;
    const char *https = FCGX_GetParam("HTTPS", env);
    const char *scheme = FCGX_GetParam("REQUEST_SCHEME", env);
    if (scheme == NULL || *scheme == '\0')
        scheme = https && *https && strcmp(https, "off") != 0 ? "https" : "http";
    const char *host = FCGX_GetParam("HTTP_HOST", env);
    const char *name = FCGX_GetParam("SERVER_NAME", env);
    const char *port = FCGX_GetParam("SERVER_PORT", env);
    /* Debian's fastcgi_params sends HTTP_HOST as nginx's $host, without the
     * port: add SERVER_PORT back unless it is the scheme's own */
    int default_port = port == NULL || *port == '\0' ||
                       strcmp(port, strcmp(scheme, "https") == 0 ? "443" : "80") == 0;
    if (host && *host) {
        int has_port = strchr(host, ']') ? strstr(host, "]:") != NULL : strchr(host, ':') != NULL;
        snprintf(buf, len, "%s://%s%s%s", scheme, host, has_port || default_port ? "" : ":",
                 has_port || default_port ? "" : port);
        return;
    }
    if (default_port)
        port = NULL;
    snprintf(buf, len, "%s://%s%s%s", scheme, name && *name ? name : "localhost",
             port && *port ? ":" : "", port && *port ? port : "");
}

void cf_stream_add_urls(json_t *obj, const cf_request *req, const char *id, int training)
{
    const char *coll = training ? "/trainings" : "/predictions";
    char origin[512], base[1536];
    request_origin(req, origin, sizeof origin);
    /* the mount prefix: what the path has before the collection */
    const char *at = strstr(req->path, coll);
    int prefix = at ? (int)(at - req->path) : 0;
    snprintf(base, sizeof base, "%s%.*s%s/%s", origin, prefix, req->path, coll, id);
    char get[1600], cancel[1600], stream[1600];
    snprintf(get, sizeof get, "%s", base);
    snprintf(cancel, sizeof cancel, "%s/cancel", base);
    snprintf(stream, sizeof stream, "%s/stream", base);
    json_object_set_new(obj, "urls",
                        json_pack("{s:s, s:s, s:s}", "get", get, "cancel", cancel, "stream", stream));
}

/* ---- Prefer: wait -------------------------------------------------------- */

void cf_stream_wait_respond(cf_app *app, cf_request *req, cf_prediction *p, double seconds,
                            int training, int (*client_gone)(void *))
{
    double until = cf_monotonic() + seconds;
    int gone = 0;
    cf_runner_lock(app->runner);
    while (!cf_prediction_is_terminal(p) && !gone) {
        double left = until - cf_monotonic();
        if (left <= 0)
            break;
        cf_runner_wait_change(app->runner, p, left < 0.1 ? left : 0.1);
        if (cf_prediction_is_terminal(p))
            break;
        cf_runner_unlock(app->runner);
        gone = client_gone(req);
        cf_runner_lock(app->runner);
    }
    json_t *body = cf_prediction_to_json(p);
    cf_runner_unlock(app->runner);
    if (gone) {
        json_decref(body); /* nobody to answer; it runs on, as async ones do */
        return;
    }
    cf_stream_add_urls(body, req, p->id, training);
    char headers[1700];
    snprintf(headers, sizeof headers, "Location: %s\r\n",
             json_string_value(json_object_get(json_object_get(body, "urls"), "get")));
    cf_respond_json(req, 201, body, headers);
    json_decref(body);
}
