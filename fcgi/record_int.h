/* record_int.h - what record.c (index, verbs, budget, recovery) and
 * record_saver.c (the saver thread, files, age) share. Not for other files:
 * they use record.h. Called with the owner's lock held unless said.
 */
#ifndef CF_RECORD_INT_H
#define CF_RECORD_INT_H

#include <limits.h>

#include "record.h"
#include "spill.h"

/* What the index knows of a record, in memory or not. ~250 bytes. */
typedef struct entry {
    struct entry *next;          /* hash chain */
    struct entry *older, *newer; /* neighbours in the list `on`, oldest first */
    struct entry_list *on;       /* which list of finished entries (NULL: not finished) */
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
    cf_spill_loc spilled;        /* where the spill holds it (not persistent ones) */
} entry;

/* Finished entries in the order they joined the list. */
typedef struct entry_list {
    entry *oldest, *newest;
} entry_list;

/* A state file, a spilled record or a directory to remove, for the saver. */
typedef struct job {
    struct job *next;
    char id[128];
    cf_spill_loc spilled;
    char *dir;
} job;

struct cf_records {
    cf_records_config cfg;
    cf_spill *spill;
    char spill_path[PATH_MAX];
    entry **buckets;
    size_t nbuckets, count;
    /* The finished entries: bodies (in memory), leaving (chosen to leave
     * memory, waiting for the saver to write them), stubs (only a file has
     * the body). Each list is oldest first: the budget takes from the head
     * of bodies and never walks past what it cannot move. */
    entry_list bodies, leaving, stubs;
    size_t leaving_bytes; /* of the bodies on the leaving list */
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
/* The saver wrote e (its version on disk is current): e leaves memory if
 * the budget chose it. */
void cf_rec_written(cf_records *rs, entry *e);

/* record_saver.c */
/* Queues, for the saver, the removal of id's file in the state dir (id may
 * be NULL), the release of a spilled record (spilled may be NULL) or of
 * the directory dir (may be NULL). */
void cf_rec_add_job(cf_records *rs, const char *id, const cf_spill_loc *spilled,
                    const char *dir);

#endif
