/* spill.h - finished records that left memory, appended to segment files.
 *
 * The record table (record.h) moves finished records that are not persisted
 * (sync ones, async ones without a state directory) out of memory when its
 * byte budget is spent. They were never promised to survive a restart, so
 * they need no file of their own, no fsync and no rename: each is appended
 * to the current segment file (DIR/seg-N, a new one every 8 MiB) and found
 * again by where it was put. A segment is removed when the last record in
 * it is released. One file create and one unlink per 8 MiB instead of per
 * record: at thousands of predictions a second, per-record files cost the
 * front more than the predictions (ext4's inode allocator).
 *
 * Thread-safe: its own mutex, never held while another lock is taken, so
 * callers may hold theirs. Reads copy under the mutex, so a release on
 * another thread never closes a file a read is using.
 */
#ifndef CF_SPILL_H
#define CF_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct cf_spill cf_spill;

/* Where a record was put. seg == 0: nowhere. */
typedef struct cf_spill_loc {
    uint32_t seg;
    uint32_t len;
    uint64_t off;
} cf_spill_loc;

/* Uses the directory dir (created with mode 0700 if missing) and removes
 * what an earlier run left in it. NULL with err (CF_EIO, the path and the
 * reason) on failure. */
cf_spill *cf_spill_open(const char *dir, cf_error *err);
/* Closes and removes every segment. NULL is a no-op. */
void cf_spill_free(cf_spill *s);

/* Appends len bytes of data. On success *loc says where; on failure
 * (CF_EIO: a full disk, with the reason) nothing was added. */
int cf_spill_append(cf_spill *s, const char *data, size_t len, cf_spill_loc *loc, cf_error *err);
/* A malloc'ed, NUL-terminated copy of what loc holds (its length in *len
 * when len is not NULL), or NULL (released meanwhile, a read error:
 * logged, or out of memory). */
char *cf_spill_read(cf_spill *s, const cf_spill_loc *loc, size_t *len);
/* loc's record is not needed any more; its segment goes when it was the
 * last. A zero loc is a no-op. */
void cf_spill_release(cf_spill *s, const cf_spill_loc *loc);

/* Segment files open now, for tests. */
size_t cf_spill_segments(cf_spill *s);

#endif
