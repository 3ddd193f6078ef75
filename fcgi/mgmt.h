/* mgmt.h - FastCGI management records (FCGI_GET_VALUES), answered before libfcgi reads a request. */
#ifndef CF_MGMT_H
#define CF_MGMT_H

/* Answers every complete management record (request id 0: FCGI_GET_VALUES,
 * or any other type with FCGI_UNKNOWN_TYPE) waiting at the head of
 * connection fd, without blocking for more. libfcgi answers them too, but
 * only once more bytes follow the record, so a web server that asks and
 * waits would wait forever. max_reqs is what FCGI_MAX_REQS reports.
 *
 * Returns 1 when something else is waiting (a request, or a record too
 * big or not yet complete: libfcgi reads it), 0 when nothing is left to
 * read (watch fd again), and a negative CF_E* code when fd is at EOF or
 * broken (close it). Never reads past the records it answers. */
int cf_mgmt_answer(int fd, int max_reqs);

#endif
