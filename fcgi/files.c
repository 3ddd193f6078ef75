/* files.c - materialising file inputs and encoding file outputs. */
#include "files.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datauri.h"
#include "fetch_policy.h"
#include "files_dir.h"
#include "http_client.h"
#include "multipart.h"
#include "s3.h"
#include "mime.h"

/* Directories and files are reused between predictions.
 *
 * Why: a prediction with a file input used to cost a mkdir, a file create,
 * an unlink and an rmdir. On ext4 (a plain /tmp) creating inodes while
 * others were freed moments ago makes the allocator walk the recently
 * deleted ones: at 100 file predictions/s that was a fifth of the front's
 * time. So a finished prediction's directory is emptied and kept (up to
 * CF_FILES_POOL of them), and its decoded files are truncated and renamed
 * to ".spare-N" (up to CF_FILES_SPARES per directory) for the next data URI
 * to be renamed into: no inode is created or freed on the steady path.
 * What is kept is removed at exit; a directory with anything unusual in it
 * (a subdirectory), or not made by this process (a recovered prediction's),
 * is removed as before. */
#define CF_FILES_POOL 4
#define CF_FILES_SPARES 4

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pool[CF_FILES_POOL];
static int pool_len;
static int pool_atexit;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw);

static void pool_remove_all(void)
{
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < pool_len; i++) {
        nftw(pool[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(pool[i]);
        pool[i] = NULL;
    }
    pool_len = 0;
    pthread_mutex_unlock(&pool_lock);
}

static int ensure_tempdir(cf_prediction *p, cf_error *err)
{
    if (p->tempdir)
        return CF_OK;
    pthread_mutex_lock(&pool_lock);
    if (pool_len > 0)
        p->tempdir = pool[--pool_len];
    pthread_mutex_unlock(&pool_lock);
    if (p->tempdir)
        return CF_OK;
    const char *base = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/cog-fcgi-input-%ld-XXXXXX", base && *base ? base : "/tmp",
             (long)getpid());
    if (mkdtemp(tmpl) == NULL)
        return cf_error_set(err, CF_EIO, "cannot create a temp directory: %s", strerror(errno));
    p->tempdir = strdup(tmpl);
    return p->tempdir ? CF_OK : cf_error_set(err, CF_ENOMEM, "out of memory");
}

/* Whether dir is one this process made (its name carries our pid): only
 * those are reused; others (a recovered prediction's) are removed. */
static int made_here(const char *dir)
{
    char mark[64];
    snprintf(mark, sizeof mark, "/cog-fcgi-input-%ld-", (long)getpid());
    const char *slash = strrchr(dir, '/');
    return slash != NULL && strncmp(slash, mark, strlen(mark)) == 0;
}

/* A new file at path (in dir) for writing: a spare of dir renamed to it
 * when there is one, else created. Returns the fd or -1 with errno. */
static int open_new_file(const char *dir, const char *path)
{
    for (int k = CF_FILES_SPARES - 1; k >= 0; k--) {
        char spare[PATH_MAX];
        snprintf(spare, sizeof spare, "%s/.spare-%d", dir, k);
        if (rename(spare, path) == 0) {
            int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
            if (fd >= 0)
                return fd;
            unlink(path);
            break;
        }
    }
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* A safe file name from the last path segment of a URL (no query). */
static void basename_of_url(const char *url, char *out, size_t len)
{
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    const char *end = start + strcspn(start, "?#");
    const char *slash = NULL;
    for (const char *c = start; c < end; c++)
        if (*c == '/')
            slash = c;
    const char *name = slash ? slash + 1 : end;
    size_t n = (size_t)(end - name);
    if (n == 0) {
        snprintf(out, len, "file");
        return;
    }
    if (n > 200)
        n = 200;
    if (n >= len)
        n = len - 1;
    memcpy(out, name, n);
    out[n] = '\0';
    for (char *c = out; *c; c++)
        if (*c == '/' || *c == '\\')
            *c = '_';
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, len, "file");
}

