/* http_client.h - the front's one HTTP client: libcurl, loaded on first use.
 *
 * The front does not link libcurl: its ~30 dependencies (OpenSSL, GnuTLS,
 * Kerberos, LDAP, ...) would cost megabytes of resident pages in a process
 * that must stay small and that most deployments never use for HTTP. The
 * first call here dlopen()s "libcurl.so.4" (or $COG_FCGI_LIBCURL), runs
 * curl_global_init once, and every call goes through a table of function
 * pointers. When libcurl cannot be loaded each call fails with CF_EFETCH and
 * "libcurl is not installed: ...".
 *
 * Every function is thread-safe and blocking; each call uses its own curl
 * handle. Only http:// and https:// URLs are fetched, on redirects too.
 */
#ifndef CF_HTTP_CLIENT_H
#define CF_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fetch_policy.h"

/* Flags for cf_http_request and cf_http_put_file. */
enum {
    CF_HTTP_FOLLOW = 1, /* follow up to 10 redirects (http/https only) */
    CF_HTTP_POLICY = 2, /* apply the process's fetch policy (webhooks, uploads): a
                         * caller-given URL never reaches cloud metadata */
};

/* Bodies kept in a response beyond this are dropped (body_truncated). */
#define CF_HTTP_MAX_BODY (8u << 20)

/* Caller-owned; cf_http_response_cleanup frees what the calls filled in. */
typedef struct cf_http_response {
    long status;        /* of the last response */
    char *location;     /* Location header of the last response, or NULL */
    char *final_url;    /* URL of the last request (after redirects), or NULL */
    char *body;         /* NUL-terminated (body_len excludes the NUL), or NULL */
    size_t body_len;
    int body_truncated; /* 1 when more than CF_HTTP_MAX_BODY bytes came */
    char *header;       /* value of cf_http_call.want_header in the last response, or NULL */
} cf_http_response;

/* Loads libcurl if not done yet. 0 when it is usable, else CF_EFETCH with
 * "libcurl is not installed: <why>" (the same error every call gives). */
int cf_http_available(cf_error *err);

/* Sends one request. method is "GET", "HEAD", "POST", "PUT", "DELETE", ...;
 * headers is NULL or a NULL-terminated array of "Name: value" lines; body
 * (body_len bytes, may be NULL) is sent for any method but GET and HEAD.
 * timeout_s bounds the whole exchange (0: no bound; connecting is bounded
 * by 30 s in any case). Returns 0 when an HTTP answer came, whatever its
 * status, and fills *resp (which the caller cleans up, also on failure);
 * CF_EFETCH with libcurl's message in err when none came (connection
 * refused, timeout, bad URL, libcurl missing), CF_ENOMEM. */
int cf_http_request(const char *method, const char *url, const char *const *headers,
                    const void *body, size_t body_len, double timeout_s, unsigned flags,
                    cf_http_response *resp, cf_error *err);

/* Frees what *r holds and zeroes it; a zeroed response is a no-op. */
void cf_http_response_cleanup(cf_http_response *r);

/* GETs url into a new file at path (which must not exist), following
 * redirects. An HTTP status >= 400 is a failure. Returns 0, or CF_EFETCH
 * with libcurl's message (e.g. "The requested URL returned error: 404"),
 * or CF_EIO when path cannot be written; path is removed on failure. */
int cf_http_download(const char *url, const char *path, double timeout_s, cf_error *err);

/* cf_http_download for URL inputs, under policy (see fetch_policy.h): the
 * URL's host is checked before anything is sent, and every address right
 * before it is connected to, on redirects too; policy's time limit bounds
 * the whole download and its size limit the bytes kept (with or without a
 * Content-Length). Failures are CF_EFETCH with the reason alone, e.g.
 * "address 169.254.169.254 is denied by the fetch policy (link-local/cloud
 * metadata)", "the file is larger than the limit of N bytes" or "not done
 * within the time limit of N s (...)"; otherwise as cf_http_download. */
int cf_http_fetch(const char *url, const char *path, const cf_fetch_policy *policy,
                  cf_error *err);

/* PUTs the file at path to url: its raw bytes with Content-Type
 * content_type (NULL: none), or, when multipart is set, a
 * multipart/form-data body with one field "file" whose filename is path's
 * basename (Cog's output_file_prefix). headers and flags as for
 * cf_http_request; returns as it does, or CF_EIO when path cannot be read. */
int cf_http_put_file(const char *url, const char *path, const char *content_type, int multipart,
                     const char *const *headers, double timeout_s, unsigned flags,
                     cf_http_response *resp, cf_error *err);

/* One request with every option cf_http_call_run knows (object storage:
 * SigV4 signing, a file range as the body, a body saved to a file). Fields
 * left zero/NULL are not used. */
typedef struct cf_http_call {
    const char *method;          /* "GET", "PUT", "POST", "DELETE", "HEAD" */
    const char *url;
    const char *const *headers;  /* NULL-terminated "Name: value" lines, or NULL */
    const void *body;            /* an in-memory body of body_len bytes... */
    size_t body_len;
    const char *in_path;         /* ...or in_len bytes of this file from in_offset */
    uint64_t in_offset, in_len;  /* (streamed: never whole in memory) */
    const char *out_path;        /* a 2xx answer's body goes to this new file
                                  * (removed on failure); others stay in resp->body */
    uint64_t out_limit;          /* most bytes kept in out_path; 0: no limit */
    const char *aws_sigv4;       /* CURLOPT_AWS_SIGV4, e.g. "aws:amz:us-east-1:s3" */
    const char *userpwd;         /* "ACCESS_KEY:SECRET" signing with aws_sigv4 */
    const char *want_header;     /* a header name whose value goes to resp->header */
    double timeout_s;            /* as for cf_http_request */
    unsigned flags;              /* CF_HTTP_FOLLOW, CF_HTTP_POLICY */
    const cf_fetch_policy *policy; /* applied instead of the process's, or NULL */
} cf_http_call;

/* Runs *call. Returns as cf_http_request does (0 when an HTTP answer came,
 * whatever its status), or CF_EIO when in_path cannot be read or out_path
 * written. */
int cf_http_call_run(const cf_http_call *call, cf_http_response *resp, cf_error *err);

#endif
