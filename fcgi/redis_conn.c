/* redis_conn.c - one connection to Redis over hiredis: URL parsing, connect, argv commands. */
#include "redis_conn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct cf_redis {
    cf_redis_target t;
    double timeout_s;
    redisContext *ctx; /* NULL while disconnected */
};

/* Percent-decodes src[0..n) into dst (size len). -1 when it does not fit or
 * a %XX is malformed. */
static int pct_decode(const char *src, size_t n, char *dst, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)src[i];
        if (ch == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)src[i + 1]) ||
                !isxdigit((unsigned char)src[i + 2]))
                return -1;
            char hex[3] = {src[i + 1], src[i + 2], 0};
            ch = (int)strtol(hex, NULL, 16);
            i += 2;
        }
        if (o + 1 >= len)
            return -1;
        dst[o++] = (char)ch;
    }
    dst[o] = '\0';
    return 0;
}

int cf_redis_url_parse(const char *url, cf_redis_target *t, cf_error *err)
{
    memset(t, 0, sizeof *t);
    t->port = 6379;
    static const char scheme[] = "redis://";
    if (url == NULL || strncmp(url, scheme, sizeof scheme - 1) != 0)
        return cf_error_set(err, CF_EINVAL, "--redis: expected redis://[:PASSWORD@]HOST[:PORT][/DB], got \"%s\"",
                            url ? url : "");
    const char *s = url + sizeof scheme - 1;
    const char *end = s + strcspn(s, "/?#");
    const char *at = NULL;
    for (const char *p = s; p < end; p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        const char *uend = colon ? colon : at;
        if (pct_decode(s, (size_t)(uend - s), t->user, sizeof t->user) != 0 ||
            (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), t->password,
                                 sizeof t->password) != 0))
            return cf_error_set(err, CF_EINVAL, "--redis: the user or password of the URL is malformed");
        s = at + 1;
    }
    const char *hend;
    const char *port = NULL;
    if (*s == '[') {
        const char *rb = memchr(s, ']', (size_t)(end - s));
        if (rb == NULL)
            return cf_error_set(err, CF_EINVAL, "--redis: unclosed [ in the host of \"%s\"", url);
        if (rb + 1 < end && rb[1] != ':')
            return cf_error_set(err, CF_EINVAL, "--redis: text after the ] of \"%s\"", url);
        if (rb + 1 < end)
            port = rb + 2;
        hend = rb;
        s++;
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        hend = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    size_t hlen = (size_t)(hend - s);
    if (hlen == 0 || hlen >= sizeof t->host)
        return cf_error_set(err, CF_EINVAL, "--redis: no host in \"%s\"", url);
    memcpy(t->host, s, hlen);
    t->host[hlen] = '\0';
    if (port) {
        char buf[16];
        size_t plen = (size_t)(end - port);
        char *pe;
        if (plen == 0 || plen >= sizeof buf)
            return cf_error_set(err, CF_EINVAL, "--redis: bad port in \"%s\"", url);
        memcpy(buf, port, plen);
        buf[plen] = '\0';
        long v = strtol(buf, &pe, 10);
        if (*pe != '\0' || !isdigit((unsigned char)buf[0]) || v < 1 || v > 65535)
            return cf_error_set(err, CF_EINVAL, "--redis: bad port in \"%s\"", url);
        t->port = (int)v;
    }
    if (*end == '/' && end[1] != '\0') {
        char *pe;
        long v = strtol(end + 1, &pe, 10);
        if (!isdigit((unsigned char)end[1]) || *pe != '\0' || v < 0 || v > 1000000)
            return cf_error_set(err, CF_EINVAL, "--redis: the database must be a number, in \"%s\"", url);
        t->db = (int)v;
    } else if (*end != '\0' && strcmp(end, "/") != 0) {
        return cf_error_set(err, CF_EINVAL, "--redis: unexpected \"%s\" in the URL", end);
    }
    return CF_OK;
}

cf_redis *cf_redis_new(const cf_redis_target *t, double timeout_s)
{
    cf_redis *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->t = *t;
    c->timeout_s = timeout_s > 0 ? timeout_s : 5;
    return c;
}

