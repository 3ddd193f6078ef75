/* record_saver.c - the record table's saver thread: writes, retries, spills, forgets by age. */
#include "record_int.h"

#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "files.h"
#include "json_out.h"
#include "log.h"
#include "strcopy.h"

static const char unavailable_msg[] = "state directory unavailable";

/* The largest record (its bytes in memory) whose spill text is written
 * under the lock. */
#define CF_SPILL_TEXT_MAX 16384

void cf_rec_add_job(cf_records *rs, const char *id, const cf_spill_loc *spilled,
                    const char *dir)
{
    job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return; /* a file left behind; the age expiry of the next start finds it */
    if (id)
        snprintf(j->id, sizeof j->id, "%s", id);
    if (spilled)
        j->spilled = *spilled;
    j->dir = dir ? strdup(dir) : NULL;
    j->next = rs->jobs;
    rs->jobs = j;
    pthread_cond_signal(&rs->saver_cond);
}

int cf_records_persist_new(cf_records *rs, cf_prediction *p, cf_error *err)
{
    assert(p->phase == CF_PHASE_NEW);
    pthread_mutex_lock(rs->cfg.lock);
    p->seq = ++rs->next_seq;
    entry *old = cf_rec_find(rs, p->id);
    int is_new = old == NULL || !old->saved_once;
    pthread_mutex_unlock(rs->cfg.lock);
    if (rs->cfg.state == NULL || !p->is_async)
        return CF_OK;
    cf_error why;
    cf_error_clear(&why);
    if (cf_state_save(rs->cfg.state, p, 0, p->seq, is_new, &why) != CF_OK) {
        cf_log_error("CF0321", "%s", why.msg);
        return cf_error_set(err, why.code == CF_ENOMEM ? CF_ENOMEM : CF_EUNAVAIL, "%s",
                            why.code == CF_ENOMEM ? "out of memory" : unavailable_msg);
    }
    p->saved_new = 1;
    return CF_OK;
}

void cf_records_unpersist(cf_records *rs, cf_prediction *p)
{
    if (!p->saved_new)
        return;
    cf_error err;
    cf_error_clear(&err);
    if (cf_state_remove(rs->cfg.state, p->id, &err) != CF_OK)
        cf_log_warn("CF0322", "%s", err.msg);
    p->saved_new = 0;
}

/* ---- the saver thread ---------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Ends a finished prediction's use of its input directory as files.c
 * wants it ended (it may keep the directory for the next prediction). */
static void end_tempdir(const char *dir)
{
    cf_prediction *scratch = cf_prediction_new("tempdir");
    if (scratch == NULL)
        return;
    scratch->tempdir = strdup(dir);
    cf_files_cleanup(scratch);
    cf_prediction_decref(scratch);
}

/* Runs the removals queued so far. Lock held; dropped while removing. */
static void run_jobs(cf_records *rs)
{
    while (rs->jobs) {
        job *j = rs->jobs;
        rs->jobs = j->next;
        pthread_mutex_unlock(rs->cfg.lock);
        cf_error err;
        cf_error_clear(&err);
        if (j->dir)
            end_tempdir(j->dir);
        cf_spill_release(rs->spill, &j->spilled);
        if (j->id[0] && cf_state_remove(rs->cfg.state, j->id, &err) != CF_OK)
            cf_log_warn("CF0322", "%s", err.msg);
        free(j->dir);
        free(j);
        pthread_mutex_lock(rs->cfg.lock);
    }
}

/* Writes the first dirty entry whose time has come. Lock held; dropped
 * while writing. Returns 1 if it wrote (or tried), 0 if none was due. */
