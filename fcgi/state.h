/* state.h - prediction records kept on disk so that they survive a crash.
 *
 * Every accepted prediction has one file, DIR/<name>.json, holding the whole
 * record as JSON (the real id is inside; <name> is the id when it is made
 * of [A-Za-z0-9_-] only, else "~" + base64url of the id). A file is
 * replaced atomically: written to DIR/.tmp-<name>.json, fsynced, renamed
 * over the old one, then DIR is fsynced. A crash leaves either the old or
 * the new record, never half of one; stray temp files are removed at load.
 *
 * The record table (record.h) decides when a record is saved and what a
 * record found at a restart becomes; this file only writes and reads them.
 * Each record carries a sequence number, its arrival order, and its phase
 * ("queued", "running" or "finished").
 *
 * Secrets: the value of a Secret input (kinds[name] == "secret") never
 * reaches the disk. The file says "secrets_omitted": true instead (a queued
 * record that had secrets cannot run again after a restart). Keeping the
 * secret obfuscated would still be keeping it.
 *
 * No state of its own beyond the directory: calls for different ids may
 * run on different threads at once. One process per DIR:
 * cf_state_open takes an exclusive flock on DIR/.lock (released by the
 * kernel when the process dies, kill -9 included).
 */
#ifndef CF_STATE_H
#define CF_STATE_H

#include <stddef.h>

#include "error.h"
#include "prediction.h"

typedef struct cf_state cf_state;

/* Opens DIR, creating it and missing parents with mode 0700, locks it, and
 * checks it is writable by writing, fsyncing and removing a probe file.
 * NULL on failure: err is CF_EIO with the path and the reason (ENOTDIR,
 * EACCES, ENOSPC, EROFS...), or CF_EBUSY when another process holds DIR. */
cf_state *cf_state_open(const char *dir, cf_error *err);
/* Releases the lock; files stay. NULL is a no-op. */
void cf_state_free(cf_state *s);
/* The directory, as given to cf_state_open. Borrowed. */
const char *cf_state_dir(const cf_state *s);

/* The version every record carries. */
#define CF_STATE_RECORD_VERSION 1

/* p's deadline as wall-clock time for its record (0: none). */
double cf_state_deadline_wall(const cf_prediction *p);

/* The text of cf_state_record_json's object, written straight from p in
 * one pass (state_text.c). NULL when longer than max bytes (*len its
 * length then), when a string of p's is not UTF-8 or out of memory (*len
 * 0): then the json_t. Under the lock that guards p. */
char *cf_state_record_text(const cf_prediction *p, int running, unsigned long long seq,
                           size_t max, size_t *len);

/* p's record as stored (see above), a new object that only borrows p's
 * values (increfs them): take it under the lock that guards p, write it
 * after. running says the worker has started p (ignored when terminal).
 * NULL when out of memory. */
json_t *cf_state_record_json(const cf_prediction *p, int running, unsigned long long seq);

/* Writes rec (borrowed), id's record, atomically: one write() of the whole
 * record, then two fsyncs. is_new: no earlier file of id exists (one that
 * only the directory fsync failed to keep is removed). On failure the old
 * file, if any, is intact, the temp file is removed, and err is CF_EUNAVAIL
 * ("cannot save prediction X in DIR: No space left on device") or
 * CF_ENOMEM. The path in err is for the server log, not for clients. */
int cf_state_write(cf_state *s, const char *id, json_t *rec, int is_new, cf_error *err);

/* cf_state_record_json + cf_state_write, for a p no other thread changes. */
int cf_state_save(cf_state *s, const cf_prediction *p, int running, unsigned long long seq,
                  int is_new, cf_error *err);

/* Keeps DIR/.reserve, bytes of space that only saves of accepted
 * predictions may use once the disk is full (a save that fails with ENOSPC
 * releases it and tries again; it is made again when there is room). */
void cf_state_reserve(cf_state *s, size_t bytes);

/* Reads id's record back from disk (a new record, refs = 1), or NULL when
 * there is none (or it cannot be read: logged). */
cf_prediction *cf_state_load(cf_state *s, const char *id);

/* The record id in text (as cf_state_write stores one: the spill keeps the
 * same text), a new record (refs = 1), or NULL (logged) when text is not
 * id's record. */
cf_prediction *cf_state_parse(const char *text, size_t len, const char *id);

/* Removes id's file. A missing file is not an error. CF_EIO otherwise. */
int cf_state_remove(cf_state *s, const char *id, cf_error *err);

/* One record found by cf_state_load_all: p is a new record (refs = 1). */
typedef struct cf_state_loaded {
    cf_prediction *p;
    unsigned long long seq; /* arrival order */
    int running;            /* the worker had started it */
    int omitted;            /* its secret inputs were not saved */
} cf_state_loaded;

/* Loads every record in DIR as it was saved (record.h applies the restart
 * rules). Unreadable or corrupt files are logged (CF0401) and left alone;
 * stray temp and probe files are removed. *out is a new array in arrival
 * order (the caller decrefs each p and frees it). CF_EIO if DIR cannot be
 * read, CF_ENOMEM. */
int cf_state_load_all(cf_state *s, cf_state_loaded **out, size_t *n, cf_error *err);

/* The default state directory of a project, into buf:
 *   $STATE_DIRECTORY (systemd's StateDirectory=; the first if several),
 *   else $XDG_STATE_HOME/cog-fcgi/<project>,
 *   else /var/lib/cog-fcgi/<project> for root,
 *   else $HOME/.local/state/cog-fcgi/<project>,
 * where <project> is the project directory's base name and a hash of its
 * real path ("hello-world-5f1c0e8a9b2d4c63"), so two projects never share. */
void cf_state_default_dir(const char *project_dir, char *buf, size_t len);

#endif
