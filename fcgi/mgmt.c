/* mgmt.c - FastCGI management records (FCGI_GET_VALUES), answered before libfcgi reads a request. */
#include "mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"

#define FCGI_HEADER_LEN 8
#define FCGI_VERSION_1 1
#define FCGI_BEGIN_REQUEST 1
#define FCGI_GET_VALUES 9
#define FCGI_GET_VALUES_RESULT 10
#define FCGI_UNKNOWN_TYPE 11
/* Management records are a few names; a bigger one is left to libfcgi. */
#define MGMT_MAX 1024

/* Reads one name-value length (1 or 4 bytes) at *pos; -1 past end. */
static long pair_len(const unsigned char *p, size_t n, size_t *pos)
{
    if (*pos >= n)
        return -1;
    if (!(p[*pos] & 0x80))
        return p[(*pos)++];
    if (*pos + 4 > n)
        return -1;
    long v = ((long)(p[*pos] & 0x7f) << 24) | ((long)p[*pos + 1] << 16) |
             ((long)p[*pos + 2] << 8) | p[*pos + 3];
    *pos += 4;
    return v;
}

/* Appends name=value (both short) to out at *len; 0, or -1 when full. */
static int put_pair(unsigned char *out, size_t cap, size_t *len, const char *name,
                    const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl > 127 || vl > 127 || *len + 2 + nl + vl > cap)
        return -1;
    out[(*len)++] = (unsigned char)nl;
    out[(*len)++] = (unsigned char)vl;
    memcpy(out + *len, name, nl);
    memcpy(out + *len + nl, value, vl);
    *len += nl + vl;
    return 0;
}

/* Our answer to one FCGI_GET_VALUES name, or NULL for a name we do not
 * know (left out of the result, as the spec says). Connections cost no
 * thread, so the limit on them is file descriptors. */
static const char *value_of(const char *name, size_t len, int max_reqs, char *buf, size_t cap)
{
    if (len == 14 && memcmp(name, "FCGI_MAX_CONNS", 14) == 0) {
        struct rlimit rl;
        long conns = 1000;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur > 128)
            conns = (long)rl.rlim_cur - 64;
        snprintf(buf, cap, "%ld", conns);
        return buf;
    }
    if (len == 13 && memcmp(name, "FCGI_MAX_REQS", 13) == 0) {
        snprintf(buf, cap, "%d", max_reqs);
        return buf;
    }
    if (len == 15 && memcmp(name, "FCGI_MPXS_CONNS", 15) == 0)
        return "0";
    return NULL;
}

/* Builds the answer to one management record into out; returns its length. */
static size_t build_answer(int type, const unsigned char *body, size_t blen, int max_reqs,
                           unsigned char *out, size_t cap)
{
    size_t len = FCGI_HEADER_LEN;
    int rtype = FCGI_GET_VALUES_RESULT;
    if (type == FCGI_GET_VALUES) {
        size_t pos = 0;
        while (pos < blen) {
            long nl = pair_len(body, blen, &pos);
            long vl = pair_len(body, blen, &pos);
            if (nl < 0 || vl < 0 || pos + (size_t)nl + (size_t)vl > blen)
                break;
            char name[128], buf[32];
            const char *v = value_of((const char *)body + pos, (size_t)nl, max_reqs, buf, sizeof buf);
            if (v != NULL && (size_t)nl < sizeof name) {
                memcpy(name, body + pos, (size_t)nl);
                name[nl] = '\0';
                put_pair(out, cap - 8, &len, name, v);
            }
            pos += (size_t)nl + (size_t)vl;
        }
    } else {
        rtype = FCGI_UNKNOWN_TYPE;
        memset(out + len, 0, 8);
        out[len] = (unsigned char)type;
        len += 8;
    }
    size_t clen = len - FCGI_HEADER_LEN;
    size_t pad = (8 - clen % 8) % 8;
    memset(out + len, 0, pad);
    out[0] = FCGI_VERSION_1;
    out[1] = (unsigned char)rtype;
    out[2] = out[3] = 0;
    out[4] = (unsigned char)(clen >> 8);
    out[5] = (unsigned char)clen;
    out[6] = (unsigned char)pad;
    out[7] = 0;
    return len + pad;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CF_EIO;
        p += w;
        n -= (size_t)w;
    }
    return CF_OK;
}

int cf_mgmt_answer(int fd, int max_reqs)
{
    unsigned char rec[MGMT_MAX], out[MGMT_MAX];
    for (;;) {
        ssize_t n = recv(fd, rec, FCGI_HEADER_LEN, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : CF_EIO;
        if (n == 0)
            return CF_EIO;
        /* Not a management record, or not all here yet: libfcgi's turn. */
        if (n < FCGI_HEADER_LEN || rec[0] != FCGI_VERSION_1 || rec[1] == FCGI_BEGIN_REQUEST ||
            rec[2] != 0 || rec[3] != 0)
            return 1;
        size_t clen = ((size_t)rec[4] << 8) | rec[5];
        size_t total = FCGI_HEADER_LEN + clen + rec[6];
        if (total > sizeof rec)
            return 1;
        n = recv(fd, rec, total, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)total)
            return 1;
        if (recv(fd, rec, total, MSG_DONTWAIT) != (ssize_t)total)
            return CF_EIO;
        size_t alen = build_answer(rec[1], rec + FCGI_HEADER_LEN, clen, max_reqs, out, sizeof out);
        if (write_all(fd, out, alen) != CF_OK)
            return CF_EIO;
    }
}
