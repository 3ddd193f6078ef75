/* http_client.c - HTTP requests, downloads and uploads through a libcurl loaded on first use. */
#include "http_client.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch_policy.h"

#define DEFAULT_LIBCURL "libcurl.so.4"
#define CONNECT_TIMEOUT_MS 30000L
#define MAX_REDIRECTS 10L

/* The part of libcurl we use, filled by dlsym. <curl/curl.h> gives the
 * types and constants only: nothing here references a libcurl symbol, so
 * the front links without -lcurl. The field names differ from curl's
 * because curl.h defines some of those names as type-checking macros. */
typedef struct curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *c);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
    void (*slist_free_all)(struct curl_slist *list);
    curl_mime *(*mime_init)(CURL *c);
    curl_mimepart *(*mime_addpart)(curl_mime *mime);
    CURLcode (*mime_name)(curl_mimepart *part, const char *name);
    CURLcode (*mime_filedata)(curl_mimepart *part, const char *path);
    CURLcode (*mime_type)(curl_mimepart *part, const char *type);
    void (*mime_free)(curl_mime *mime);
    CURLU *(*url_new)(void);
    CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart part, char **content, unsigned int flags);
    void (*url_cleanup)(CURLU *u);
    void (*free)(void *p);
} curl_api;

/* Written once under api_once, read-only after: the only global state. */
static curl_api api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;
static int api_ok;
static char api_error[512];

/* Loads libcurl and runs curl_global_init, once per process. The handle is
 * never closed: libcurl's global state lives until exit. RTLD_LOCAL keeps
 * its symbols (and OpenSSL's) out of the global namespace. */
static void api_load(void)
{
    const char *name = getenv("COG_FCGI_LIBCURL");
    if (name == NULL || *name == '\0')
        name = DEFAULT_LIBCURL;
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        snprintf(api_error, sizeof api_error, "%s", why ? why : name);
        return;
    }
    /* memcpy because ISO C has no cast from void * to a function pointer. */
#define LOAD(field, symbol)                                                                    \
    do {                                                                                       \
        void *p_ = dlsym(h, symbol);                                                           \
        if (p_ == NULL) {                                                                      \
            snprintf(api_error, sizeof api_error, "%s has no %s", name, symbol);               \
            return;                                                                            \
        }                                                                                      \
        memcpy(&api.field, &p_, sizeof p_);                                                    \
    } while (0)
    LOAD(global_init, "curl_global_init");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
    LOAD(mime_init, "curl_mime_init");
    LOAD(mime_addpart, "curl_mime_addpart");
    LOAD(mime_name, "curl_mime_name");
    LOAD(mime_filedata, "curl_mime_filedata");
    LOAD(mime_type, "curl_mime_type");
    LOAD(mime_free, "curl_mime_free");
    LOAD(url_new, "curl_url");
    LOAD(url_set, "curl_url_set");
    LOAD(url_get, "curl_url_get");
    LOAD(url_cleanup, "curl_url_cleanup");
    LOAD(free, "curl_free");
#undef LOAD
    CURLcode rc = api.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(api_error, sizeof api_error, "curl_global_init failed: %s",
                 api.easy_strerror(rc));
        return;
    }
    api_ok = 1;
}

int cf_http_available(cf_error *err)
{
    pthread_once(&api_once, api_load);
    if (!api_ok)
        return cf_error_set(err, CF_EFETCH, "libcurl is not installed: %s", api_error);
    return CF_OK;
}

void cf_http_response_cleanup(cf_http_response *r)
{
    if (r == NULL)
        return;
    free(r->location);
    free(r->final_url);
    free(r->body);
    free(r->header);
    memset(r, 0, sizeof *r);
}

/* What the callbacks of one transfer share. */
typedef struct exchange {
    cf_http_response *resp; /* NULL: no headers or body kept */
    size_t cap;             /* of resp->body */
    FILE *out;              /* download target, or NULL */
    FILE *in;               /* raw upload source, or NULL */
    int nomem;
    int write_failed; /* errno of a failed write to out, or 0 */
    uint64_t limit;   /* most body bytes wanted (downloads); 0: no limit */
    uint64_t got;     /* body bytes so far */
    int too_big;      /* the body went past limit */
    const cf_fetch_policy *policy; /* checked before each connect, or NULL */
    CURL *c;                       /* the handle, for the URL being connected for */
    cf_error denied;               /* why the policy refused a connection */
    const char *out_path;          /* cf_http_call: a 2xx body's file, opened on first byte */
    int out_decided;               /* the status was looked at for out_path */
    int ranged;                    /* in is read for in_left bytes only */
    uint64_t in_left;
    const char *want_header;       /* cf_http_call: header kept in resp->header */
} exchange;

