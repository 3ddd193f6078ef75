/* http.c - request parameters, body reading and response writing. */
#include "http.h"

#include "decimal.h"
#include "fcgi_out.h"
#include "json_out.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parameters a request is read for, found in one pass over envp:
 * FCGX_GetParam walks all of it (thirty-odd strncmp) for each name. */
typedef struct params {
    const char *method, *request_uri, *document_uri, *script_name, *content_type, *content_length,
        *prefer, *accept, *traceparent, *tracestate, *cancel_after, *remote_user;
} params;

static void find_params(char **envp, params *out)
{
    static const struct {
        const char *name;
        size_t len;
        size_t off;
    } wanted[] = {
#define WANT(name, field) {name, sizeof name - 1, offsetof(params, field)}
        WANT("REQUEST_METHOD", method),     WANT("REQUEST_URI", request_uri),
        WANT("DOCUMENT_URI", document_uri), WANT("SCRIPT_NAME", script_name),
        WANT("CONTENT_TYPE", content_type), WANT("CONTENT_LENGTH", content_length),
        WANT("HTTP_PREFER", prefer),        WANT("HTTP_ACCEPT", accept),
        WANT("HTTP_TRACEPARENT", traceparent), WANT("HTTP_TRACESTATE", tracestate),
        WANT("HTTP_CANCEL_AFTER", cancel_after), WANT("REMOTE_USER", remote_user),
#undef WANT
    };
    memset(out, 0, sizeof *out);
    for (char **e = envp; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        size_t n = (size_t)(eq - *e);
        for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
            if (wanted[i].len != n || memcmp(*e, wanted[i].name, n) != 0)
                continue;
            const char **slot = (const char **)(void *)((char *)out + wanted[i].off);
            if (*slot == NULL)
                *slot = eq + 1; /* the first, as FCGX_GetParam answers */
            break;
        }
    }
}

static char *dup_or_null(const char *v)
{
    return v ? strdup(v) : NULL;
}

int cf_request_load(cf_request *req, FCGX_Request *fcgx, size_t max_body, cf_error *err)
{
    memset(req, 0, sizeof *req);
    req->fcgx = fcgx;
    params pm;
    find_params(fcgx->envp, &pm);
    req->method = strdup(pm.method ? pm.method : "GET");
    /* Route on REQUEST_URI: SCRIPT_NAME/PATH_INFO differ between nginx,
     * mod_proxy_fcgi and mod_fcgid. */
    const char *uri = pm.request_uri;
    if (uri == NULL)
        uri = pm.document_uri;
    if (uri == NULL)
        uri = pm.script_name;
    if (uri == NULL || *uri == '\0')
        uri = "/";
    size_t plen = strcspn(uri, "?");
    req->path = strndup(uri, plen);
    req->query = strdup(uri[plen] == '?' ? uri + plen + 1 : "");
    req->content_type = dup_or_null(pm.content_type);
    req->prefer = dup_or_null(pm.prefer);
    req->accept = dup_or_null(pm.accept);
    req->traceparent = dup_or_null(pm.traceparent);
    req->tracestate = dup_or_null(pm.tracestate);
    req->cancel_after = dup_or_null(pm.cancel_after);
    req->remote_user = dup_or_null(pm.remote_user);
    if (req->method == NULL || req->path == NULL || req->query == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory");

    /* multipart/form-data: streamed, file parts spooled to disk (multipart.h) */
    char boundary[80];
    if (cf_multipart_boundary(req->content_type, boundary, sizeof boundary)) {
        req->form = malloc(sizeof *req->form);
        if (req->form == NULL)
            return cf_error_set(err, CF_ENOMEM, "out of memory");
        cf_error_clear(&req->form_error);
        cf_multipart_read(fcgx->in, boundary, max_body, req->form, &req->body_too_large,
                          &req->form_error);
        return CF_OK;
    }
    /* Read to EOF whatever CONTENT_LENGTH says: it may be empty or missing.
     * A declared length (up to max_body) sizes the buffer once and libfcgi
     * copies straight into it: one copy of the body, no realloc. */
    size_t cap = 0, len = 0;
    char *buf = NULL;
    const char *declared = pm.content_length;
    if (declared != NULL && *declared != '\0') {
        char *end = NULL;
        unsigned long long want = strtoull(declared, &end, 10);
        if (end != NULL && *end == '\0' && want > 0 && want <= max_body) {
            buf = malloc((size_t)want + 1);
            cap = buf != NULL ? (size_t)want + 1 : 0;
        }
    }
    /* Reads go into buf while it has room, else into drain: past the
     * limit (kept reading so the web server sees the body consumed), or to
     * find out whether there is more before buf grows. */
    char drain[65536];
    for (;;) {
        char *dst = drain;
        size_t room = sizeof drain;
        if (!req->body_too_large && len + 1 < cap) {
            dst = buf + len;
            room = cap - len - 1;
        }
        if (room > (size_t)1 << 30)
            room = (size_t)1 << 30;
        int n = FCGX_GetStr(dst, (int)room, fcgx->in);
        if (n <= 0)
            break;
        if (req->body_too_large)
            continue;
        if (len + (size_t)n > max_body) {
            req->body_too_large = 1;
            continue;
        }
        if (dst == drain) {
            size_t ncap = cap ? cap * 2 : 65536;
            while (ncap < len + (size_t)n + 1)
                ncap *= 2;
            char *grown = realloc(buf, ncap);
            if (grown == NULL) {
                free(buf);
                return cf_error_set(err, CF_ENOMEM, "out of memory for the request body");
            }
            buf = grown;
            cap = ncap;
            memcpy(buf + len, drain, (size_t)n);
        }
        len += (size_t)n;
    }
    if (buf)
        buf[len] = '\0';
    req->body = buf;
    req->body_len = len;
    return CF_OK;
}

void cf_request_cleanup(cf_request *req)
{
    free(req->method);
    free(req->path);
    free(req->query);
    free(req->content_type);
    free(req->prefer);
    free(req->accept);
    free(req->traceparent);
    free(req->tracestate);
    free(req->cancel_after);
    free(req->remote_user);
    free(req->body);
    if (req->form) {
        cf_form_free(req->form);
        free(req->form);
    }
    memset(req, 0, sizeof *req);
}

const char *cf_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    }
    return "Unknown";
}