static int save_one(cf_records *rs)
{
    double now = cf_monotonic();
    entry *prev = NULL, *e = rs->dirty_head;
    while (e && e->retry_at > now && !rs->stopping) {
        prev = e;
        e = e->dirty_next;
    }
    if (e == NULL)
        return 0;
    if (prev)
        prev->dirty_next = e->dirty_next;
    else
        rs->dirty_head = e->dirty_next;
    if (rs->dirty_tail == e)
        rs->dirty_tail = prev;
    cf_prediction *p = e->p;
    cf_prediction_incref(p);
    unsigned version = e->version;
    int running = p->phase == CF_PHASE_RUNNING;
    int is_new = !e->saved_once, persistent = e->persistent;
    /* A small record to spill is written as text here, from the record
     * (state_text.c); anything else as a json_t snapshot, written after
     * the lock (a data URI is one memcpy then, not a walk under it). */
    size_t text_len = 0;
    char *text = !persistent && e->bytes <= CF_SPILL_TEXT_MAX
                     ? cf_state_record_text(p, running, e->seq, CF_SPILL_TEXT_MAX, &text_len)
                     : NULL;
    json_t *rec = text ? NULL : cf_state_record_json(p, running, e->seq);
    char id[128];
    cf_strcopy(id, sizeof id, e->id);
    rs->busy = 1;
    pthread_mutex_unlock(rs->cfg.lock);
    cf_error err;
    cf_error_clear(&err);
    int rc;
    cf_spill_loc spilled = {0};
    if (persistent) {
        rc = cf_state_write(rs->cfg.state, id, rec, is_new, &err);
    } else {
        if (text == NULL && rec && (text = cf_json_dumps(rec)) != NULL)
            text_len = strlen(text);
        rc = text ? cf_spill_append(rs->spill, text, text_len, &spilled, &err)
                  : cf_error_set(&err, CF_ENOMEM, "out of memory spilling prediction %s", id);
        free(text);
    }
    json_decref(rec);
    pthread_mutex_lock(rs->cfg.lock);
    rs->busy = 0;
    e->queued = 0;
    /* e may have been replaced by a re-run of the same id meanwhile */
    if (cf_rec_find(rs, id) != e || e->p != p) {
        if (cf_rec_find(rs, id) == e)
            cf_rec_queue_save(rs, e);
        if (spilled.seg)
            cf_rec_add_job(rs, NULL, &spilled, NULL);
        cf_prediction_decref(p);
        return 1;
    }
    if (spilled.seg) {
        if (e->spilled.seg)
            cf_rec_add_job(rs, NULL, &e->spilled, NULL); /* an older copy */
        e->spilled = spilled;
    }
    if (rc != CF_OK) {
        if (!e->failing)
            cf_log_error("CF0316", "%s (retrying every second)", err.msg);
        e->failing = 1;
        e->retry_at = cf_monotonic() + 1.0;
        if (!rs->stopping)
            cf_rec_queue_save(rs, e);
    } else {
        if (e->failing)
            cf_log_info("CF0323", "prediction %s saved after all", id);
        e->failing = 0;
        e->retry_at = 0;
        e->saved_once = 1;
        e->written = version;
        if (e->version != version)
            cf_rec_queue_save(rs, e);
        else if (e->persistent && p->phase == CF_PHASE_FINISHED && rs->durable)
            rs->durable(rs->durable_ctx, p);
        cf_rec_written(rs, e);
        cf_rec_enforce_budget(rs);
    }
    cf_prediction_decref(p);
    pthread_cond_broadcast(&rs->idle_cond);
    return 1;
}

/* Forgets the entries of l older than cutoff, and their files. */
static void expire_list(cf_records *rs, entry_list *l, double cutoff)
{
    for (entry *e = l->oldest, *next; e; e = next) {
        next = e->newer;
        if (e->completed_at >= cutoff)
            break;
        if (e->phase != CF_PHASE_DELIVERED || e->queued)
            continue;
        if (e->saved_once && e->persistent)
            cf_rec_add_job(rs, e->id, NULL, NULL);
        cf_rec_drop(rs, e);
    }
}

/* Forgets finished records older than keep_seconds, and their files. */
static void expire(cf_records *rs)
{
    double cutoff = cf_now() - rs->cfg.keep_seconds;
    expire_list(rs, &rs->stubs, cutoff);
    expire_list(rs, &rs->leaving, cutoff);
    expire_list(rs, &rs->bodies, cutoff);
}