/* Keeps the body in resp (up to CF_HTTP_MAX_BODY) or writes it to out.
 * Returning less than given makes libcurl stop with CURLE_WRITE_ERROR. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    exchange *x = arg;
    size_t n = size * nmemb;
    if (x->out_path && !x->out_decided) {
        long status = 0;
        x->out_decided = 1;
        api.easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            x->out = fopen(x->out_path, "wbxe");
            if (x->out == NULL) {
                x->write_failed = errno ? errno : EIO;
                return 0;
            }
        } else {
            x->limit = 0; /* an error's body, kept in resp */
        }
    }
    /* Content-Length is checked by CURLOPT_MAXFILESIZE_LARGE; this counts
     * what comes without one (chunked, or until close). */
    x->got += n;
    if (x->limit && x->got > x->limit) {
        x->too_big = 1;
        return 0;
    }
    if (x->out) {
        if (fwrite(data, 1, n, x->out) != n) {
            x->write_failed = errno ? errno : EIO;
            return 0;
        }
        return n;
    }
    if (x->resp == NULL)
        return n;
    cf_http_response *r = x->resp;
    size_t keep = n;
    if (r->body_len + keep > CF_HTTP_MAX_BODY) {
        keep = CF_HTTP_MAX_BODY - r->body_len;
        r->body_truncated = 1;
    }
    if (r->body_len + keep + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < r->body_len + keep + 1)
            cap *= 2;
        char *grown = realloc(r->body, cap);
        if (grown == NULL) {
            x->nomem = 1;
            return 0;
        }
        r->body = grown;
        x->cap = cap;
    }
    memcpy(r->body + r->body_len, data, keep);
    r->body_len += keep;
    r->body[r->body_len] = '\0';
    return n;
}

/* Keeps the Location header of the last response: a status line starts a
 * new response (after a redirect or a 100 Continue) and forgets the last. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    exchange *x = arg;
    size_t n = size * nmemb;
    if (x->resp == NULL)
        return n;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        free(x->resp->location);
        x->resp->location = NULL;
        return n;
    }
    size_t name_len = 9;
    char **slot = &x->resp->location;
    if (n < 9 || strncasecmp(data, "location:", 9) != 0) {
        size_t wl = x->want_header ? strlen(x->want_header) : 0;
        if (wl == 0 || n <= wl || strncasecmp(data, x->want_header, wl) != 0 || data[wl] != ':')
            return n;
        name_len = wl + 1;
        slot = &x->resp->header;
    }
    const char *v = data + name_len, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    char *copy = strndup(v, (size_t)(end - v));
    if (copy == NULL) {
        x->nomem = 1;
        return 0;
    }
    free(*slot);
    *slot = copy;
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
    exchange *x = arg;
    size_t want = size * nitems;
    if (x->ranged && want > x->in_left)
        want = (size_t)x->in_left;
    if (want == 0)
        return 0;
    size_t n = fread(buf, 1, want, x->in);
    if (x->ranged)
        x->in_left -= n;
    if (n == 0 && ferror(x->in))
        return CURL_READFUNC_ABORT;
    return n;
}

/* A header list of `headers` plus "Expect:" (no 100-continue round trip)
 * and `extra` (may be NULL). NULL when out of memory. */
