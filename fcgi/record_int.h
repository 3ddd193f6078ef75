/* record_int.h - what record.c (index, verbs, budget, recovery) and
 * record_saver.c (the saver thread, files, age) share. Not for other files:
 * they use record.h. Called with the owner's lock held unless said.
 */
#ifndef CF_RECORD_INT_H
#define CF_RECORD_INT_H

#include <limits.h>

#include "record.h"

/* What the index knows of a record, in memory or not. ~250 bytes. */
typedef struct entry {
    struct entry *next;          /* hash chain */
    struct entry *older, *newer; /* finished entries, oldest first */
    struct entry *dirty_next;    /* the saver's queue */
    char id[128];
    cf_prediction *p;            /* one reference; NULL once only a file has it */
    unsigned long long seq;
    cf_phase phase;
    int persistent;              /* async with a state dir: its file is in the state dir */
    int saved_once;              /* a file of it exists */
    int queued;                  /* on the saver's queue */
    int failing;                 /* its last save failed */
    unsigned version, written;   /* changes made, changes on disk */
    double retry_at;             /* monotonic: a failed save is tried again then */
    double completed_at;
    size_t bytes;                /* what it adds to rs->bytes */
} entry;

/* A file or directory to remove, for the saver. */
typedef struct job {
    struct job *next;
    char id[128];
    int persistent;
    char *dir;
} job;

struct cf_records {
    cf_records_config cfg;
    cf_state *spill;
    char spill_path[PATH_MAX];
    entry **buckets;
    size_t nbuckets, count;
    entry *oldest, *newest;
    entry *dirty_head, *dirty_tail;
    job *jobs;
    size_t bytes;       /* of finished records: their stubs and bodies in memory */
    size_t nfinished;   /* finished records indexed */
    unsigned long long next_seq;
    pthread_cond_t saver_cond, idle_cond;
    int stopping, busy;
    pthread_t thread;
    double next_expire;
    void (*durable)(void *ctx, cf_prediction *p);
    void *durable_ctx;
};

#define STUB_BYTES (sizeof(entry) + 64)
#define CF_RECORDS_RESERVE (1u << 20) /* see cf_state_reserve */

/* record.c */
/* id's entry, or NULL. */
entry *cf_rec_find(const cf_records *rs, const char *id);
/* Drops e from the index and frees it (not while on the saver's queue). */
void cf_rec_drop(cf_records *rs, entry *e);
/* Puts e on the saver's queue (once). */
void cf_rec_queue_save(cf_records *rs, entry *e);
/* Keeps the finished records in memory within keep_bytes. */
void cf_rec_enforce_budget(cf_records *rs);

/* record_saver.c */
/* Queues the removal of id's file (state dir if persistent, else the
 * spill dir), or of the directory dir, for the saver. */
void cf_rec_add_job(cf_records *rs, const char *id, int persistent, const char *dir);

#endif
