/* webhook.h - delivering webhooks from the front, off the request threads.
 *
 * A small pool of sender threads POSTs queued bodies with libcurl. Each
 * receiver (a URL's host:port) has its own FIFO queue and may hold at most
 * a quarter of the senders (at least one) at once, so a slow or dead
 * receiver delays only the predictions aimed at it; the others go on. A
 * prediction's webhooks go one at a time, in order (start, outputs,
 * completed); different predictions' go in parallel. A terminal webhook that fails (connection error, timeout, 429,
 * 500, 502, 503, 504) is retried with Cog's exponential backoff, parked
 * beside its receiver's queue, so deliveries behind it go on meanwhile;
 * other events are sent once. A queued output/logs webhook not yet sent is
 * replaced by a newer one of the same prediction (each carries the whole
 * prediction), so a slow receiver's queue holds at most its start, one
 * update and its completed webhook per prediction, and gets the latest state.
 *
 * With the default 8 senders, three receivers can hang at once without
 * delaying the others.
 * With a secret every attempt is signed (webhook_sign.h).
 */
#ifndef CF_WEBHOOK_H
#define CF_WEBHOOK_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"

#define CF_WEBHOOK_TIMEOUT_DEFAULT 30.0 /* seconds per attempt */
#define CF_WEBHOOK_WORKERS_DEFAULT 8

typedef struct cf_webhook_config {
    double timeout_s;   /* per attempt, > 0 */
    int workers;        /* sender threads, 1..64 */
    const char *secret; /* "whsec_<base64>" to sign, or NULL; copied */
} cf_webhook_config;

typedef struct cf_webhooks cf_webhooks;

/* Fills cfg with the defaults (30 s, 8 senders, no secret). */
void cf_webhook_config_init(cf_webhook_config *cfg);

/* Checks cfg and makes it what cf_webhooks_new uses: main calls it once
 * with the command line's values, before the runner starts. CF_EINVAL with
 * the reason (a timeout <= 0, workers out of range, a secret that is not
 * whsec_<base64>), CF_EIO when a secret is given and libcrypto cannot be
 * loaded. On failure the previous settings stay. */
int cf_webhooks_configure(const cf_webhook_config *cfg, cf_error *err);

/* Starts the senders with the settings of cf_webhooks_configure (the
 * defaults without it). NULL with err set on failure. */
cf_webhooks *cf_webhooks_new(cf_error *err);
/* The same with explicit settings (checked as cf_webhooks_configure does). */
cf_webhooks *cf_webhooks_new_config(const cf_webhook_config *cfg, cf_error *err);
/* Stops the senders after at most `drain_seconds` spent on what is queued
 * (an attempt under way finishes first, bounded by its timeout). */
void cf_webhooks_free(cf_webhooks *w, double drain_seconds);

/* Queues body (stolen) for url. traceparent/tracestate may be NULL. done,
 * if not NULL, is called once from a sender thread (without any lock of
 * ours) when the delivery is over: delivered = 1 when the receiver took it,
 * 0 when it was given up, out of memory included. It is never called from
 * inside cf_webhooks_send (the caller may hold its own lock), and not for
 * deliveries dropped at shutdown. */
void cf_webhooks_send(cf_webhooks *w, const char *url, json_t *body, int terminal,
                      const char *traceparent, const char *tracestate,
                      void (*done)(void *ctx, int delivered), void *done_ctx);

/* The receiver a URL's webhooks queue for: "host:port" in lower case
 * (default port by scheme, IPv6 in brackets, user info dropped), or the
 * whole URL when it has no recognisable authority. Writes at most len bytes
 * (truncated, NUL-terminated). */
void cf_webhook_receiver_key(const char *url, char *out, size_t len);

#endif