static struct curl_slist *header_list(const char *const *headers, const char *extra)
{
    struct curl_slist *list = api.slist_append(NULL, "Expect:");
    for (size_t i = 0; list && headers && headers[i]; i++) {
        struct curl_slist *next = api.slist_append(list, headers[i]);
        if (next == NULL) {
            api.slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    if (list && extra) {
        struct curl_slist *next = api.slist_append(list, extra);
        if (next == NULL)
            api.slist_free_all(list);
        list = next;
    }
    return list;
}

/* Options every transfer shares. errbuf has CURL_ERROR_SIZE bytes. Fails
 * only when libcurl cannot restrict protocols (older than 7.85). */
static int url_host(const char *url, char *out, size_t len);
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a);

static int set_common(CURL *c, const char *url, struct curl_slist *headers, double timeout_s,
                      unsigned flags, exchange *x, char *errbuf, cf_error *err)
{
    /* A policy (the caller's in x->policy, or the process's with
     * CF_HTTP_POLICY): the URL's host now, so a denied name is never even
     * resolved, and each resolved address at connect. */
    const cf_fetch_policy *policy = x->policy;
    if (policy == NULL && (flags & CF_HTTP_POLICY))
        policy = cf_fetch_policy_get_default();
    if (policy) {
        char host[256];
        int rc;
        if (url_host(url, host, sizeof host) == 0 &&
            (rc = cf_fetch_policy_check(policy, host, NULL, 0, err)) != CF_OK)
            return rc;
        x->policy = policy;
        x->c = c;
        api.easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
        api.easy_setopt(c, CURLOPT_OPENSOCKETDATA, x);
    }
    x->c = c;
    if (api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK)
        return cf_error_set(err, CF_EFETCH, "libcurl is too old: 7.85 or newer is needed");
    api.easy_setopt(c, CURLOPT_URL, url);
    api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    api.easy_setopt(c, CURLOPT_USERAGENT, "cog-fcgi/" CF_VERSION);
    api.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    long connect_ms = CONNECT_TIMEOUT_MS;
    if (timeout_s > 0) {
        long total_ms = (long)(timeout_s * 1000.0);
        if (total_ms < 1)
            total_ms = 1;
        api.easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
        if (total_ms < connect_ms)
            connect_ms = total_ms;
    }
    api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    if (flags & CF_HTTP_FOLLOW) {
        api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        api.easy_setopt(c, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    }
    api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    api.easy_setopt(c, CURLOPT_WRITEDATA, x);
    api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    api.easy_setopt(c, CURLOPT_HEADERDATA, x);
    return CF_OK;
}

/* The host part of url as curl parses it ("[::1]" for IPv6), into out.
 * 0, or -1 when url does not parse or the host does not fit. */
static int url_host(const char *url, char *out, size_t len)
{
    CURLU *u = api.url_new();
    char *host = NULL;
    int rc = -1;
    if (u && api.url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        api.url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && strlen(host) < len) {
        memcpy(out, host, strlen(host) + 1);
        rc = 0;
    }
    if (host)
        api.free(host);
    if (u)
        api.url_cleanup(u);
    return rc;
}

/* libcurl's hook right before it creates each socket, after name
 * resolution, for the first URL and for every redirect: the one place
 * where the address actually connected to is known. A denied address gets
 * CURL_SOCKET_BAD, so libcurl never connects and fails with
 * CURLE_COULDNT_CONNECT (or tries the host's next address); the reason
 * waits in x->denied for perform(). */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    exchange *x = arg;
    char host[1024];
    char *url = NULL;
    cf_error why;
    (void)purpose;
    /* The effective URL is the one this connection is for (after a
     * redirect, the new one): its host is what host-name rules see. */
    if (api.easy_getinfo(x->c, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == NULL ||
        url_host(url, host, sizeof host) != 0) {
        /* never skip the host-name rules */
        cf_error_set(&x->denied, CF_EFETCH, "the fetch policy cannot tell the URL's host");
        return CURL_SOCKET_BAD;
    }
    if (cf_fetch_policy_check(x->policy, host, &a->addr, a->addrlen, &why) != CF_OK) {
        x->denied = why;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Runs the transfer and turns its outcome into our error. On success fills
 * resp's status and final URL. */
static int perform(CURL *c, exchange *x, const char *errbuf, cf_error *err)
{
    CURLcode rc = api.easy_perform(c);
    if (x->nomem)
        return cf_error_set(err, CF_ENOMEM, "out of memory for an HTTP response");
    if (x->write_failed)
        return cf_error_set(err, CF_EIO, "cannot write the download: %s",
                            strerror(x->write_failed));
    /* Our reasons first: libcurl's messages for them say less. */
    if (rc != CURLE_OK && x->denied.code)
        return cf_error_set(err, CF_EFETCH, "%s", x->denied.msg);
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return cf_error_set(err, CF_EFETCH, "the file is larger than the limit of %llu bytes",
                            (unsigned long long)x->limit);
    /* libcurl's low-speed abort is a timeout too; it says "Operation too slow". */
    if (rc == CURLE_OPERATION_TIMEDOUT && x->policy && x->policy->min_rate > 0 &&
        strstr(errbuf, "too slow") != NULL)
        return cf_error_set(err, CF_EFETCH,
                            "slower than the minimum rate of %llu bytes/s over %ld s "
                            "(--fetch-min-rate, --fetch-min-rate-window)",
                            (unsigned long long)x->policy->min_rate,
                            x->policy->min_rate_window_s);
    if (rc == CURLE_OPERATION_TIMEDOUT && x->policy && x->policy->timeout_s > 0)
        return cf_error_set(err, CF_EFETCH, "not done within the time limit of %g s (%s)",
                            x->policy->timeout_s, errbuf[0] ? errbuf : api.easy_strerror(rc));
    if (rc != CURLE_OK)
        return cf_error_set(err, CF_EFETCH, "%s", errbuf[0] ? errbuf : api.easy_strerror(rc));
    if (x->resp) {
        char *url = NULL;
        api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp->status);
        api.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url);
        if (url && (x->resp->final_url = strdup(url)) == NULL)
            return cf_error_set(err, CF_ENOMEM, "out of memory for an HTTP response");
    }
    return CF_OK;
}

int cf_http_request(const char *method, const char *url, const char *const *headers,
                    const void *body, size_t body_len, double timeout_s, unsigned flags,
                    cf_http_response *resp, cf_error *err)
{
    CURL *c = NULL;
    struct curl_slist *list = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    exchange x = {.resp = resp};
    memset(resp, 0, sizeof *resp);
    int rc = cf_http_available(err);
    if (rc != CF_OK)
        goto cleanup;
    c = api.easy_init();
    list = c ? header_list(headers, NULL) : NULL;
    if (list == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory for an HTTP request");
        goto cleanup;
    }
    rc = set_common(c, url, list, timeout_s, flags, &x, errbuf, err);
    if (rc != CF_OK)
        goto cleanup;
    if (strcmp(method, "GET") == 0) {
        api.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        api.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        /* POSTFIELDS sends the body with any method; curl does not copy it. */
        api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        api.easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        if (strcmp(method, "POST") != 0)
            api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = perform(c, &x, errbuf, err);
cleanup:
    if (list)
        api.slist_free_all(list);
    if (c)
        api.easy_cleanup(c);
    return rc;
}

/* cf_http_download and cf_http_fetch: policy may be NULL (no checks). */
static int download(const char *url, const char *path, double timeout_s,
                    const cf_fetch_policy *policy, cf_error *err)
{
    CURL *c = NULL;
    struct curl_slist *list = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    exchange x = {.policy = policy, .limit = policy ? policy->max_bytes : 0};
    int rc = cf_http_available(err);
    if (rc != CF_OK)
        return rc;
    x.out = fopen(path, "wbxe");
    if (x.out == NULL)
        return cf_error_set(err, CF_EIO, "cannot create %s: %s", path, strerror(errno));
    c = api.easy_init();
    list = c ? header_list(NULL, NULL) : NULL;
    if (list == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory for a download");
        goto cleanup;
    }
    rc = set_common(c, url, list, timeout_s, CF_HTTP_FOLLOW, &x, errbuf, err);
    if (rc != CF_OK)
        goto cleanup;
    api.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    api.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    if (x.limit)
        api.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.limit);
    if (policy && policy->min_rate > 0 && policy->min_rate_window_s > 0) {
        api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)policy->min_rate);
        api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, policy->min_rate_window_s);
    }
    rc = perform(c, &x, errbuf, err);