/* A path in the tempdir for name that is not used yet (index prefix). */
static void unique_path(const char *dir, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
    for (int i = 1; access(out, F_OK) == 0; i++)
        snprintf(out, len, "%s/%d-%s", dir, i, name);
}

static int write_file(const char *path, const unsigned char *data, size_t len, cf_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_error_set(err, CF_EIO, "cannot create %s: %s", path, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return cf_error_set(err, CF_EIO, "cannot write %s: %s", path, strerror(e));
        }
        data += w;
        len -= (size_t)w;
    }
    close(fd);
    return CF_OK;
}

/* Downloads url to path under the process's fetch policy (its limits: Cog
 * has none). The message is what a failed prediction shows as its error. */
static int download(const char *url, const char *path, cf_error *err)
{
    cf_error why;
    int rc = cf_s3_is_url(url) ? cf_s3_get(url, path, cf_fetch_policy_get_default(), &why)
                               : cf_http_fetch(url, path, cf_fetch_policy_get_default(), &why);
    if (rc == CF_EFETCH)
        return cf_error_set(err, CF_EFETCH, "failed to download %s: %s", url, why.msg);
    if (rc != CF_OK)
        return cf_error_set(err, rc, "%s", why.msg);
    return CF_OK;
}

/* Decodes a data URI value[0,len) straight into a new file in the tempdir
 * (named file<ext> after its media type, as Cog's get_filename does); the
 * bytes never sit in memory whole. Fills path. */
static int materialise_data(cf_prediction *p, const char *value, size_t len, char *path,
                            size_t path_len, cf_error *err)
{
    cf_datauri d;
    int rc = cf_datauri_parse(value, len, &d, err);
    if (rc != CF_OK)
        return rc;
    char *mime = cf_datauri_mime(&d);
    if (mime == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    char name[64];
    const char *ext = cf_ext_from_mime(mime);
    snprintf(name, sizeof name, "file%s", ext ? ext : "");
    free(mime);
    unique_path(p->tempdir, name, path, path_len);
    int fd = open_new_file(p->tempdir, path);
    if (fd < 0)
        return cf_error_set(err, CF_EIO, "cannot create %s: %s", path, strerror(errno));
    rc = cf_datauri_decode_to_fd(value, len, fd, NULL, err);
    if (close(fd) != 0 && rc == CF_OK)
        rc = cf_error_set(err, CF_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc != CF_OK)
        unlink(path);
    return rc;
}

/* Makes one file value local. Returns a new string json with the path. */
static json_t *materialise(cf_prediction *p, const json_t *jvalue, cf_error *err)
{
    char path[PATH_MAX];
    const char *value = json_string_value(jvalue);
    if (ensure_tempdir(p, err) != CF_OK)
        return NULL;
    /* The trimming rule of cf_datauri_parse, which validation used too. */
    const char *start = value;
    while (*start != '\0' && (unsigned char)*start <= ' ')
        start++;
    if (strncasecmp(start, "data:", 5) == 0) {
        if (materialise_data(p, value, json_string_length(jvalue), path, sizeof path, err) != CF_OK)
            return NULL;
    } else if (strncasecmp(start, "http://", 7) == 0 || strncasecmp(start, "https://", 8) == 0 ||
               cf_s3_is_url(start)) {
        /* Validation found the scheme after the same leading blanks; urllib
         * strips trailing whitespace too. */
        size_t len = strlen(start);
        while (len > 0 && isspace((unsigned char)start[len - 1]))
            len--;
        char *url = strndup(start, len);
        if (url == NULL) {
            cf_error_set(err, CF_ENOMEM, "out of memory");
            return NULL;
        }
        char name[256];
        basename_of_url(url, name, sizeof name);
        unique_path(p->tempdir, name, path, sizeof path);
        int rc = download(url, path, err);
        free(url);
        if (rc != CF_OK)
            return NULL;
    } else if (strncmp(start, CF_FORM_SCHEME, strlen(CF_FORM_SCHEME)) == 0) {
        /* a multipart/form-data file part, spooled as it came: moved, not copied */
        char spooled[PATH_MAX];
        if (cf_form_file_path(start, spooled, sizeof spooled, err) != CF_OK)
            return NULL;
        const char *slash = strrchr(spooled, '/');
        const char *name = strchr(slash + 1, '-') + 1;
        unique_path(p->tempdir, name, path, sizeof path);
        if (rename(spooled, path) != 0) {
            cf_error_set(err, CF_EIO, "cannot move %s: %s", spooled, strerror(errno));
            return NULL;
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - spooled), spooled);
        rmdir(dir); /* the last part of its form takes the spool directory along */
    } else {
        cf_error_set(err, CF_EINVAL, "unsupported file URL: %.100s", value);
        return NULL;
    }
    return json_string(path);
}

