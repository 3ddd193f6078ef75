/* store.h - every prediction the front knows, by id.
 *
 * Not thread-safe by itself: callers hold the runner lock. The store holds
 * one reference to each record. Finished records stay findable (for GET
 * /predictions/{id}) until more than `keep_finished` have finished after
 * them; then the oldest are forgotten.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <stddef.h>

#include "prediction.h"

typedef struct cf_store cf_store;

cf_store *cf_store_new(size_t keep_finished);
void cf_store_free(cf_store *s);

/* Adds p (the store takes its own reference). A record with the same id is
 * replaced. 0 or CF_ENOMEM. */
int cf_store_put(cf_store *s, cf_prediction *p);
/* Borrowed pointer or NULL. */
cf_prediction *cf_store_get(cf_store *s, const char *id);
/* Tells the store p reached a terminal state, so it may be evicted later. */
void cf_store_finished(cf_store *s, cf_prediction *p);
size_t cf_store_count(const cf_store *s);

#endif
