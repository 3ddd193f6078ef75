/* handlers.c - index, health, schema, shutdown, get and cancel handlers. */
#include "handlers.h"

#include "queue.h"

#include <string.h>

#include "playground.h"

void cf_handle_index(cf_app *app, cf_request *req)
{
    /* A browser gets the playground; API clients (JSON, any type, no Accept) get Cog's
     * document unchanged. */
    if (!app->playground_off && cf_playground_wants_page(req->accept)) {
        cf_playground_page(app, req);
        return;
    }
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "cog_version", "0.15.5", "docs_url",
        "/docs", "openapi_url", "/openapi.json", "shutdown_url", "/shutdown", "healthcheck_url",
        "/health-check", "predictions_url", "/predictions", "predictions_idempotent_url",
        "/predictions/{prediction_id}", "predictions_cancel_url",
        "/predictions/{prediction_id}/cancel");
    if (app->has_train) {
        json_object_set_new(body, "trainings_url", json_string("/trainings"));
        json_object_set_new(body, "trainings_idempotent_url",
                            json_string("/trainings/{training_id}"));
        json_object_set_new(body, "trainings_cancel_url",
                            json_string("/trainings/{training_id}/cancel"));
    }
    cf_respond_json(req, 200, body, app->playground_off ? NULL : "Vary: Accept\r\n");
    json_decref(body);
}

void cf_handle_health(cf_app *app, cf_request *req)
{
    json_t *body = cf_runner_health_json(app->runner);
    if (body && app->queue) /* beside Cog's keys, only in queue mode */
        json_object_set_new(body, "queue", cf_queue_health_json(app->queue));
    cf_respond_json(req, 200, body, NULL);
    json_decref(body);
}

void cf_handle_openapi(cf_app *app, cf_request *req)
{
    json_t *doc = cf_runner_openapi(app->runner);
    if (doc == NULL) {
        cf_respond_detail(req, 503, "The model's schema is not known yet: the predictor is "
                                    "still loading or could not be loaded (see /health-check)");
        return;
    }
    cf_respond_json(req, 200, doc, NULL);
    json_decref(doc);
}

void cf_handle_shutdown(cf_app *app, cf_request *req)
{
    json_t *body = json_object();
    cf_respond_json(req, 200, body, NULL);
    json_decref(body);
    if (app->request_shutdown)
        app->request_shutdown();
}

void cf_handle_get(cf_app *app, cf_request *req, const char *id)
{
    cf_prediction *p = cf_runner_find(app->runner, id);
    if (p == NULL) {
        cf_respond_detail(req, 404, "Not Found");
        return;
    }
    json_t *body = cf_runner_prediction_json(app->runner, p);
    cf_respond_json(req, 200, body, NULL);
    json_decref(body);
    cf_prediction_decref(p);
}

void cf_handle_cancel(cf_app *app, cf_request *req, const char *id)
{
    json_t *body = json_object();
    int rc = cf_runner_cancel(app->runner, id);
    cf_respond_json(req, rc == 0 ? 200 : 404, body, NULL);
    json_decref(body);
}