/* Replaces the values, never changes the arrays in place: an array of
 * p->input_worker may be shared with the echoed input (a shallow copy). */
int cf_files_prepare(cf_prediction *p, cf_error *err)
{
    const char *name;
    json_t *kind;
    if (p->kinds == NULL || p->input_worker == NULL)
        return CF_OK;
    json_object_foreach(p->kinds, name, kind) {
        const char *k = json_string_value(kind);
        if (k == NULL || (strcmp(k, "path") != 0 && strcmp(k, "file") != 0))
            continue;
        json_t *v = json_object_get(p->input_worker, name); /* borrowed */
        if (json_is_string(v)) {
            json_t *local = materialise(p, v, err);
            if (local == NULL)
                return err->code ? err->code : CF_EIO;
            json_object_set_new(p->input_worker, name, local);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *item;
            json_t *locals = json_array();
            if (locals == NULL)
                return cf_error_set(err, CF_ENOMEM, "out of memory");
            json_array_foreach(v, i, item) {
                json_t *local = json_is_string(item) ? materialise(p, item, err) : json_incref(item);
                if (local == NULL) {
                    json_decref(locals);
                    return err->code ? err->code : CF_EIO;
                }
                if (json_array_append_new(locals, local) != 0) {
                    json_decref(locals);
                    return cf_error_set(err, CF_ENOMEM, "out of memory");
                }
            }
            json_object_set_new(p->input_worker, name, locals);
        }
    }
    return CF_OK;
}

static int read_whole(const char *path, unsigned char **data, size_t *len, cf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cf_error_set(err, CF_EIO, "cannot open output file %s: %s", path,
                            strerror(errno));
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory reading %s", path);
    if (bad) {
        free(buf);
        return cf_error_set(err, CF_EIO, "cannot read output file %s", path);
    }
    *data = buf;
    *len = n;
    return CF_OK;
}

static const char *cogfile_path(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1)
        return NULL;
    return json_string_value(json_object_get(v, "$cogfile"));
}

/* Reads path's bytes (size bytes expected) in pieces of 48 KiB, a multiple
 * of 3, and appends their base64 to out (room for CF_BASE64_ENCODED_LEN of
 * what is read). Returns the characters written, or -1 with err set. A file
 * that grew since its size was taken is encoded up to that size; one that
 * shrank, up to its end. */
static long long encode_file_into(int fd, const char *path, size_t size, char *out, cf_error *err)
{
    unsigned char buf[3 * 16384];
    size_t o = 0;
    size_t done = 0;
    while (done < size) {
        size_t want = size - done < sizeof buf ? size - done : sizeof buf;
        size_t have = 0;
        while (have < want) {
            ssize_t r = read(fd, buf + have, want - have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                cf_error_set(err, CF_EIO, "cannot read output file %s: %s", path, strerror(errno));
                return -1;
            }
            if (r == 0)
                break;
            have += (size_t)r;
        }
        /* Only the last piece may end off a multiple of 3 (padding). */
        o += cf_base64_encode_to(out + o, buf, have);
        done += have;
        if (have < want)
            break;
    }
    return (long long)o;
}

