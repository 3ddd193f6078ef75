/* queue_message.h - one Redis Stream entry as a prediction request (Cog's queue format).
 *
 * A producer adds `XADD STREAM * value JSON`, as Cog's Redis queue worker
 * read it (until 2023): JSON is the prediction request (input, id,
 * webhook, webhook_events_filter, created_at, context) plus the queue's own
 * keys:
 *   cancel_key       the prediction is canceled once this Redis key exists
 *   response_queue   every state is RPUSHed to this list (Cog up to 0.3)
 *   response_key     every state is SET on this key, latest wins (what Cog 0.4
 *                    did with response_queue)
 *   response_stream  every state is XADDed to this stream as field value
 *   traceparent      W3C trace context, passed on to webhooks
 * Each state written is the prediction object of the HTTP API, as JSON.
 */
#ifndef CF_QUEUE_MESSAGE_H
#define CF_QUEUE_MESSAGE_H

#include <jansson.h>

#include "error.h"

typedef struct cf_queue_message {
    json_t *body;          /* the request object, owned */
    char id[128];          /* the body's "id", else "q" + the entry id */
    char *cancel_key;      /* owned strings, NULL when absent */
    char *response_queue;
    char *response_key;
    char *response_stream;
    char *traceparent;
} cf_queue_message;

/* Parses the value field of stream entry entry_id into m (which the
 * caller cleans up whatever the result). m->id is set first, from the
 * entry id, so that a message refused later can still be recorded done.
 * CF_EINVAL with the reason when value is not a JSON object, a queue key
 * is not a string, or the id is empty or too long; CF_ENOMEM. */
int cf_queue_message_parse(const char *entry_id, const char *value, cf_queue_message *m,
                           cf_error *err);
void cf_queue_message_cleanup(cf_queue_message *m);

#endif