void cf_redis_disconnect(cf_redis *c)
{
    if (c && c->ctx) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
}

void cf_redis_free(cf_redis *c)
{
    if (c == NULL)
        return;
    cf_redis_disconnect(c);
    memset(c->t.password, 0, sizeof c->t.password);
    free(c);
}

int cf_redis_connected(const cf_redis *c)
{
    return c->ctx != NULL;
}

/* A failed context's reason into err, then dropped. */
static int lost(cf_redis *c, cf_error *err, const char *what)
{
    cf_error_set(err, CF_EIO, "redis %s:%d: %s: %s", c->t.host, c->t.port, what,
                 c->ctx && c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
    cf_redis_disconnect(c);
    return CF_EIO;
}

/* Takes a reply from hiredis: NULL means the connection failed; an error
 * reply is turned into CF_EPROTO. */
static int take(cf_redis *c, redisReply *r, redisReply **out, cf_error *err, const char *what)
{
    if (out)
        *out = NULL;
    if (r == NULL)
        return lost(c, err, what);
    if (r->type == REDIS_REPLY_ERROR) {
        cf_error_set(err, CF_EPROTO, "redis %s: %s", what, r->str ? r->str : "error");
        freeReplyObject(r);
        return CF_EPROTO;
    }
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return CF_OK;
}

int cf_redis_cmd(cf_redis *c, redisReply **out, cf_error *err, int argc, const char **argv)
{
    if (out)
        *out = NULL;
    if (c->ctx == NULL)
        return cf_error_set(err, CF_EIO, "redis %s:%d: not connected", c->t.host, c->t.port);
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, NULL);
    return take(c, r, out, err, argv[0]);
}

int cf_redis_append(cf_redis *c, cf_error *err, int argc, const char **argv)
{
    if (c->ctx == NULL)
        return cf_error_set(err, CF_EIO, "redis %s:%d: not connected", c->t.host, c->t.port);
    if (redisAppendCommandArgv(c->ctx, argc, argv, NULL) != REDIS_OK)
        return lost(c, err, argv[0]);
    return CF_OK;
}

int cf_redis_reply(cf_redis *c, redisReply **out, cf_error *err)
{
    if (out)
        *out = NULL;
    if (c->ctx == NULL)
        return cf_error_set(err, CF_EIO, "redis %s:%d: not connected", c->t.host, c->t.port);
    void *r = NULL;
    if (redisGetReply(c->ctx, &r) != REDIS_OK)
        return lost(c, err, "reply");
    return take(c, r, out, err, "command");
}

int cf_redis_connect(cf_redis *c, cf_error *err)
{
    if (c->ctx)
        return CF_OK;
    struct timeval tv = {.tv_sec = (long)c->timeout_s,
                         .tv_usec = (long)((c->timeout_s - (long)c->timeout_s) * 1e6)};
    c->ctx = redisConnectWithTimeout(c->t.host, c->t.port, tv);
    if (c->ctx == NULL)
        return cf_error_set(err, CF_EIO, "redis %s:%d: out of memory", c->t.host, c->t.port);
    if (c->ctx->err)
        return lost(c, err, "connect");
    /* The same limit on every command: a Redis that stops answering is a
     * lost connection, not a hang. Blocking reads stay below it. */
    if (redisSetTimeout(c->ctx, tv) != REDIS_OK)
        return lost(c, err, "connect");
    int rc;
    if (c->t.password[0]) {
        const char *auth_user[] = {"AUTH", c->t.user, c->t.password};
        const char *auth[] = {"AUTH", c->t.password};
        rc = c->t.user[0] ? cf_redis_cmd(c, NULL, err, 3, auth_user) : cf_redis_cmd(c, NULL, err, 2, auth);
        if (rc != CF_OK) {
            cf_redis_disconnect(c);
            return CF_EIO;
        }
    }
    if (c->t.db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", c->t.db);
        const char *sel[] = {"SELECT", db};
        if ((rc = cf_redis_cmd(c, NULL, err, 2, sel)) != CF_OK) {
            cf_redis_disconnect(c);
            return CF_EIO;
        }
    }
    return CF_OK;
}
