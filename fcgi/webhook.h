/* webhook.h - delivering webhooks from the front, off the request threads.
 *
 * One sender thread POSTs queued bodies with libcurl in order. A terminal
 * webhook that fails (connection error, 429, 500, 502, 503, 504) is retried
 * with exponential backoff, as Cog does; other events are sent once.
 */
#ifndef CF_WEBHOOK_H
#define CF_WEBHOOK_H

#include <jansson.h>

#include "error.h"

typedef struct cf_webhooks cf_webhooks;

/* Starts the sender thread. NULL with err set on failure. */
cf_webhooks *cf_webhooks_new(cf_error *err);
/* Stops the sender after at most `drain_seconds` spent on what is queued. */
void cf_webhooks_free(cf_webhooks *w, double drain_seconds);

/* Queues body (stolen) for url. traceparent/tracestate may be NULL. done,
 * if not NULL, is called once from the sender thread (without its lock)
 * when the delivery is over: delivered = 1 when the receiver took it, 0 when
 * it was given up. It is not called for deliveries dropped at shutdown. */
void cf_webhooks_send(cf_webhooks *w, const char *url, json_t *body, int terminal,
                      const char *traceparent, const char *tracestate,
                      void (*done)(void *ctx, int delivered), void *done_ctx);

#endif
