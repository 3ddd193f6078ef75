/* test_http_client.c - the lazily loaded HTTP client against a tiny HTTP server on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

/* ---- the server: one thread per connection, one request per connection ---- */

/* What the server saw last (the tests run one request at a time). */
typedef struct seen_request {
    char method[16];
    char path[256];
    char headers[4096]; /* raw header lines */
    char *body;
    size_t body_len;
} seen_request;

static int listen_fd = -1;
static int port;
static pthread_t accept_thread;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static seen_request seen;
static char base[64];
static char tmpdir[64];

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        data += w;
        len -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     len, extra_headers ? extra_headers : "");
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

/* Reads one request (headers, then Content-Length bytes). 0 on success. */
static int read_request(int fd, seen_request *r)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t head = 0; /* bytes up to the blank line, once seen */
    size_t want = 0;
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = head ? NULL : strstr(buf, "\r\n\r\n");
        if (end) {
            head = (size_t)(end - buf);
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            want = head + 4 + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (head && len >= want)
            break;
    }
    if (head == 0 || len < want) {
        free(buf);
        return -1;
    }
    memset(r, 0, sizeof *r);
    sscanf(buf, "%15s %255s", r->method, r->path);
    char *first_eol = strstr(buf, "\r\n");
    size_t hlen = (size_t)(buf + head - first_eol) + 2;
    if (hlen >= sizeof r->headers)
        hlen = sizeof r->headers - 1;
    memcpy(r->headers, first_eol + 2, hlen);
    r->body_len = want - head - 4;
    r->body = malloc(r->body_len + 1);
    memcpy(r->body, buf + head + 4, r->body_len);
    r->body[r->body_len] = '\0';
    free(buf);
    return 0;
}