/* The data URI of one output file: its size taken first, then one buffer of
 * the exact length, filled by reading the file once in 48 KiB pieces (no
 * copy of the file in memory) and handed to jansson without a second UTF-8
 * scan (base64 is ASCII). Needs no lock: it reads only the file. */
static json_t *encode_one(const char *path, cf_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cf_error_set(err, CF_EIO, "cannot open output file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        /* not a regular file (a FIFO...): read it whole the simple way */
        close(fd);
        unsigned char *data = NULL;
        size_t len = 0;
        if (read_whole(path, &data, &len, err) != CF_OK)
            return NULL;
        const char *slash = strrchr(path, '/');
        char *uri = cf_datauri_encode(cf_mime_from_name(slash ? slash + 1 : path), data, len);
        free(data);
        json_t *s = uri ? json_string_nocheck(uri) : NULL;
        free(uri);
        if (s == NULL)
            cf_error_set(err, CF_ENOMEM, "out of memory encoding %s", path);
        return s;
    }
    const char *slash = strrchr(path, '/');
    const char *mime = cf_mime_from_name(slash ? slash + 1 : path);
    size_t size = (size_t)st.st_size;
    size_t max = cf_datauri_encoded_len(mime, size);
    char *uri = malloc(max + 1);
    json_t *s = NULL;
    if (uri == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory encoding %s", path);
    } else {
        size_t head = cf_datauri_encode_to(uri, mime, NULL, 0); /* "data:<mime>;base64," */
        long long n = encode_file_into(fd, path, size, uri + head, err);
        if (n >= 0) {
            s = json_stringn_nocheck(uri, head + (size_t)n);
            if (s == NULL)
                cf_error_set(err, CF_ENOMEM, "out of memory encoding %s", path);
        }
        free(uri);
    }
    close(fd);
    return s;
}

/* Applies fn to every {"$cogfile"} in v (recursively); fn returns a new
 * value or NULL on error. */
static int walk(json_t *v, json_t *(*fn)(const char *, void *, cf_error *), void *ctx,
                cf_error *err)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            const char *path = cogfile_path(item);
            if (path) {
                json_t *nv = fn(path, ctx, err);
                if (nv == NULL)
                    return err->code ? err->code : CF_EIO;
                json_array_set_new(v, i, nv);
            } else if (walk(item, fn, ctx, err) != CF_OK) {
                return err->code;
            }
        }
    } else if (json_is_object(v)) {
        const char *key;
        json_t *item;
        json_object_foreach(v, key, item) {
            const char *path = cogfile_path(item);
            if (path) {
                json_t *nv = fn(path, ctx, err);
                if (nv == NULL)
                    return err->code ? err->code : CF_EIO;
                json_object_set_new(v, key, nv);
            } else if (walk(item, fn, ctx, err) != CF_OK) {
                return err->code;
            }
        }
    }
    return CF_OK;
}

static json_t *encode_cb(const char *path, void *ctx, cf_error *err)
{
    (void)ctx;
    if (cf_files_dir_enabled()) /* --files-dir: a URL the web server answers */
        return cf_files_dir_store(path, err);
    return encode_one(path, err);
}

