/* sse.h - server-sent events: framing, keep-alive, Accept and Last-Event-ID.
 *
 * The pure pieces (formatting an event, reading the headers) are apart
 * from the one that writes to the FastCGI stream, so that they can be
 * tested without a web server. Every event written is flushed at once: a
 * FastCGI record leaves for the web server per event, which passes it on
 * because the response says X-Accel-Buffering: no (nginx) and Apache's
 * mod_proxy_fcgi is configured with flushpackets=on.
 */
#ifndef CF_SSE_H
#define CF_SSE_H

#include <fcgiapp.h>
#include <stddef.h>

/* 1 when an Accept header value lists text/event-stream with a q above 0
 * (media ranges such as "text/ *" or "* / *" do not count: a client that did
 * not name the format gets JSON). NULL gives 0. */
int cf_sse_accepts(const char *accept);

/* Reads a Last-Event-ID header: a decimal event number. Returns it, or -1
 * when the header is absent or not a number. */
long long cf_sse_last_event_id(const char *header);

/* Formats one event: an optional "id: ID" line, "event: NAME", the data
 * split into "data: " lines at each \n (a \r\n or \r counts as one), and
 * the blank line that ends it. id may be NULL. Returns a malloc'd string
 * with its length in *len, or NULL when out of memory. */
char *cf_sse_format(const char *id, const char *name, const char *data, size_t data_len,
                    size_t *len);

/* Writes the response head of an event stream (200, text/event-stream,
 * no caching, X-Accel-Buffering: no, plus extra_headers, "Name: value\r\n"
 * lines or NULL) and flushes it. 0, or -1 when the web server is gone. */
int cf_sse_begin(FCGX_Stream *out, const char *extra_headers);

/* Writes one event (see cf_sse_format) and flushes it. 0, or -1 when the
 * web server is gone or out of memory. */
int cf_sse_send(FCGX_Stream *out, const char *id, const char *name, const char *data,
                size_t data_len);

/* Writes the comment line ": text" and flushes it: the keep-alive. */
int cf_sse_comment(FCGX_Stream *out, const char *text);

/* Seconds between keep-alive comments: 15 as Cog, or the environment's
 * COG_FCGI_SSE_KEEPALIVE (a positive number of seconds, for tests). */
double cf_sse_keepalive_interval(void);

#endif