static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    seen_request r;
    char extra[512];
    if (read_request(fd, &r) != 0) {
        close(fd);
        return NULL;
    }
    /* recorded before answering: the client looks right after the answer */
    pthread_mutex_lock(&seen_lock);
    free(seen.body);
    seen = r;
    seen.body = malloc(r.body_len + 1);
    memcpy(seen.body, r.body, r.body_len + 1);
    pthread_mutex_unlock(&seen_lock);
    const char *p = r.path;
    if (strncmp(p, "/status/", 8) == 0) {
        int status = atoi(p + 8);
        char body[32];
        snprintf(body, sizeof body, "status %d", status);
        respond(fd, status, NULL, body, strlen(body));
    } else if (strncmp(p, "/redirect/", 10) == 0) {
        int hops = atoi(p + 10);
        if (hops <= 1)
            snprintf(extra, sizeof extra, "Location: /file\r\n");
        else
            snprintf(extra, sizeof extra, "Location: /redirect/%d\r\n", hops - 1);
        respond(fd, 302, extra, "", 0);
    } else if (strcmp(p, "/to-ftp") == 0) {
        respond(fd, 302, "Location: ftp://127.0.0.1/file\r\n", "", 0);
    } else if (strcmp(p, "/file") == 0) {
        respond(fd, 200, NULL, "hello file\n", 11);
    } else if (strcmp(p, "/created") == 0) {
        respond(fd, 201, "location:  http://store.example/out.txt?sig=1 \r\n", "", 0);
    } else if (strcmp(p, "/slow") == 0) {
        /* answers after 5 s, or gives up as soon as the client hangs up */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 5000) == 0)
            respond(fd, 200, NULL, "late", 4);
    } else if (strcmp(p, "/big") == 0) {
        size_t n = CF_HTTP_MAX_BODY + 100000;
        char *big = malloc(n);
        memset(big, 'x', n);
        respond(fd, 200, NULL, big, n);
        free(big);
    } else {
        respond(fd, 200, NULL, r.body, r.body_len); /* echo */
    }
    free(r.body);
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* shut down */
        }
        pthread_t t;
        pthread_create(&t, NULL, serve_one, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static int server_start(void **state)
{
    (void)state;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(listen_fd, 64) != 0 || getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    port = ntohs(sa.sin_port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf-http-test-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return pthread_create(&accept_thread, NULL, accept_main, NULL) == 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    (void)state;
    shutdown(listen_fd, SHUT_RDWR);
    pthread_join(accept_thread, NULL);
    close(listen_fd);
    usleep(100 * 1000); /* let connection threads finish */
    pthread_mutex_lock(&seen_lock);
    free(seen.body);
    seen.body = NULL;
    pthread_mutex_unlock(&seen_lock);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The headers the server saw, copied (the next request overwrites them). */
static void last_request(seen_request *out)
{
    pthread_mutex_lock(&seen_lock);
    *out = seen;
    out->body = seen.body ? strdup(seen.body) : NULL;
    pthread_mutex_unlock(&seen_lock);
}

static void url_of(char *out, size_t len, const char *path)
{
    snprintf(out, len, "%s%s", base, path);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

/* ---- tests ---- */

static void post_sends_body_and_headers(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/hook");
    const char *headers[] = {"Content-Type: application/json", "Authorization: Bearer tok",
                             "traceparent: 00-abc-def-01", NULL};
    const char *body = "{\"status\":\"succeeded\"}";
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("POST", url, headers, body, strlen(body), 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, strlen(body));
    assert_string_equal(r.body, body); /* the echo */
    assert_non_null(r.final_url);
    assert_string_equal(r.final_url, url);
    cf_http_response_cleanup(&r);
    seen_request s;
    last_request(&s);
    assert_string_equal(s.method, "POST");
    assert_string_equal(s.path, "/hook");
    assert_string_equal(s.body, body);
    assert_non_null(strstr(s.headers, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(s.headers, "Authorization: Bearer tok\r\n"));
    assert_non_null(strstr(s.headers, "traceparent: 00-abc-def-01\r\n"));
    assert_non_null(strstr(s.headers, "User-Agent: cog-fcgi/"));
    assert_null(strcasestr(s.headers, "Expect:"));
    free(s.body);
}

static void large_post_has_no_expect_continue(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/echo");
    size_t n = 2 << 20;
    char *body = malloc(n);
    memset(body, 'a', n);
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("PUT", url, NULL, body, n, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, n);
    assert_memory_equal(r.body, body, n);
    cf_http_response_cleanup(&r);
    seen_request s;
    last_request(&s);
    assert_string_equal(s.method, "PUT");
    assert_null(strcasestr(s.headers, "Expect:"));
    free(s.body);
    free(body);
}

static void get_and_head(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/file");
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("GET", url, NULL, NULL, 0, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello file\n");
    cf_http_response_cleanup(&r);
    assert_int_equal(cf_http_request("HEAD", url, NULL, NULL, 0, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    cf_http_response_cleanup(&r);
    seen_request s;
    last_request(&s);
    assert_string_equal(s.method, "HEAD");
    free(s.body);
}

/* Any status is an answer: the caller decides (webhook retries on 5xx). */
static void error_statuses_are_answers(void **state)
{
    (void)state;
    static const int statuses[] = {201, 204, 400, 404, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char url[128], path[32], want[32];
        snprintf(path, sizeof path, "/status/%d", statuses[i]);
        url_of(url, sizeof url, path);
        cf_http_response r;
        cf_error err;
        assert_int_equal(cf_http_request("POST", url, NULL, "{}", 2, 5, 0, &r, &err), 0);
        assert_int_equal(r.status, statuses[i]);
        snprintf(want, sizeof want, "status %d", statuses[i]);
        if (statuses[i] != 204)
            assert_string_equal(r.body, want);
        cf_http_response_cleanup(&r);
    }
}

static void redirects_followed_only_when_asked(void **state)
{
    (void)state;
    char url[128], want[128];
    url_of(url, sizeof url, "/redirect/3");
    url_of(want, sizeof want, "/file");
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("GET", url, NULL, NULL, 0, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 302);
    assert_string_equal(r.location, "/redirect/2");
    cf_http_response_cleanup(&r);
    assert_int_equal(cf_http_request("GET", url, NULL, NULL, 0, 5, CF_HTTP_FOLLOW, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_null(r.location); /* of the last response only */
    assert_string_equal(r.final_url, want);
    assert_string_equal(r.body, "hello file\n");
    cf_http_response_cleanup(&r);
}

static void redirect_to_other_scheme_fails(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/to-ftp");
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("GET", url, NULL, NULL, 0, 5, CF_HTTP_FOLLOW, &r, &err),
                     CF_EFETCH);
    assert_non_null(strcasestr(err.msg, "ftp"));
    cf_http_response_cleanup(&r);
    assert_int_equal(cf_http_request("GET", "ftp://127.0.0.1/x", NULL, NULL, 0, 5, 0, &r, &err),
                     CF_EFETCH);
    cf_http_response_cleanup(&r);
    assert_int_equal(cf_http_request("GET", "file:///etc/passwd", NULL, NULL, 0, 5, 0, &r, &err),
                     CF_EFETCH);
    cf_http_response_cleanup(&r);
}

static void location_header_is_kept(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/created");
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("PUT", url, NULL, "x", 1, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.location, "http://store.example/out.txt?sig=1");
    cf_http_response_cleanup(&r);
}

static void timeout_gives_up(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/slow");
    cf_http_response r;
    cf_error err;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cf_http_request("POST", url, NULL, "{}", 2, 0.3, 0, &r, &err), CF_EFETCH);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(took >= 0.25 && took < 2.0);
    assert_non_null(strcasestr(err.msg, "timed out"));
    cf_http_response_cleanup(&r);
}

static void connection_refused_is_an_error(void **state)
{
    (void)state;
    /* a port that was just free: bind, read it, close */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ntohs(sa.sin_port));
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("POST", url, NULL, "{}", 2, 5, 0, &r, &err), CF_EFETCH);
    assert_int_equal(err.code, CF_EFETCH);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(r.status, 0);
    cf_http_response_cleanup(&r);
}

static void big_body_is_truncated(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/big");
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_request("GET", url, NULL, NULL, 0, 10, 0, &r, &err), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, CF_HTTP_MAX_BODY);
    assert_int_equal(r.body_truncated, 1);
    cf_http_response_cleanup(&r);
}

static void download_writes_the_file(void **state)
{
    (void)state;
    char url[128], path[128];
    url_of(url, sizeof url, "/redirect/2");
    snprintf(path, sizeof path, "%s/dl-ok", tmpdir);
    cf_error err;
    assert_int_equal(cf_http_download(url, path, 0, &err), 0);
    size_t len = 0;
    char *got = slurp(path, &len);
    assert_non_null(got);
    assert_int_equal(len, 11);
    assert_string_equal(got, "hello file\n");
    free(got);
    /* the target must not exist yet */
    assert_int_equal(cf_http_download(url, path, 0, &err), CF_EIO);
    assert_int_equal(access(path, F_OK), 0);
}

static void download_fails_on_http_error(void **state)
{
    (void)state;
    char url[128], path[128];
    url_of(url, sizeof url, "/status/404");
    snprintf(path, sizeof path, "%s/dl-404", tmpdir);
    cf_error err;
    assert_int_equal(cf_http_download(url, path, 0, &err), CF_EFETCH);
    assert_string_equal(err.msg, "The requested URL returned error: 404");
    assert_int_not_equal(access(path, F_OK), 0); /* removed */
    url_of(url, sizeof url, "/to-ftp");
    assert_int_equal(cf_http_download(url, path, 0, &err), CF_EFETCH);
    assert_int_not_equal(access(path, F_OK), 0);
}

static void put_file_raw(void **state)
{
    (void)state;
    char url[128], path[128];
    url_of(url, sizeof url, "/created");
    snprintf(path, sizeof path, "%s/up.txt", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("file body\n", f);
    fclose(f);
    const char *headers[] = {"X-Prediction-ID: p1", NULL};
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_put_file(url, path, "text/plain", 0, headers, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.location, "http://store.example/out.txt?sig=1");
    cf_http_response_cleanup(&r);
    seen_request s;
    last_request(&s);
    assert_string_equal(s.method, "PUT");
    assert_string_equal(s.path, "/created");
    assert_string_equal(s.body, "file body\n");
    assert_non_null(strstr(s.headers, "Content-Type: text/plain\r\n"));
    assert_non_null(strstr(s.headers, "X-Prediction-ID: p1\r\n"));
    assert_non_null(strstr(s.headers, "Content-Length: 10\r\n"));
    free(s.body);
}

static void put_file_multipart(void **state)
{
    (void)state;
    char url[128], path[128];
    url_of(url, sizeof url, "/prefix/up.txt");
    snprintf(path, sizeof path, "%s/up.txt", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("file body\n", f);
    fclose(f);
    cf_http_response r;
    cf_error err;
    assert_int_equal(cf_http_put_file(url, path, NULL, 1, NULL, 5, 0, &r, &err), 0);
    assert_int_equal(r.status, 200);
    cf_http_response_cleanup(&r);
    seen_request s;
    last_request(&s);
    assert_string_equal(s.method, "PUT");
    assert_non_null(strstr(s.headers, "Content-Type: multipart/form-data; boundary="));
    assert_non_null(
        strstr(s.body, "Content-Disposition: form-data; name=\"file\"; filename=\"up.txt\""));
    assert_non_null(strstr(s.body, "\r\n\r\nfile body\n\r\n--"));
    free(s.body);
}

static void put_missing_file_is_io_error(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/created");
    cf_http_response r;
    cf_error err;
    assert_int_equal(
        cf_http_put_file(url, "/nonexistent/file", NULL, 0, NULL, 5, 0, &r, &err), CF_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/file"));
    cf_http_response_cleanup(&r);
}

/* Without libcurl every call fails with a clear message. Runs in a child:
 * the library is loaded once per process. */
static void missing_libcurl_is_a_clear_error(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("COG_FCGI_LIBCURL", "/nonexistent/libcurl.so.4", 1);
        cf_http_response r;
        cf_error err;
        int ok = cf_http_request("GET", "http://127.0.0.1:1/", NULL, NULL, 0, 1, 0, &r, &err) ==
                     CF_EFETCH &&
                 strncmp(err.msg, "libcurl is not installed: ", 26) == 0 &&
                 strstr(err.msg, "/nonexistent/libcurl.so.4") != NULL;
        cf_http_response_cleanup(&r);
        ok = ok && cf_http_download("http://127.0.0.1:1/", "/tmp/never", 1, &err) == CF_EFETCH &&
             access("/tmp/never", F_OK) != 0;
        ok = ok && cf_http_available(NULL) == CF_EFETCH;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct worker_arg {
    int ok;
} worker_arg;

static void *request_thread(void *arg)
{
    worker_arg *w = arg;
    char url[128];
    url_of(url, sizeof url, "/file");
    for (int i = 0; i < 10; i++) {
        cf_http_response r;
        cf_error err;
        if (cf_http_request("GET", url, NULL, NULL, 0, 5, 0, &r, &err) != 0 || r.status != 200)
            w->ok = 0;
        cf_http_response_cleanup(&r);
    }
    return NULL;
}

/* Threads share only the once-loaded table. */
static void concurrent_requests(void **state)
{
    (void)state;
    pthread_t t[8];
    worker_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i].ok = 1;
        assert_int_equal(pthread_create(&t[i], NULL, request_thread, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_true(args[i].ok);
    }
}

int main(void)
{
    /* before anything loads libcurl in this process or starts a thread */
    const struct CMUnitTest unloaded[] = {
        cmocka_unit_test(missing_libcurl_is_a_clear_error),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(post_sends_body_and_headers),
        cmocka_unit_test(large_post_has_no_expect_continue),
        cmocka_unit_test(get_and_head),
        cmocka_unit_test(error_statuses_are_answers),
        cmocka_unit_test(redirects_followed_only_when_asked),
        cmocka_unit_test(redirect_to_other_scheme_fails),
        cmocka_unit_test(location_header_is_kept),
        cmocka_unit_test(timeout_gives_up),
        cmocka_unit_test(connection_refused_is_an_error),
        cmocka_unit_test(big_body_is_truncated),
        cmocka_unit_test(download_writes_the_file),
        cmocka_unit_test(download_fails_on_http_error),
        cmocka_unit_test(put_file_raw),
        cmocka_unit_test(put_file_multipart),
        cmocka_unit_test(put_missing_file_is_io_error),
        cmocka_unit_test(concurrent_requests),
    };
    int failed = cmocka_run_group_tests_name("http_client without libcurl", unloaded, NULL, NULL);
    failed += cmocka_run_group_tests_name("http_client", tests, server_start, server_stop);
    return failed ? 1 : 0;
}
