/* redis_conn.h - one connection to Redis (hiredis underneath): URL, connect, commands.
 *
 * A small wrapper so that the queue worker reads as Redis commands and never
 * as hiredis bookkeeping: a redis:// URL is parsed once, the connection is
 * made (AUTH, SELECT) on demand, and every command is an argv of strings
 * that answers a reply, a Redis error, or "connection lost". After a lost
 * connection the context is dropped and the next cf_redis_connect makes a
 * new one: the caller decides when (backoff).
 */
#ifndef CF_REDIS_CONN_H
#define CF_REDIS_CONN_H

#include <hiredis/hiredis.h>

#include "error.h"

typedef struct cf_redis_target {
    char host[256];
    int port;          /* default 6379 */
    int db;            /* default 0 */
    char user[128];    /* ACL user, "" = none */
    char password[256]; /* "" = no AUTH */
} cf_redis_target;

/* Parses redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (user and password
 * percent-decoded; an IPv6 host in brackets). CF_EINVAL naming what is
 * wrong, else 0. */
int cf_redis_url_parse(const char *url, cf_redis_target *t, cf_error *err);

typedef struct cf_redis cf_redis;

/* A handle on target (copied); not connected yet. NULL on out-of-memory. */
cf_redis *cf_redis_new(const cf_redis_target *t, double timeout_s);
/* Closes and frees. NULL is a no-op. */
void cf_redis_free(cf_redis *c);

/* Connects (if not connected), authenticates and selects the db. 0, or
 * CF_EIO with the reason (refused, timed out, AUTH refused...). */
int cf_redis_connect(cf_redis *c, cf_error *err);
int cf_redis_connected(const cf_redis *c);
/* Drops the connection (the next command fails until cf_redis_connect). */
void cf_redis_disconnect(cf_redis *c);

/* Runs one command (argc NUL-terminated strings). On 0, *out is the reply
 * (the caller frees it with freeReplyObject). CF_EPROTO when Redis answered
 * an error (its text in err, no reply kept); CF_EIO when the connection
 * failed, which also disconnects. */
int cf_redis_cmd(cf_redis *c, redisReply **out, cf_error *err, int argc, const char **argv);

/* Pipelining: cf_redis_append queues a command, cf_redis_reply reads the
 * next reply in order, with the same results as cf_redis_cmd. */
int cf_redis_append(cf_redis *c, cf_error *err, int argc, const char **argv);
int cf_redis_reply(cf_redis *c, redisReply **out, cf_error *err);

#endif