cleanup:
    if (list)
        api.slist_free_all(list);
    if (c)
        api.easy_cleanup(c);
    if (fclose(x.out) != 0 && rc == CF_OK)
        rc = cf_error_set(err, CF_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc != CF_OK)
        unlink(path);
    return rc;
}

int cf_http_download(const char *url, const char *path, double timeout_s, cf_error *err)
{
    return download(url, path, timeout_s, NULL, err);
}

int cf_http_fetch(const char *url, const char *path, const cf_fetch_policy *policy,
                  cf_error *err)
{
    return download(url, path, policy->timeout_s, policy, err);
}

int cf_http_put_file(const char *url, const char *path, const char *content_type, int multipart,
                     const char *const *headers, double timeout_s, unsigned flags,
                     cf_http_response *resp, cf_error *err)
{
    CURL *c = NULL;
    struct curl_slist *list = NULL;
    curl_mime *mime = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    char type_line[512];
    exchange x = {.resp = resp};
    struct stat st;
    memset(resp, 0, sizeof *resp);
    int rc = cf_http_available(err);
    if (rc != CF_OK)
        goto cleanup;
    x.in = fopen(path, "rbe");
    if (x.in == NULL || fstat(fileno(x.in), &st) != 0) {
        rc = cf_error_set(err, CF_EIO, "cannot read %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!multipart && content_type)
        snprintf(type_line, sizeof type_line, "Content-Type: %s", content_type);
    c = api.easy_init();
    list = c ? header_list(headers, !multipart && content_type ? type_line : NULL) : NULL;
    if (list == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory for an upload");
        goto cleanup;
    }
    rc = set_common(c, url, list, timeout_s, flags, &x, errbuf, err);
    if (rc != CF_OK)
        goto cleanup;
    if (multipart) {
        /* curl_mime_filedata names the part after path's basename. */
        curl_mimepart *part = NULL;
        mime = api.mime_init(c);
        part = mime ? api.mime_addpart(mime) : NULL;
        if (part == NULL || api.mime_name(part, "file") != CURLE_OK ||
            api.mime_filedata(part, path) != CURLE_OK ||
            (content_type && api.mime_type(part, content_type) != CURLE_OK)) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory for an upload");
            goto cleanup;
        }
        api.easy_setopt(c, CURLOPT_MIMEPOST, mime);
        api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    } else {
        api.easy_setopt(c, CURLOPT_UPLOAD, 1L);
        api.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        api.easy_setopt(c, CURLOPT_READDATA, &x);
        api.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
    }
    rc = perform(c, &x, errbuf, err);
cleanup:
    if (c)
        api.easy_cleanup(c);
    /* after the handle: curl_mime_free must not run while a handle uses it */
    if (mime)
        api.mime_free(mime);
    if (list)
        api.slist_free_all(list);
    if (x.in)
        fclose(x.in);
    return rc;
}

int cf_http_call_run(const cf_http_call *call, cf_http_response *resp, cf_error *err)
{
    CURL *c = NULL;
    struct curl_slist *list = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    exchange x = {.resp = resp, .policy = call->policy, .out_path = call->out_path,
                  .limit = call->out_limit, .want_header = call->want_header};
    memset(resp, 0, sizeof *resp);
    int rc = cf_http_available(err);
    if (rc != CF_OK)
        return rc;
    if (call->in_path) {
        x.in = fopen(call->in_path, "rbe");
        if (x.in == NULL || fseeko(x.in, (off_t)call->in_offset, SEEK_SET) != 0) {
            rc = cf_error_set(err, CF_EIO, "cannot read %s: %s", call->in_path, strerror(errno));
            goto cleanup;
        }
        x.ranged = 1;
        x.in_left = call->in_len;
    }
    c = api.easy_init();
    list = c ? header_list(call->headers, NULL) : NULL;
    if (list == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory for an HTTP request");
        goto cleanup;
    }
    rc = set_common(c, call->url, list, call->timeout_s, call->flags, &x, errbuf, err);
    if (rc != CF_OK)
        goto cleanup;
    if (call->aws_sigv4) {
        if (api.easy_setopt(c, CURLOPT_AWS_SIGV4, call->aws_sigv4) != CURLE_OK) {
            rc = cf_error_set(err, CF_EFETCH, "libcurl is too old for AWS Signature V4 (7.75+)");
            goto cleanup;
        }
        if (call->userpwd)
            api.easy_setopt(c, CURLOPT_USERPWD, call->userpwd);
    }
    if (x.limit)
        api.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.limit);
    if (call->policy && call->policy->min_rate > 0 && call->policy->min_rate_window_s > 0) {
        api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)call->policy->min_rate);
        api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, call->policy->min_rate_window_s);
    }
    const char *m = call->method;
    if (strcmp(m, "GET") == 0) {
        api.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        api.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (x.in && strcmp(m, "PUT") == 0) {
        api.easy_setopt(c, CURLOPT_UPLOAD, 1L);
        api.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        api.easy_setopt(c, CURLOPT_READDATA, &x);
        api.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->in_len);
    } else {
        api.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        api.easy_setopt(c, CURLOPT_POSTFIELDS, call->body ? (const char *)call->body : "");
        if (strcmp(m, "POST") != 0)
            api.easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    }
    rc = perform(c, &x, errbuf, err);
    if (rc == CF_OK && call->out_path && x.out == NULL && resp->status >= 200 &&
        resp->status < 300) {
        /* an empty 2xx body: the file still exists */
        x.out = fopen(call->out_path, "wbxe");
        if (x.out == NULL)
            rc = cf_error_set(err, CF_EIO, "cannot create %s: %s", call->out_path, strerror(errno));
    }
cleanup:
    if (list)
        api.slist_free_all(list);
    if (c)
        api.easy_cleanup(c);
    if (x.in)
        fclose(x.in);
    if (x.out && x.out_path) {
        if (fclose(x.out) != 0 && rc == CF_OK)
            rc = cf_error_set(err, CF_EIO, "cannot write %s: %s", call->out_path, strerror(errno));
        if (rc != CF_OK)
            unlink(call->out_path);
    }
    return rc;
}
