/* stream_handler.h - the HTTP side of event streams and of Replicate's urls.
 *
 * Cog's SSE answers POST /predictions and PUT /predictions/{id} when the
 * request says Accept: text/event-stream (predict_handler.c hands them
 * here); Replicate's stream is GET /predictions/{id}/stream. Each stream
 * holds its request thread, writing one flushed FastCGI record per event.
 */
#ifndef CF_STREAM_HANDLER_H
#define CF_STREAM_HANDLER_H

#include "app.h"
#include "http.h"
#include "prediction.h"

/* 1 when the request asks for an event stream (Accept: text/event-stream). */
int cf_stream_wanted(const cf_request *req);

/* Streams p, just accepted by cf_runner_submit for this request, in Cog's
 * format from its first event; its last subscriber leaving cancels it. */
void cf_stream_created(cf_app *app, cf_request *req, cf_prediction *p);

/* PUT of a queued or running id with Accept: text/event-stream: streams p
 * in Cog's format, replaying its history first (COG_STREAM_HISTORY_CAPACITY). */
void cf_stream_attach(cf_app *app, cf_request *req, cf_prediction *p);

/* GET /predictions/{id}/stream: Replicate's event stream, resumed after
 * Last-Event-ID. */
void cf_handle_stream(cf_app *app, cf_request *req, const char *id);

/* Adds Replicate's "urls" (get, cancel, stream; absolute, from the
 * request's scheme, host and mount prefix) as the last key of obj. */
void cf_stream_add_urls(json_t *obj, const cf_request *req, const char *id, int training);

/* Prefer: wait=seconds on p, accepted as an async prediction: holds the
 * request until p ends or the time is up (or client_gone(req) says the
 * client left: then nothing is answered and p runs on), then answers 201
 * with p as it stands, its urls, and Location: urls.get. */
void cf_stream_wait_respond(cf_app *app, cf_request *req, cf_prediction *p, double seconds,
                            int training, int (*client_gone)(void *));

/* The 406 Cog 0.22 answers to a /trainings request that asks for a stream,
 * before it looks at the body. */
void cf_stream_refuse(cf_request *req);

#endif