/* Wraps the root in an array so that a bare file output is replaced too. */
static int walk_root(json_t **output, json_t *(*fn)(const char *, void *, cf_error *),
                     void *ctx, cf_error *err)
{
    json_t *box = json_pack("[O]", *output);
    if (box == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    int rc = walk(box, fn, ctx, err);
    if (rc == CF_OK) {
        json_decref(*output);
        *output = json_incref(json_array_get(box, 0));
    }
    json_decref(box);
    return rc;
}

int cf_files_map_outputs(json_t **output, json_t *(*fn)(const char *path, void *ctx, cf_error *err),
                         void *ctx, cf_error *err)
{
    return walk_root(output, fn, ctx, err);
}

int cf_files_encode_outputs(json_t **output, cf_error *err)
{
    return walk_root(output, encode_cb, NULL, err);
}

typedef struct save_ctx {
    const char *dest;
    int is_dir;
} save_ctx;

static json_t *save_cb(const char *path, void *vctx, cf_error *err)
{
    save_ctx *ctx = vctx;
    char target[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (ctx->is_dir)
        unique_path(ctx->dest, base, target, sizeof target);
    else
        snprintf(target, sizeof target, "%s", ctx->dest);
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_whole(path, &data, &len, err) != CF_OK)
        return NULL;
    unlink(target);
    int rc = write_file(target, data, len, err);
    free(data);
    if (rc != CF_OK)
        return NULL;
    return json_string(target);
}

int cf_files_save_outputs(json_t **output, const char *dest, cf_error *err)
{
    struct stat st;
    save_ctx ctx = {dest, stat(dest, &st) == 0 && S_ISDIR(st.st_mode)};
    return walk_root(output, save_cb, &ctx, err);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Empties dir for reuse: its regular files become spares (truncated, up to
 * CF_FILES_SPARES) or are removed; anything else (a subdirectory, a link)
 * makes it unusable. Returns 0 when only spares are left. */
static int empty_for_reuse(const char *dir)
{
    int taken[CF_FILES_SPARES] = {0};
    char path[PATH_MAX];
    char spare[PATH_MAX];
    struct dirent *e;
    int rc = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    /* The spares already there keep their names. */
    while ((e = readdir(d)) != NULL) {
        int k;
        if (sscanf(e->d_name, ".spare-%d", &k) == 1 && k >= 0 && k < CF_FILES_SPARES)
            taken[k] = 1;
    }
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strncmp(e->d_name, ".spare-", 7) == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = -1;
            break;
        }
        int k = 0;
        while (k < CF_FILES_SPARES && taken[k])
            k++;
        if (k < CF_FILES_SPARES) {
            snprintf(spare, sizeof spare, "%s/.spare-%d", dir, k);
            if (truncate(path, 0) == 0 && rename(path, spare) == 0) {
                taken[k] = 1;
                continue;
            }
        }
        if (unlink(path) != 0) {
            rc = -1;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* A form's spooled file that value names (not moved in: the prediction
 * ended before its inputs were made local), removed with its directory
 * when that was the last one. */
static void remove_spooled(const json_t *value)
{
    char path[PATH_MAX];
    cf_error ignored;
    const char *s = json_string_value(value);
    if (s == NULL || strncmp(s, CF_FORM_SCHEME, strlen(CF_FORM_SCHEME)) != 0 ||
        cf_form_file_path(s, path, sizeof path, &ignored) != CF_OK)
        return;
    unlink(path);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    rmdir(path);
}

void cf_files_cleanup(cf_prediction *p)
{
    const char *name;
    json_t *kind;
    if (p->kinds && p->input_worker) {
        json_object_foreach(p->kinds, name, kind) {
            json_t *v = json_object_get(p->input_worker, name);
            size_t i;
            json_t *item;
            if (json_is_array(v)) {
                json_array_foreach(v, i, item)
                    remove_spooled(item);
            } else {
                remove_spooled(v);
            }
        }
    }
    if (p->tempdir == NULL)
        return;
    int kept = 0;
    if (made_here(p->tempdir) && empty_for_reuse(p->tempdir) == 0) {
        pthread_mutex_lock(&pool_lock);
        if (pool_len < CF_FILES_POOL) {
            pool[pool_len++] = p->tempdir;
            kept = 1;
            if (!pool_atexit)
                pool_atexit = atexit(pool_remove_all) == 0;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    if (!kept) {
        nftw(p->tempdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(p->tempdir);
    }
    p->tempdir = NULL;
}
