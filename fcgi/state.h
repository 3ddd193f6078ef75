/* state.h - prediction records kept on disk so that they survive a crash.
 *
 * Every accepted prediction has one file, DIR/<name>.json, holding the whole
 * record as JSON (the real id is inside; <name> is the id when it is made
 * of [A-Za-z0-9_-] only, else "~" + base64url of the id). A file is
 * replaced atomically: written to DIR/.tmp-<name>.json, fsynced, renamed
 * over the old one, then DIR is fsynced. A crash leaves either the old or
 * the new record, never half of one; stray temp files are removed at load.
 *
 * The runner saves a record when it accepts it (before the 202), when the
 * worker starts it (running = 1), when it ends, and when its terminal
 * webhook has been delivered (terminal_webhook_pending back to 0). After a
 * restart cf_state_load_all returns what to do next:
 *   - a queued record comes back as it was, to be queued again;
 *   - a record that was running comes back failed ("the prediction was
 *     interrupted ...", canceled if a cancel had been asked for), with
 *     completed_at = now and terminal_webhook_pending set when it has a
 *     webhook that wants "completed";
 *   - a finished record comes back as it was, terminal_webhook_pending
 *     included: the runner re-sends that webhook.
 *
 * Secrets: the value of a Secret input (kinds[name] == "secret") never
 * reaches the disk. The file says "secrets_omitted": true instead, and a
 * queued record that had secrets cannot run again after a restart: it comes
 * back failed with "the prediction was interrupted and its secret inputs
 * were not persisted" (and its completed webhook pending). Keeping the
 * secret obfuscated would still be keeping it.
 *
 * Not thread-safe: callers hold the runner lock. One process per DIR:
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

/* Writes p's record atomically (see above); running says the worker has
 * started it (ignored for a terminal record). One write() of the whole
 * record, then two fsyncs. On failure the old file, if any, is intact, the
 * temp file is removed, and err is CF_EUNAVAIL ("cannot save prediction X
 * in DIR: No space left on device"): the caller answers 503 and must not
 * accept the prediction. CF_ENOMEM when the record cannot be built. */
int cf_state_save(cf_state *s, const cf_prediction *p, int running, cf_error *err);

/* Reads id's record back from disk (a new record, refs = 1), or NULL when
 * there is none. For answering polls of finished predictions the memory no
 * longer holds; no recovery rule is applied. */
cf_prediction *cf_state_load(cf_state *s, const char *id);

/* Removes id's file. A missing file is not an error. CF_EIO otherwise. */
int cf_state_remove(cf_state *s, const char *id, cf_error *err);

/* Loads every record in DIR, applying the recovery rules above (records
 * changed by them are saved again). Unreadable or corrupt files are logged
 * (CF0401) and left alone; stray temp and probe files are removed. *out is
 * a new array of new records (refs = 1; the caller decrefs each and frees
 * the array), in the order they were first saved, so queued records run in
 * arrival order. CF_EIO if DIR cannot be read, CF_ENOMEM. */
int cf_state_load_all(cf_state *s, cf_prediction ***out, size_t *n, cf_error *err);

/* Removes the files of finished records whose completed_at is more than
 * keep_seconds ago and whose terminal webhook is not pending, calling
 * removed(id, ctx) for each (removed may be NULL) so the caller can forget
 * them too. Uses an in-memory index (built by load_all and save), reads no
 * file. Returns how many were removed, or CF_EIO when one could not be
 * (the others are still removed). */
int cf_state_expire(cf_state *s, double keep_seconds, void (*removed)(const char *id, void *ctx),
                    void *ctx, cf_error *err);

/* The default state directory of a project, into buf:
 *   $STATE_DIRECTORY (systemd's StateDirectory=; the first if several),
 *   else $XDG_STATE_HOME/cog-fcgi/<project>,
 *   else /var/lib/cog-fcgi/<project> for root,
 *   else $HOME/.local/state/cog-fcgi/<project>,
 * where <project> is the project directory's base name and a hash of its
 * real path ("hello-world-5f1c0e8a9b2d4c63"), so two projects never share. */
void cf_state_default_dir(const char *project_dir, char *buf, size_t len);

#endif
