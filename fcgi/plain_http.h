/* plain_http.h - answering a plain HTTP request that reached the FastCGI port. */
#ifndef CF_PLAIN_HTTP_H
#define CF_PLAIN_HTTP_H

#include <stddef.h>

/* Remembers what nginx's fastcgi_pass should name for listen_fd ("127.0.0.1:9000",
 * "unix:/run/cog-fcgi/cog.sock"), for the hint. Call once before serving. */
void cf_plain_http_init(int listen_fd);

/* 1 when the bytes waiting on connection fd are an HTTP request line (a method in capitals
 * and a space) rather than a FastCGI record (whose first byte is the version, 1). Does not
 * consume them, does not block. */
int cf_plain_http_detect(int fd);

/* Answers the HTTP request on fd with `HTTP/1.0 400` and a text page saying that this port
 * speaks FastCGI and how to put nginx in front, then closes fd. The first time, logs the
 * hint (CF0509) for the operator. */
void cf_plain_http_answer(int fd);

/* The page's text for a listener (pass as fastcgi_pass names it), in buf. Pure, for tests. */
void cf_plain_http_page(const char *pass, char *buf, size_t len);

#endif
