/* spill.c - finished records out of memory, appended to segment files (spill.h). */
#include "spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define SEGMENT_BYTES (8u << 20)

struct segment {
    uint32_t id;
    int fd;
    uint64_t size; /* bytes written */
    size_t live;   /* records in it not released */
};

struct cf_spill {
    pthread_mutex_t lock;
    int dir_fd;
    char dir[4096];
    struct segment *segs; /* by id, oldest first; the last is the one appended to */
    size_t nsegs, cap;
    uint32_t next_id;
};

static void segment_name(uint32_t id, char *buf, size_t len)
{
    snprintf(buf, len, "seg-%u", id);
}

/* Removes every plain file in s's directory: what a run before this one left. */
static void empty_dir(cf_spill *s)
{
    int fd = dup(s->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(s->dir_fd, de->d_name, 0);
    closedir(d);
}

cf_spill *cf_spill_open(const char *dir, cf_error *err)
{
    cf_spill *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cf_error_set(err, CF_EIO, "cannot create the spill directory %s: %s", dir,
                     strerror(errno));
        free(s);
        return NULL;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        cf_error_set(err, CF_EIO, "cannot open the spill directory %s: %s", dir,
                     strerror(errno));
        free(s);
        return NULL;
    }
    empty_dir(s);
    s->next_id = 1;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void cf_spill_free(cf_spill *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nsegs; i++) {
        char name[32];
        segment_name(s->segs[i].id, name, sizeof name);
        close(s->segs[i].fd);
        unlinkat(s->dir_fd, name, 0);
    }
    close(s->dir_fd);
    pthread_mutex_destroy(&s->lock);
    free(s->segs);
    free(s);
}

/* The segment with id, or NULL. Segments are sorted by id. Lock held. */
static struct segment *find_segment(cf_spill *s, uint32_t id)
{
    size_t lo = 0, hi = s->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid].id == id)
            return &s->segs[mid];
        if (s->segs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Closes and removes the segment at index i. Lock held. */
static void drop_segment(cf_spill *s, size_t i)
{
    char name[32];
    segment_name(s->segs[i].id, name, sizeof name);
    close(s->segs[i].fd);
    unlinkat(s->dir_fd, name, 0);
    memmove(&s->segs[i], &s->segs[i + 1], (s->nsegs - i - 1) * sizeof *s->segs);
    s->nsegs--;
}

/* The segment to append len bytes to: the last one, or a new one when it
 * is full (a full one with nothing live in it goes at once). Lock held. */
static struct segment *current_segment(cf_spill *s, size_t len, cf_error *err)
{
    if (s->nsegs > 0) {
        struct segment *last = &s->segs[s->nsegs - 1];
        if (last->size == 0 || last->size + len <= SEGMENT_BYTES)
            return last;
        if (last->live == 0)
            drop_segment(s, s->nsegs - 1);
    }
    if (s->nsegs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct segment *segs = realloc(s->segs, cap * sizeof *segs);
        if (segs == NULL) {
            cf_error_set(err, CF_ENOMEM, "out of memory");
            return NULL;
        }
        s->segs = segs;
        s->cap = cap;
    }
    char name[32];
    uint32_t id = s->next_id++;
    segment_name(id, name, sizeof name);
    int fd = openat(s->dir_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        cf_error_set(err, CF_EIO, "cannot create %s/%s: %s", s->dir, name, strerror(errno));
        return NULL;
    }
    s->segs[s->nsegs] = (struct segment){.id = id, .fd = fd};
    return &s->segs[s->nsegs++];
}

int cf_spill_append(cf_spill *s, const char *data, size_t len, cf_spill_loc *loc,
                    cf_error *err)
{
    int rc = CF_OK;
    if (len > UINT32_MAX)
        return cf_error_set(err, CF_EIO, "a record of %zu bytes is too large to spill", len);
    pthread_mutex_lock(&s->lock);
    struct segment *seg = current_segment(s, len, err);
    if (seg == NULL) {
        rc = err->code;
        goto out;
    }
    /* A short write leaves size where it was: the next record overwrites
     * what it wrote. */
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(seg->fd, data + done, len - done, (off_t)(seg->size + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = cf_error_set(err, CF_EIO, "cannot write to %s/seg-%u: %s", s->dir, seg->id,
                              n < 0 ? strerror(errno) : "short write");
            goto out;
        }
        done += (size_t)n;
    }
    *loc = (cf_spill_loc){.seg = seg->id, .len = (uint32_t)len, .off = seg->size};
    seg->size += len;
    seg->live++;
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

char *cf_spill_read(cf_spill *s, const cf_spill_loc *loc, size_t *len)
{
    if (loc->seg == 0)
        return NULL;
    char *buf = malloc((size_t)loc->len + 1);
    if (buf == NULL)
        return NULL;
    pthread_mutex_lock(&s->lock);
    struct segment *seg = find_segment(s, loc->seg);
    size_t done = 0;
    while (seg && done < loc->len) {
        ssize_t n = pread(seg->fd, buf + done, loc->len - done, (off_t)(loc->off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            cf_log_error("CF0407", "cannot read a spilled record in %s/seg-%u: %s", s->dir,
                         seg->id, n < 0 ? strerror(errno) : "short file");
            break;
        }
        done += (size_t)n;
    }
    pthread_mutex_unlock(&s->lock);
    if (done < loc->len) {
        free(buf);
        return NULL;
    }
    buf[loc->len] = '\0';
    if (len)
        *len = loc->len;
    return buf;
}

void cf_spill_release(cf_spill *s, const cf_spill_loc *loc)
{
    if (loc->seg == 0)
        return;
    pthread_mutex_lock(&s->lock);
    struct segment *seg = find_segment(s, loc->seg);
    if (seg && seg->live > 0 && --seg->live == 0 && seg != &s->segs[s->nsegs - 1])
        drop_segment(s, (size_t)(seg - s->segs));
    pthread_mutex_unlock(&s->lock);
}

size_t cf_spill_segments(cf_spill *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->nsegs;
    pthread_mutex_unlock(&s->lock);
    return n;
}
