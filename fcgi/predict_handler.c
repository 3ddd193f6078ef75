/* predict_handler.c - POST /predictions and PUT /predictions/{id} (and
 * the same for /trainings): body, validation, queueing, sync or async. */
#include "handlers.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "clock.h"
#include "intake.h"
#include "log.h"
#include "prefer.h"
#include "server.h"
#include "stream_handler.h"
#include "strcopy.h"

/* 1 when the web server closed the FastCGI connection or sent anything
 * more on it (FCGI_ABORT_REQUEST: the whole request was read already), as
 * nginx and Apache do when the HTTP client hangs up. */
static int client_gone(void *ctx)
{
    cf_request *req = ctx;
    struct pollfd pfd = {.fd = req->fcgx->ipcFd, .events = POLLIN | POLLRDHUP};
    if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
        return 0;
    return (pfd.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* How long a request that arrives during setup waits for it when there is
 * no --setup-timeout (with one, it waits as long as setup may take). */
#define CF_SETUP_WAIT_MAX 300.0

/* A sync request while its prediction runs or waits for a slot: on the
 * heap, so that it can wait without its thread (runner.h's cf_parked). */
struct sync_request {
    cf_parked park;
    cf_request *req; /* detached (cf_server_detach) */
    char id[128];
    int want_urls, training;
};

/* The answers short enough to be written from the record as text; longer
 * ones (a data URI) are streamed from their json_t. A few kilobytes: the
 * text is written under the runner's lock. */
#define CF_SYNC_TEXT_MAX 8192

/* Answers 200 with the prediction as it ended (nothing for a client that
 * went away) and releases the answer. */
static void respond_answer(cf_request *req, cf_answer *a, int gone, int want_urls,
                           const char *id, int training)
{
    if (!gone && a->text) {
        cf_respond_raw(req, 200, "application/json", a->text, a->len, NULL);
    } else if (!gone && a->json == NULL) {
        cf_respond_detail(req, 500, "out of memory");
    } else if (!gone) {
        if (want_urls && a->json)
            cf_stream_add_urls(a->json, req, id, training);
        cf_respond_json(req, 200, a->json, NULL);
    }
    free(a->text);
    json_decref(a->json);
}

static void answer_sync(cf_parked *park, cf_answer *final, int gone)
{
    struct sync_request *sr = (struct sync_request *)park;
    respond_answer(sr->req, final, gone, sr->want_urls, sr->id, sr->training);
    cf_server_finish_detached(sr->req);
    free(sr);
}

/* Runs p for req (its thread may go before p gets a slot) and answers. */
static void run_sync(cf_app *app, cf_request *req, cf_prediction *p, int want_urls,
                     int training)
{
    /* Replicate's urls are added to the object: no text then */
    cf_answer done = {.text_max = want_urls ? 0 : CF_SYNC_TEXT_MAX};
    struct sync_request *sr = calloc(1, sizeof *sr);
    cf_request *held = sr ? cf_server_detach(req) : NULL;
    if (held == NULL) {
        /* out of memory: this thread waits for it as it always could */
        free(sr);
        int gone = cf_runner_run_direct(app->runner, p, client_gone, req, &done, NULL);
        respond_answer(req, &done, gone, want_urls, p->id, training);
        return;
    }
    *sr = (struct sync_request){.park = {.client_gone = client_gone, .ctx = held,
                                         .finish = answer_sync, .text_max = done.text_max},
                                .req = held, .want_urls = want_urls, .training = training};
    cf_strcopy(sr->id, sizeof sr->id, p->id);
    int rc = cf_runner_run_direct(app->runner, p, client_gone, held, &done, &sr->park);
    if (rc != CF_RUN_PARKED)
        answer_sync(&sr->park, &done, rc != 0);
}

static void respond_details(cf_request *req, json_t *details)
{
    json_t *body = json_pack("{s:O}", "detail", details);
    cf_respond_json(req, 422, body, NULL);
    json_decref(body);
}

static void respond_prediction(cf_app *app, cf_request *req, int status, cf_prediction *p)
{
    json_t *body = cf_runner_prediction_json(app->runner, p);
    cf_respond_json(req, status, body, NULL);
    json_decref(body);
}

/* Status for a failed submit: the one table from our errors to HTTP. */
static int submit_status(int code)
{
    switch (code) {
    case CF_EBUSY: return 409;
    case CF_EUNAVAIL: return 503;
    case CF_EINVAL: return 422;
    case CF_ETOOBIG: return 413;
    }
    return 500;
}

/* Waits (bounded) for the worker's setup() to end. 0 when it did; -1 when the
 * request was answered (503: still starting) or its client went away. */
static int wait_for_setup(cf_app *app, cf_request *req)
{
    int waited = cf_runner_wait_ready_for(app->runner, CF_SETUP_WAIT_MAX, client_gone, req);
    if (waited == -1)
        cf_respond_detail(req, 503, "the model is still starting: setup() has not finished");
    return waited == 0 ? 0 : -1; /* -2: nobody to answer */
}

void cf_handle_predict(cf_app *app, cf_request *req, int training, const char *put_id)
{
    cf_error err;
    json_t *details = json_array();
    json_t *body = NULL;
    json_t *schema = NULL;
    cf_prediction *p = NULL;
    cf_error_clear(&err);

    /* Accept: text/event-stream (stream_handler.h); Cog refuses it on
     * /trainings before anything else */
    int sse = cf_stream_wanted(req);
    if (sse && training) {
        cf_stream_refuse(req);
        goto out;
    }
    if (req->body_too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "Request body is larger than the limit of %zu bytes",
                 app->max_body);
        cf_respond_detail(req, 413, msg);
        goto out;
    }
    if (req->form && req->form_error.code) { /* multipart/form-data (multipart.h) */
        cf_respond_detail(req, req->form_error.code == CF_EINVAL ? 400 : 500, req->form_error.msg);
        goto out;
    } else if (req->form) {
        body = NULL; /* typed by the schema, below */
    } else if (cf_body_parse(req->body, req->body_len, req->content_type, put_id != NULL, &body,
                      details, &err) != CF_OK) {
        if (json_array_size(details) > 0)
            respond_details(req, details);
        else if (err.code == CF_ENOMEM)
            cf_respond_detail(req, 500, err.msg);
        else
            cf_respond_detail(req, 400, CF_BODY_PARSE_ERROR);
        goto out;
    }
    /* The parsed body holds everything now: the raw bytes (up to --max-body) go. */
    free(req->body);
    req->body = NULL;
    req->body_len = 0;
    if (put_id) {
        const json_t *bid = json_object_get(body, "id");
        if (json_is_string(bid) && strcmp(json_string_value(bid), put_id) != 0) {
            json_array_append_new(
                details, json_pack("{s:[s,s], s:s, s:s}", "loc", "body", "id", "msg",
                                   training ? "training ID must match the ID supplied in the URL"
                                            : "prediction ID must match the ID supplied in the URL",
                                   "type", "value_error"));
            respond_details(req, details);
            goto out;
        }
        /* idempotent: an id that is queued or running answers its state */
        cf_prediction *existing = cf_runner_find(app->runner, put_id);
        if (existing) {
            cf_runner_lock(app->runner);
            int active = !cf_prediction_is_terminal(existing);
            cf_runner_unlock(app->runner);
            if (active && sse) {
                cf_stream_attach(app, req, existing);
                cf_prediction_decref(existing);
                goto out;
            }
            if (active) {
                respond_prediction(app, req, 202, existing);
                cf_prediction_decref(existing);
                goto out;
            }
            cf_prediction_decref(existing);
        }
    }

    /* The schema comes from the worker; a request that arrives during
     * setup waits for it rather than being refused. Once the worker's early
     * schema frame is in, the input is validated first (a 422 does not wait
     * for setup) and only a valid one waits, below. */
    int ready = 0;
    schema = cf_runner_schema(app->runner, training, &ready, &err);
    if (ready == 0 && schema == NULL) {
        if (wait_for_setup(app, req) != 0)
            goto out;
        json_decref(schema);
        schema = cf_runner_schema(app->runner, training, &ready, &err);
    }
    if (ready < 0) {
        cf_respond_detail(req, 503, err.msg);
        goto out;
    }
    if (schema == NULL) {
        cf_respond_detail(req, 503, "the model's schema is not available");
        goto out;
    }

    if (req->form && (body = cf_form_to_body(req->form, schema)) == NULL) {
        cf_respond_detail(req, 500, "out of memory");
        goto out;
    }
    p = cf_intake(schema, body, put_id, details, &err);
    if (p == NULL) {
        if (err.code == CF_EINVAL && json_array_size(details) > 0)
            respond_details(req, details);
        else
            cf_respond_detail(req, 500, err.msg);
        goto out;
    }
    p->is_training = training;
    /* The web server's authenticated user (auth_basic, Apache auth) reaches
     * the model as current_scope().context["remote_user"]; a client cannot
     * set it itself. */
    if (p->context)
        json_object_del(p->context, "remote_user");
    if (req->remote_user && *req->remote_user) {
        if (p->context == NULL)
            p->context = json_object();
        json_object_set_new(p->context, "remote_user", json_string(req->remote_user));
    }
    p->is_async = cf_prefer_respond_async(req->prefer);
    /* Replicate's Prefer: wait: held up to N s, then answered as it stands;
     * it goes on running, as an async prediction does. respond-async wins
     * over it (the conformance kit's "respond-async, wait=5" is a 202), SSE
     * over both. */
    double wait_s = 0;
    int wait = !sse && !p->is_async && cf_prefer_wait(req->prefer, &wait_s);
    if (wait)
        p->is_async = 1;
    if (sse)
        p->is_async = 0;
    /* output_file_prefix is for sync predictions only, as in Cog */
    const char *ofp = json_string_value(json_object_get(body, "output_file_prefix"));
    if (ofp && *ofp && !p->is_async) {
        p->upload_prefix = strdup(ofp);
        p->upload_multipart = 1;
    }
    if (req->traceparent)
        p->traceparent = strdup(req->traceparent);
    if (req->tracestate)
        p->tracestate = strdup(req->tracestate);
    if (req->cancel_after) {
        double secs;
        if (cf_parse_duration(req->cancel_after, &secs) != 0) {
            cf_respond_detail(req, 400, "Cancel-After must be a duration such as 30s or 5m");
            goto out;
        }
        p->deadline = cf_monotonic() + secs;
    }

    if (ready == 0) {
        if (wait_for_setup(app, req) != 0)
            goto out;
        json_decref(cf_runner_schema(app->runner, training, &ready, &err));
        if (ready < 0) {
            cf_respond_detail(req, 503, err.msg);
            goto out;
        }
    }

    json_t *accepted = NULL;
    if (cf_runner_submit(app->runner, p, p->is_async ? &accepted : NULL, &err) != CF_OK) {
        cf_respond_detail(req, submit_status(err.code), err.msg);
        goto out;
    }
    cf_form_keep(req->form); /* its spooled files are the prediction's now */
    if (sse) {
        cf_stream_created(app, req, p);
        json_decref(accepted);
        goto out;
    }
    if (wait) {
        json_decref(accepted);
        cf_stream_wait_respond(app, req, p, wait_s, training, client_gone);
        goto out;
    }
    /* Replicate's client asks {"stream": true}: it gets the urls */
    int want_urls = json_is_true(json_object_get(body, "stream"));
    if (p->is_async) {
        if (want_urls)
            cf_stream_add_urls(accepted, req, p->id, training);
        cf_respond_json(req, 202, accepted, NULL);
        json_decref(accepted);
        goto out;
    }
    run_sync(app, req, p, want_urls, training); /* a client that went away gets nothing */

out:
    cf_prediction_decref(p);
    json_decref(schema);
    json_decref(body);
    json_decref(details);
}
