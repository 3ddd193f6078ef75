/* s3.c - GET, PUT and multipart upload of s3:// objects, and presigned URLs. */
#include "s3.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "log.h"
#include "s3_creds.h"
#include "webhook_sign.h"

#define S3_TIMEOUT_S 600.0 /* one request (a part is 8 MiB) */
#define UNSIGNED "x-amz-content-sha256: UNSIGNED-PAYLOAD"

static cf_s3_config config;

void cf_s3_configure(const cf_s3_config *cfg)
{
    config = *cfg;
}

int cf_s3_is_url(const char *url)
{
    return url && strncasecmp(url, "s3://", 5) == 0;
}

/* A growable string; on out of memory it stays NULL-marked (nomem). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int nomem;
} sbuf;

static void sb_add(sbuf *b, const char *data, size_t n)
{
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *g = realloc(b->s, cap);
        if (g == NULL) {
            b->nomem = 1;
            return;
        }
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* AWS's URI encoding: all but unreserved characters as %XX; '/' kept when
 * keep_slash (object keys). */
static void sb_enc(sbuf *b, const char *s, int keep_slash)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            sb_add(b, (const char *)p, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", *p);
            sb_add(b, hex, 3);
        }
    }
}

/* An s3:// URL resolved against the endpoint. All fields owned. */
typedef struct target {
    char *bucket;
    char *key;
    char *scheme; /* "https" or "http" */
    char *host;   /* host[:port] the request goes to (the bucket's own with virtual hosts) */
    char *path;   /* encoded: /bucket/key (path style) or /key */
    char *region;
} target;

static void target_free(target *t)
{
    free(t->bucket);
    free(t->key);
    free(t->scheme);
    free(t->host);
    free(t->path);
    free(t->region);
    memset(t, 0, sizeof *t);
}