static void *saver_main(void *arg)
{
    pthread_setname_np(pthread_self(), "cf-saver"); /* top -H, ps -L */
    cf_records *rs = arg;
    pthread_mutex_lock(rs->cfg.lock);
    for (;;) {
        run_jobs(rs);
        if (save_one(rs))
            continue;
        double now = cf_monotonic();
        if (now >= rs->next_expire) {
            expire(rs);
            rs->next_expire = now + fmin(60.0, fmax(0.5, rs->cfg.keep_seconds / 2));
            continue;
        }
        pthread_cond_broadcast(&rs->idle_cond);
        if (rs->stopping)
            break;
        struct timespec ts = cf_realtime_after(1.0);
        pthread_cond_timedwait(&rs->saver_cond, rs->cfg.lock, &ts);
    }
    pthread_mutex_unlock(rs->cfg.lock);
    return NULL;
}

void cf_records_on_durable(cf_records *rs, void (*fn)(void *ctx, cf_prediction *p), void *ctx)
{
    rs->durable = fn;
    rs->durable_ctx = ctx;
}

void cf_records_flush(cf_records *rs)
{
    pthread_mutex_lock(rs->cfg.lock);
    double until = cf_monotonic() + 5.0;
    while ((rs->busy || rs->jobs || (rs->dirty_head && !rs->dirty_head->failing)) &&
           cf_monotonic() < until) {
        pthread_cond_signal(&rs->saver_cond);
        struct timespec ts = cf_realtime_after(0.050);
        pthread_cond_timedwait(&rs->idle_cond, rs->cfg.lock, &ts);
    }
    pthread_mutex_unlock(rs->cfg.lock);
}

/* ---- creating and freeing ------------------------------------------------------ */

cf_records *cf_records_new(const cf_records_config *cfg, cf_error *err)
{
    cf_records *rs = calloc(1, sizeof *rs);
    if (rs == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    rs->cfg = *cfg;
    if (rs->cfg.keep_seconds <= 0)
        rs->cfg.keep_seconds = 86400;
    rs->nbuckets = 1024;
    rs->buckets = calloc(rs->nbuckets, sizeof *rs->buckets);
    pthread_cond_init(&rs->saver_cond, NULL);
    pthread_cond_init(&rs->idle_cond, NULL);
    if (rs->buckets == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        goto fail;
    }
    /* Finished records that are not persisted spill to a private directory,
     * emptied at every start: they were never promised to survive one. */
    if (cfg->spill_dir) {
        snprintf(rs->spill_path, sizeof rs->spill_path, "%s", cfg->spill_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(rs->spill_path, sizeof rs->spill_path, "%s/cog-fcgi-spill.XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(rs->spill_path) == NULL) {
            cf_error_set(err, CF_EIO, "cannot create a spill directory %s: %s", rs->spill_path,
                         strerror(errno));
            goto fail;
        }
    }
    /* room to save the end of what was accepted when the disk fills up */
    if (cfg->state)
        cf_state_reserve(cfg->state, CF_RECORDS_RESERVE);
    rs->spill = cf_spill_open(rs->spill_path, err);
    if (rs->spill == NULL)
        goto fail;
    if (pthread_create(&rs->thread, NULL, saver_main, rs) != 0) {
        cf_error_set(err, CF_EIO, "cannot start the saver thread");
        goto fail;
    }
    return rs;
fail:
    cf_spill_free(rs->spill);
    free(rs->buckets);
    free(rs);
    return NULL;
}

void cf_records_free(cf_records *rs)
{
    if (rs == NULL)
        return;
    pthread_mutex_lock(rs->cfg.lock);
    rs->stopping = 1; /* the saver tries what is dirty once more, then ends */
    for (entry *e = rs->dirty_head; e; e = e->dirty_next)
        e->retry_at = 0;
    pthread_cond_signal(&rs->saver_cond);
    pthread_mutex_unlock(rs->cfg.lock);
    pthread_join(rs->thread, NULL);
    for (size_t i = 0; i < rs->nbuckets; i++) {
        for (entry *e = rs->buckets[i], *next; e; e = next) {
            next = e->next;
            cf_prediction_decref(e->p);
            free(e);
        }
    }
    for (job *j = rs->jobs, *next; j; j = next) {
        next = j->next;
        free(j->dir);
        free(j);
    }
    cf_spill_free(rs->spill);
    nftw(rs->spill_path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    pthread_cond_destroy(&rs->saver_cond);
    pthread_cond_destroy(&rs->idle_cond);
    free(rs->buckets);
    free(rs);
}