/* head_put: appends n bytes at *pos if they fit in cap (one byte kept). */
static int head_put(char *head, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos + n >= cap)
        return -1;
    memcpy(head + *pos, s, n);
    *pos += n;
    return 0;
}

/* The CGI response head: Status, Content-Type, Content-Length, the extra
 * headers (each ending in CRLF) and the blank line. Returns its length, or
 * -1 when it does not fit in cap. Put together by hand: snprintf was 3% of
 * the front's work for a no-op prediction. */
static int response_head(char *head, size_t cap, int status, const char *content_type,
                         size_t len, const char *extra)
{
    char digits[CF_DECIMAL_MAX];
    size_t nd = cf_decimal(digits, len), pos = 0;
    char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), ' '};
    const char *reason = cf_http_reason(status);
    extra = extra ? extra : "";
    if (status < 100 || status > 999 || head_put(head, cap, &pos, "Status: ", 8) != 0 ||
        head_put(head, cap, &pos, code, 4) != 0 ||
        head_put(head, cap, &pos, reason, strlen(reason)) != 0 ||
        head_put(head, cap, &pos, "\r\nContent-Type: ", 16) != 0 ||
        head_put(head, cap, &pos, content_type, strlen(content_type)) != 0 ||
        head_put(head, cap, &pos, "\r\nContent-Length: ", 18) != 0 ||
        head_put(head, cap, &pos, digits, nd) != 0 ||
        head_put(head, cap, &pos, "\r\n", 2) != 0 ||
        head_put(head, cap, &pos, extra, strlen(extra)) != 0 ||
        head_put(head, cap, &pos, "\r\n", 2) != 0)
        return -1;
    return (int)pos;
}

void cf_respond_raw(cf_request *req, int status, const char *content_type, const char *body,
                    size_t len, const char *extra_headers)
{
    static const char failed[] = "Status: 500 Internal Server Error\r\n\r\n";
    char head[1024];
    int n = response_head(head, sizeof head, status, content_type, len, extra_headers);
    if (n < 0) {
        FCGX_PutStr(failed, sizeof failed - 1, req->fcgx->out);
        return;
    }
    FCGX_PutStr(head, n, req->fcgx->out);
    if (len > 0)
        cf_fcgi_out_write(req->fcgx, body, len); /* a failure is the web server gone */
}

/* The response head goes out with the first piece of the body, so that a
 * writer that cannot start (memory) leaves room for a 500 instead. */
typedef struct cf_respond_stream {
    FCGX_Request *fcgx;
    const char *head;
    int head_len;
} cf_respond_stream;

static int cf_respond_sink(void *vctx, const char *data, size_t len)
{
    cf_respond_stream *st = vctx;
    if (st->head != NULL) {
        FCGX_PutStr(st->head, st->head_len, st->fcgx->out);
        st->head = NULL;
    }
    return cf_fcgi_out_write(st->fcgx, data, len);
}

/* A large body (a data URI echoed, a file output) is streamed: its length
 * counted first for Content-Length, then its text written piece by piece
 * from the json_t's own strings, never built whole. */
void cf_respond_json(cf_request *req, int status, const json_t *body, const char *extra_headers)
{
    static const char oom[] = "{\"detail\":\"out of memory\"}";
    size_t len;
    char *text = cf_json_dumps_upto(body, CF_FCGI_OUT_DIRECT_MIN - 1, &len);
    if (text != NULL) {
        cf_respond_raw(req, status, "application/json", text, len, extra_headers);
        free(text);
        return;
    }
    if (len >= CF_FCGI_OUT_DIRECT_MIN) {
        /* len is its whole length: the walk went on counting past the limit */
        char head[1024];
        int n = response_head(head, sizeof head, status, "application/json", len, extra_headers);
        if (n > 0) {
            cf_respond_stream st = {req->fcgx, head, n};
            if (cf_json_write(body, cf_respond_sink, &st) == 0 || st.head == NULL)
                return; /* sent, or cut short by the web server going away */
        }
        cf_respond_raw(req, 500, "application/json", oom, sizeof oom - 1, NULL);
        return;
    }
    cf_respond_raw(req, 500, "application/json", oom, sizeof oom - 1, NULL);
}

void cf_respond_detail(cf_request *req, int status, const char *detail)
{
    json_t *body = json_pack("{s:s}", "detail", detail);
    cf_respond_json(req, status, body, NULL);
    json_decref(body);
}
