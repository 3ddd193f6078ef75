/* http.h - one FastCGI request copied into our own struct, and responses.
 *
 * libfcgi's parameter memory is gone at the next accept, so everything a
 * handler needs is copied here right after accept.
 */
#ifndef CF_HTTP_H
#define CF_HTTP_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "multipart.h"

typedef struct cf_request {
    FCGX_Request *fcgx;
    char *method;
    char *path;          /* decoded-free path of REQUEST_URI, no query */
    char *query;         /* after '?', or "" */
    char *content_type;  /* or NULL */
    char *prefer;        /* Prefer header or NULL */
    char *accept;
    char *traceparent;
    char *tracestate;
    char *cancel_after;  /* Cancel-After header or NULL */
    char *remote_user;
    char *body;          /* NUL-terminated copy, or NULL when empty */
    size_t body_len;
    int body_too_large;  /* more than max_body bytes were sent */
    cf_form *form;       /* a multipart/form-data body, read as it came (multipart.h), or NULL */
    cf_error form_error; /* why that body could not be read (code 0: it could) */
    int detached;        /* a handler moved it to the heap to answer it later
                          * (cf_server_detach): the thread is done with it */
} cf_request;

/* Copies the parameters and reads the body to EOF (at most max_body bytes
 * are kept). 0, or CF_ENOMEM. */
int cf_request_load(cf_request *req, FCGX_Request *fcgx, size_t max_body, cf_error *err);
void cf_request_cleanup(cf_request *req);

/* Writes a response with a JSON body (borrowed). extra_headers is NULL or
 * "Name: value\r\n..." lines. */
void cf_respond_json(cf_request *req, int status, const json_t *body, const char *extra_headers);
/* A {"detail": text} body. */
void cf_respond_detail(cf_request *req, int status, const char *detail);
void cf_respond_raw(cf_request *req, int status, const char *content_type, const char *body,
                    size_t len, const char *extra_headers);

const char *cf_http_reason(int status);

#endif