static int target_parse(const char *url, target *t, cf_error *err)
{
    memset(t, 0, sizeof *t);
    if (!cf_s3_is_url(url))
        return cf_error_set(err, CF_EINVAL, "not an s3:// URL: %.200s", url);
    const char *b = url + 5;
    const char *slash = strchr(b, '/');
    if (slash == NULL || slash == b || slash[1] == '\0')
        return cf_error_set(err, CF_EINVAL, "an S3 URL is s3://BUCKET/KEY: %.200s", url);
    const char *region = getenv("AWS_REGION");
    if (region == NULL || *region == '\0')
        region = getenv("AWS_DEFAULT_REGION");
    if (region == NULL || *region == '\0')
        region = "us-east-1";
    t->bucket = strndup(b, (size_t)(slash - b));
    t->key = strdup(slash + 1);
    t->region = strdup(region);
    const char *ep = config.endpoint;
    char aws[128];
    int path_style = config.path_style;
    if (ep == NULL || *ep == '\0') {
        snprintf(aws, sizeof aws, "https://s3.%s.amazonaws.com", region);
        ep = aws;
        /* bucket names with dots break TLS on virtual hosts */
        if (strchr(t->bucket ? t->bucket : "", '.'))
            path_style = 1;
    }
    const char *sep = strstr(ep, "://");
    const char *hp = sep ? sep + 3 : ep;
    size_t hlen = strcspn(hp, "/?#");
    t->scheme = sep ? strndup(ep, (size_t)(sep - ep)) : strdup("https");
    sbuf host = {0}, path = {0};
    if (!path_style) {
        sb_str(&host, t->bucket ? t->bucket : "");
        sb_str(&host, ".");
    }
    sb_add(&host, hp, hlen);
    /* an endpoint's own path (a gateway under /s3) comes first */
    const char *base = hp + hlen;
    size_t blen = strcspn(base, "?#");
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    sb_add(&path, base, blen);
    if (path_style) {
        sb_str(&path, "/");
        sb_enc(&path, t->bucket ? t->bucket : "", 0);
    }
    sb_str(&path, "/");
    sb_enc(&path, t->key ? t->key : "", 1);
    t->host = host.s;
    t->path = path.s;
    if (!t->bucket || !t->key || !t->region || !t->scheme || host.nomem || path.nomem ||
        !t->host || !t->path) {
        free(host.nomem ? host.s : NULL);
        free(path.nomem ? path.s : NULL);
        if (host.nomem)
            t->host = NULL;
        if (path.nomem)
            t->path = NULL;
        target_free(t);
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    return CF_OK;
}

/* scheme://host/path + query (may be "" or "?..."), new string or NULL. */
static char *target_url(const target *t, const char *query)
{
    sbuf u = {0};
    sb_str(&u, t->scheme);
    sb_str(&u, "://");
    sb_str(&u, t->host);
    sb_str(&u, t->path);
    sb_str(&u, query);
    if (u.nomem) {
        free(u.s);
        return NULL;
    }
    return u.s;
}

/* What a request needs to be signed: the provider string, "KEY:SECRET",
 * and the session token's header. */
typedef struct signing {
    char sigv4[160];
    char *userpwd;
    char *token_header;
    cf_s3_creds creds;
} signing;

static int signing_init(const target *t, signing *s, cf_error *err)
{
    memset(s, 0, sizeof *s);
    int rc = cf_s3_creds_load(&s->creds, err);
    if (rc != CF_OK)
        return rc;
    snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", t->region);
    if (asprintf(&s->userpwd, "%s:%s", s->creds.access_key, s->creds.secret_key) < 0) {
        s->userpwd = NULL;
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    if (s->creds.session_token[0] &&
        asprintf(&s->token_header, "x-amz-security-token: %s", s->creds.session_token) < 0) {
        s->token_header = NULL;
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    return CF_OK;
}

static void signing_free(signing *s)
{
    if (s->userpwd) {
        memset(s->userpwd, 0, strlen(s->userpwd));
        free(s->userpwd);
    }
    free(s->token_header);
    memset(s, 0, sizeof *s);
}

/* The text of <tag>...</tag> in xml, into out ("" when absent). */
static void xml_text(const char *xml, const char *tag, char *out, size_t len)
{
    char open[64], close[64];
    out[0] = '\0';
    if (xml == NULL)
        return;
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(xml, open);
    if (a == NULL)
        return;
    a += strlen(open);
    const char *e = strstr(a, close);
    if (e == NULL)
        return;
    size_t n = (size_t)(e - a);
    if (n >= len)
        n = len - 1;
    memcpy(out, a, n);
    out[n] = '\0';
}

/* The error of an S3 answer that is not a success: its HTTP status, the
 * <Code> (and <Message>) of its XML, and the bucket. */
static int s3_failure(const char *url, const target *t, const cf_http_response *r, cf_error *err)
{
    char code[128], msg[256];
    xml_text(r->body, "Code", code, sizeof code);
    xml_text(r->body, "Message", msg, sizeof msg);
    return cf_error_set(err, CF_EFETCH, "%s: S3 answered HTTP %ld %s for bucket %s%s%s%s", url,
                        r->status, code[0] ? code : "(no error code)", t->bucket,
                        msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
}

/* One signed request; fills *resp (the caller cleans it up). */
static int s3_call(const target *t, const signing *s, cf_http_call *call, const char *query,
                   const char *extra_header, cf_http_response *resp, cf_error *err)
{
    const char *headers[4] = {UNSIGNED, NULL, NULL, NULL};
    size_t n = 1;
    if (s->token_header)
        headers[n++] = s->token_header;
    if (extra_header)
        headers[n++] = extra_header;
    char *url = target_url(t, query);
    if (url == NULL) {
        memset(resp, 0, sizeof *resp);
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    call->url = url;
    call->headers = headers;
    call->aws_sigv4 = s->sigv4;
    call->userpwd = s->userpwd;
    if (call->timeout_s == 0)
        call->timeout_s = S3_TIMEOUT_S;
    /* S3 asks for another try with 500, 503 (SlowDown) and 429: three more,
     * 0.2, 0.4, 0.8 s apart (AWS's SDKs do the same); nothing else is retried */
    int rc = cf_http_call_run(call, resp, err);
    for (int attempt = 0; attempt < 3 && rc == CF_OK &&
                          (resp->status == 500 || resp->status == 503 || resp->status == 429);
         attempt++) {
        cf_http_response_cleanup(resp);
        usleep(200000u << attempt);
        rc = cf_http_call_run(call, resp, err);
    }
    free(url);
    call->url = NULL;
    call->headers = NULL;
    return rc;
}

int cf_s3_get(const char *url, const char *path, const cf_fetch_policy *policy, cf_error *err)
{
    target t;
    signing s;
    cf_http_response resp = {0};
    int rc = target_parse(url, &t, err);
    if (rc != CF_OK)
        return rc;
    rc = signing_init(&t, &s, err);
    if (rc == CF_OK) {
        cf_http_call call = {.method = "GET", .out_path = path, .policy = policy,
                             .out_limit = policy ? policy->max_bytes : 0,
                             .timeout_s = policy && policy->timeout_s > 0 ? policy->timeout_s : 0};
        rc = s3_call(&t, &s, &call, "", NULL, &resp, err);
        if (rc == CF_OK && (resp.status < 200 || resp.status >= 300))
            rc = s3_failure(url, &t, &resp, err);
    }
    cf_http_response_cleanup(&resp);
    signing_free(&s);
    target_free(&t);
    return rc;
}

/* One PUT of the whole file. */
static int put_single(const char *url, const target *t, const signing *s, const char *path,
                      uint64_t size, const char *type_header, cf_error *err)
{
    cf_http_response resp;
    cf_http_call call = {.method = "PUT", .in_path = path, .in_len = size,
                         .flags = CF_HTTP_POLICY};
    int rc = s3_call(t, s, &call, "", type_header, &resp, err);
    if (rc == CF_OK && (resp.status < 200 || resp.status >= 300))
        rc = s3_failure(url, t, &resp, err);
    cf_http_response_cleanup(&resp);
    return rc;
}

/* CreateMultipartUpload, UploadPart for each CF_S3_PART_SIZE of the file
 * (read from disk as sent), CompleteMultipartUpload; AbortMultipartUpload
 * when anything fails, so no parts are left behind to pay for. */
static int put_multipart(const char *url, const target *t, const signing *s, const char *path,
                         uint64_t size, const char *type_header, cf_error *err)
{
    cf_http_response resp;
    char upload_id[1024];
    cf_http_call create = {.method = "POST", .flags = CF_HTTP_POLICY};
    int rc = s3_call(t, s, &create, "?uploads=", type_header, &resp, err);
    if (rc == CF_OK && (resp.status < 200 || resp.status >= 300))
        rc = s3_failure(url, t, &resp, err);
    if (rc == CF_OK) {
        xml_text(resp.body, "UploadId", upload_id, sizeof upload_id);
        if (upload_id[0] == '\0')
            rc = cf_error_set(err, CF_EFETCH, "%s: S3 gave no UploadId for bucket %s", url,
                              t->bucket);
    }
    cf_http_response_cleanup(&resp);
    if (rc != CF_OK)
        return rc;
    sbuf id = {0}, done = {0}, q = {0};
    sb_enc(&id, upload_id, 0);
    sb_str(&done, "<CompleteMultipartUpload>");
    uint64_t parts = (size + CF_S3_PART_SIZE - 1) / CF_S3_PART_SIZE;
    for (uint64_t i = 0; i < parts && rc == CF_OK; i++) {
        uint64_t off = i * CF_S3_PART_SIZE;
        uint64_t len = size - off < CF_S3_PART_SIZE ? size - off : CF_S3_PART_SIZE;
        char head[64];
        snprintf(head, sizeof head, "?partNumber=%llu&uploadId=", (unsigned long long)i + 1);
        q.len = 0;
        sb_str(&q, head);
        sb_str(&q, id.s ? id.s : "");
        if (q.nomem || id.nomem) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory");
            break;
        }
        cf_http_call part = {.method = "PUT", .in_path = path, .in_offset = off, .in_len = len,
                             .want_header = "etag", .flags = CF_HTTP_POLICY};
        rc = s3_call(t, s, &part, q.s, NULL, &resp, err);
        if (rc == CF_OK && (resp.status < 200 || resp.status >= 300))
            rc = s3_failure(url, t, &resp, err);
        if (rc == CF_OK && resp.header == NULL)
            rc = cf_error_set(err, CF_EFETCH, "%s: S3 gave no ETag for part %llu", url,
                              (unsigned long long)i + 1);
        if (rc == CF_OK) {
            char p[96];
            snprintf(p, sizeof p, "<Part><PartNumber>%llu</PartNumber><ETag>",
                     (unsigned long long)i + 1);
            sb_str(&done, p);
            sb_str(&done, resp.header);
            sb_str(&done, "</ETag></Part>");
        }
        cf_http_response_cleanup(&resp);
    }
    sb_str(&done, "</CompleteMultipartUpload>");
    q.len = 0;
    sb_str(&q, "?uploadId=");
    sb_str(&q, id.s ? id.s : "");
    if (rc == CF_OK && (done.nomem || q.nomem))
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    if (rc == CF_OK) {
        cf_http_call complete = {.method = "POST", .body = done.s, .body_len = done.len,
                                 .flags = CF_HTTP_POLICY};
        rc = s3_call(t, s, &complete, q.s, "Content-Type: application/xml", &resp, err);
        /* S3 may answer 200 and still fail: the error is in the body */
        if (rc == CF_OK && (resp.status < 200 || resp.status >= 300 ||
                            (resp.body && strstr(resp.body, "<Error>"))))
            rc = s3_failure(url, t, &resp, err);
        cf_http_response_cleanup(&resp);
    }
    if (rc != CF_OK && !q.nomem) {
        cf_error ignored;
        cf_http_call abort_call = {.method = "DELETE", .flags = CF_HTTP_POLICY, .timeout_s = 30};
        cf_log_warn("CF1401", "multipart upload of %s aborted: %s", url, err->msg);
        if (s3_call(t, s, &abort_call, q.s, NULL, &resp, &ignored) == CF_OK)
            cf_http_response_cleanup(&resp);
    }
    free(id.s);
    free(done.s);
    free(q.s);
    return rc;
}

int cf_s3_put_file(const char *url, const char *path, const char *content_type, char **result,
                   cf_error *err)
{
    target t;
    signing s;
    struct stat st;
    char type_header[300] = "";
    *result = NULL;
    if (stat(path, &st) != 0)
        return cf_error_set(err, CF_EIO, "cannot read %s: %s", path, strerror(errno));
    int rc = target_parse(url, &t, err);
    if (rc != CF_OK)
        return rc;
    if (content_type)
        snprintf(type_header, sizeof type_header, "Content-Type: %s", content_type);
    rc = signing_init(&t, &s, err);
    if (rc == CF_OK) {
        uint64_t size = (uint64_t)st.st_size;
        rc = size > CF_S3_PART_SIZE
                 ? put_multipart(url, &t, &s, path, size, content_type ? type_header : NULL, err)
                 : put_single(url, &t, &s, path, size, content_type ? type_header : NULL, err);
    }
    signing_free(&s);
    target_free(&t);
    if (rc != CF_OK)
        return rc;
    if (config.presign_s > 0)
        return cf_s3_presign(url, config.presign_s, result, err);
    if ((*result = strdup(url)) == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    return CF_OK;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int cf_s3_presign(const char *url, double expires_s, char **out, cf_error *err)
{
    return cf_s3_presign_at(url, expires_s, (long long)time(NULL), out, err);
}

int cf_s3_presign_at(const char *url, double expires_s, long long at, char **out, cf_error *err)
{
    target t;
    signing s;
    *out = NULL;
    int rc = target_parse(url, &t, err);
    if (rc != CF_OK)
        return rc;
    rc = signing_init(&t, &s, err);
    if (rc != CF_OK) {
        signing_free(&s);
        target_free(&t);
        return rc;
    }
    time_t now = (time_t)at;
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[16], stamp[32];
    strftime(date, sizeof date, "%Y%m%d", &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    long expires = (long)expires_s;
    if (expires < 1)
        expires = 1;
    char scope[256];
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", date, t.region);
    /* the canonical query: names in byte order, values encoded */
    sbuf q = {0}, canon = {0}, sts = {0}, cred = {0};
    sb_str(&cred, s.creds.access_key);
    sb_str(&cred, "/");
    sb_str(&cred, scope);
    char num[32];
    snprintf(num, sizeof num, "%ld", expires);
    sb_str(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    sb_enc(&q, cred.s ? cred.s : "", 0);
    sb_str(&q, "&X-Amz-Date=");
    sb_str(&q, stamp);
    sb_str(&q, "&X-Amz-Expires=");
    sb_str(&q, num);
    if (s.creds.session_token[0]) {
        sb_str(&q, "&X-Amz-Security-Token=");
        sb_enc(&q, s.creds.session_token, 0);
    }
    sb_str(&q, "&X-Amz-SignedHeaders=host");
    sb_str(&canon, "GET\n");
    sb_str(&canon, t.path);
    sb_str(&canon, "\n");
    sb_str(&canon, q.s ? q.s : "");
    sb_str(&canon, "\nhost:");
    sb_str(&canon, t.host);
    sb_str(&canon, "\n\nhost\nUNSIGNED-PAYLOAD");
    unsigned char h[32], k[32];
    char hh[65], sig[65];
    if (q.nomem || canon.nomem || cred.nomem) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = cf_crypto_sha256(canon.s, canon.len, h, err)) != CF_OK)
        goto done;
    hex(h, 32, hh);
    sb_str(&sts, "AWS4-HMAC-SHA256\n");
    sb_str(&sts, stamp);
    sb_str(&sts, "\n");
    sb_str(&sts, scope);
    sb_str(&sts, "\n");
    sb_str(&sts, hh);
    char ksecret[sizeof s.creds.secret_key + 4];
    snprintf(ksecret, sizeof ksecret, "AWS4%s", s.creds.secret_key);
    const char *steps[4] = {date, t.region, "s3", "aws4_request"};
    const unsigned char *key = (const unsigned char *)ksecret;
    size_t key_len = strlen(ksecret);
    for (int i = 0; i < 4 && rc == CF_OK; i++) {
        rc = cf_crypto_hmac_sha256(key, key_len, steps[i], strlen(steps[i]), k, err);
        key = k;
        key_len = 32;
    }
    memset(ksecret, 0, sizeof ksecret);
    if (rc == CF_OK && sts.nomem)
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    if (rc == CF_OK)
        rc = cf_crypto_hmac_sha256(k, 32, sts.s, sts.len, h, err);
    if (rc != CF_OK)
        goto done;
    hex(h, 32, sig);
    char *base = target_url(&t, "?");
    if (base == NULL || asprintf(out, "%s%s&X-Amz-Signature=%s", base, q.s, sig) < 0) {
        *out = NULL;
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
    }
    free(base);
done:
    memset(k, 0, sizeof k);
    free(q.s);
    free(canon.s);
    free(sts.s);
    free(cred.s);
    signing_free(&s);
    target_free(&t);
    return rc;
}
