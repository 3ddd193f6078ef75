/* store.c - an id -> record hash table with eviction of old finished records. */
#include "store.h"

#include "hash.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    cf_prediction *p;
} entry;

struct cf_store {
    entry **buckets;
    size_t nbuckets;
    size_t count;
    /* ring of ids of finished records, oldest first */
    char (*finished)[128];
    size_t keep;
    size_t fin_head;
    size_t fin_len;
};


cf_store *cf_store_new(size_t keep_finished)
{
    cf_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->nbuckets = 4096;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    s->keep = keep_finished ? keep_finished : 1;
    s->finished = calloc(s->keep, sizeof *s->finished);
    if (s->buckets == NULL || s->finished == NULL) {
        cf_store_free(s);
        return NULL;
    }
    return s;
}

void cf_store_free(cf_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
        entry *e = s->buckets[i];
        while (e) {
            entry *next = e->next;
            cf_prediction_decref(e->p);
            free(e);
            e = next;
        }
    }
    free(s->buckets);
    free(s->finished);
    free(s);
}

static void remove_id(cf_store *s, const char *id)
{
    entry **pp = &s->buckets[cf_hash_string(id) % s->nbuckets];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->p->id, id) == 0) {
            entry *e = *pp;
            *pp = e->next;
            cf_prediction_decref(e->p);
            free(e);
            s->count--;
            return;
        }
    }
}

int cf_store_put(cf_store *s, cf_prediction *p)
{
    entry *e = malloc(sizeof *e);
    if (e == NULL)
        return CF_ENOMEM;
    remove_id(s, p->id);
    cf_prediction_incref(p);
    e->p = p;
    size_t b = cf_hash_string(p->id) % s->nbuckets;
    e->next = s->buckets[b];
    s->buckets[b] = e;
    s->count++;
    return CF_OK;
}

cf_prediction *cf_store_get(cf_store *s, const char *id)
{
    for (entry *e = s->buckets[cf_hash_string(id) % s->nbuckets]; e; e = e->next)
        if (strcmp(e->p->id, id) == 0)
            return e->p;
    return NULL;
}

void cf_store_finished(cf_store *s, cf_prediction *p)
{
    if (s->fin_len == s->keep) {
        const char *oldest = s->finished[s->fin_head];
        cf_prediction *old = cf_store_get(s, oldest);
        /* Only evict if that id still names a finished record: a re-run
         * with the same id may be in flight. */
        if (old && cf_prediction_is_terminal(old))
            remove_id(s, oldest);
        s->fin_head = (s->fin_head + 1) % s->keep;
        s->fin_len--;
    }
    size_t slot = (s->fin_head + s->fin_len) % s->keep;
    snprintf(s->finished[slot], sizeof s->finished[slot], "%s", p->id);
    s->fin_len++;
}

size_t cf_store_count(const cf_store *s)
{
    return s->count;
}
