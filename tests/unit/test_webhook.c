/* test_webhook.c - webhook queues per receiver, ordering, out-of-memory results, signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "webhook.h"
#include "webhook_sign.h"

/* ---- calloc that fails on demand (linked with -Wl,--wrap=calloc) ---- */

void *__real_calloc(size_t n, size_t size);
static int calloc_fail_at; /* 0: never; n: the n-th call from now fails */

void *__wrap_calloc(size_t n, size_t size)
{
    if (calloc_fail_at > 0 && --calloc_fail_at == 0)
        return NULL;
    return __real_calloc(n, size);
}

/* ---- a receiver on 127.0.0.1 that records what it got, in order ---- */

#define MAX_SEEN 256
static int live_fd = -1, dead_fd = -1;
static int live_port, dead_port;
static pthread_t live_thread;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char *seen_body[MAX_SEEN];
static char seen_sig[MAX_SEEN][128];
static double seen_at[MAX_SEEN];
static int seen_n;

static int listen_on(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

/* One request per connection: headers, then Content-Length bytes. */
static void serve(int fd)
{
    size_t cap = 1 << 16, len = 0, want = 0, head = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
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
        if (len == cap)
            break;
    }
    if (head && len >= want) {
        pthread_mutex_lock(&seen_lock);
        if (seen_n < MAX_SEEN) {
            seen_body[seen_n] = strndup(buf + head + 4, want - head - 4);
            const char *sig = strcasestr(buf, "\r\nwebhook-signature: ");
            if (sig && sig < buf + head)
                sscanf(sig + 21, "%127s", seen_sig[seen_n]);
            seen_at[seen_n] = cf_monotonic();
            seen_n++;
        }
        pthread_mutex_unlock(&seen_lock);
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ssize_t w = send(fd, ok, strlen(ok), MSG_NOSIGNAL);
        (void)w;
    }
    free(buf);
    close(fd);
}

static void *live_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(live_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        serve(fd);
    }
}

static int servers_start(void **state)
{
    (void)state;
    live_fd = listen_on(&live_port);
    /* never accepted: the kernel completes the handshake, nobody answers */
    dead_fd = listen_on(&dead_port);
    if (live_fd < 0 || dead_fd < 0)
        return -1;
    return pthread_create(&live_thread, NULL, live_main, NULL) == 0 ? 0 : -1;
}

static int servers_stop(void **state)
{
    (void)state;
    shutdown(live_fd, SHUT_RDWR);
    close(live_fd);
    pthread_join(live_thread, NULL);
    close(dead_fd);
    for (int i = 0; i < seen_n; i++)
        free(seen_body[i]);
    return 0;
}

static void seen_reset(void)
{
    pthread_mutex_lock(&seen_lock);
    for (int i = 0; i < seen_n; i++) {
        free(seen_body[i]);
        seen_body[i] = NULL;
        seen_sig[i][0] = '\0';
    }
    seen_n = 0;
    pthread_mutex_unlock(&seen_lock);
}

static int seen_count(void)
{
    pthread_mutex_lock(&seen_lock);
    int n = seen_n;
    pthread_mutex_unlock(&seen_lock);
    return n;
}

static int wait_seen(int n, double seconds)
{
    double end = cf_monotonic() + seconds;
    while (seen_count() < n && cf_monotonic() < end)
        usleep(10000);
    return seen_count();
}

static json_t *body_of(const char *id, const char *status, int output)
{
    json_t *b = json_pack("{s:s, s:s}", "id", id, "status", status);
    if (output >= 0)
        json_object_set_new(b, "output", json_integer(output));
    return b;
}

/* ---- done callbacks ---- */

typedef struct done_probe {
    pthread_mutex_t lock; /* error-checking: relocking from the same thread fails */
    int calls;
    int delivered;
    int relock_failed;
    pthread_t thread;
} done_probe;

static void probe_init(done_probe *p)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&p->lock, &a);
    pthread_mutexattr_destroy(&a);
    p->calls = 0;
    p->delivered = -1;
    p->relock_failed = 0;
}

/* Takes the probe's lock, as the runner's callback takes the runner's. */
static void probe_done(void *ctx, int delivered)
{
    done_probe *p = ctx;
    if (pthread_mutex_lock(&p->lock) != 0) {
        p->relock_failed = 1; /* called from inside cf_webhooks_send, lock held */
        return;
    }
    p->calls++;
    p->delivered = delivered;
    p->thread = pthread_self();
    pthread_mutex_unlock(&p->lock);
}

static int probe_calls(done_probe *p)
{
    double end = cf_monotonic() + 5;
    int n = 0;
    while (cf_monotonic() < end) {
        pthread_mutex_lock(&p->lock);
        n = p->calls;
        pthread_mutex_unlock(&p->lock);
        if (n > 0 || p->relock_failed)
            break;
        usleep(5000);
    }
    usleep(50000); /* a second call would come now */
    pthread_mutex_lock(&p->lock);
    n = p->calls;
    pthread_mutex_unlock(&p->lock);
    return n;
}

static cf_webhooks *start(int workers, double timeout, const char *secret)
{
    cf_webhook_config cfg;
    cf_webhook_config_init(&cfg);
    cfg.workers = workers;
    cfg.timeout_s = timeout;
    cfg.secret = secret;
    cf_error err;
    cf_webhooks *w = cf_webhooks_new_config(&cfg, &err);
    assert_non_null(w);
    return w;
}

/* ---- tests ---- */

static void test_receiver_key(void **state)
{
    (void)state;
    char k[128];
    cf_webhook_receiver_key("http://Example.COM/hook?x=1", k, sizeof k);
    assert_string_equal(k, "example.com:80");
    cf_webhook_receiver_key("https://example.com/hook", k, sizeof k);
    assert_string_equal(k, "example.com:443");
    cf_webhook_receiver_key("HTTPS://user:pw@Host:8443/a", k, sizeof k);
    assert_string_equal(k, "host:8443");
    cf_webhook_receiver_key("http://[::1]:9000/x", k, sizeof k);
    assert_string_equal(k, "[::1]:9000");
    cf_webhook_receiver_key("http://[FE80::1]/x", k, sizeof k);
    assert_string_equal(k, "[fe80::1]:80");
    cf_webhook_receiver_key("http://127.0.0.1:5000", k, sizeof k);
    assert_string_equal(k, "127.0.0.1:5000");
    cf_webhook_receiver_key("http://h:/x", k, sizeof k);
    assert_string_equal(k, "h:80");
    cf_webhook_receiver_key("not a url", k, sizeof k);
    assert_string_equal(k, "not a url");
}

static void test_key_parse(void **state)
{
    (void)state;
    cf_webhook_key key;
    cf_error err;
    assert_int_equal(cf_webhook_key_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, &err), CF_OK);
    assert_int_equal(key.len, 24);
    assert_int_equal(cf_webhook_key_parse("whsec_YQ==", &key, &err), CF_OK);
    assert_int_equal(key.len, 1);
    assert_int_equal(key.bytes[0], 'a');
    assert_int_equal(cf_webhook_key_parse("whsec_YWI=", &key, &err), CF_OK);
    assert_int_equal(key.len, 2);
    const char *bad[] = {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_abc", "whsec_ab=c",
                         "whsec_a===", "whsec_ YWI=", "whsec_YW!=", "whsec_=YWI"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cf_error_clear(&err);
        assert_int_equal(cf_webhook_key_parse(bad[i], &key, &err), CF_EINVAL);
        assert_true(strstr(err.msg, "whsec_") != NULL);
    }
    char longer[600] = "whsec_";
    memset(longer + 6, 'A', 400);
    assert_int_equal(cf_webhook_key_parse(longer, &key, &err), CF_EINVAL);
}

/* The example of the Standard Webhooks specification. */
static void test_sign_vector(void **state)
{
    (void)state;
    cf_webhook_key key;
    cf_error err;
    assert_int_equal(cf_webhook_key_parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, &err), CF_OK);
    const char *body = "{\"test\": 2432232314}";
    char sig[CF_WEBHOOK_SIGNATURE_MAX];
    assert_int_equal(cf_webhook_sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                     strlen(body), sig, &err), CF_OK);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void test_message_id(void **state)
{
    (void)state;
    char a[40], b[40];
    cf_webhook_message_id(a);
    cf_webhook_message_id(b);
    assert_int_equal(strlen(a), 36);
    assert_memory_equal(a, "msg_", 4);
    assert_string_not_equal(a, b);
}

static void test_config_checked(void **state)
{
    (void)state;
    cf_webhook_config cfg;
    cf_error err;
    cf_webhook_config_init(&cfg);
    assert_int_equal(cfg.timeout_s, 30);
    cfg.timeout_s = 0;
    assert_int_equal(cf_webhooks_configure(&cfg, &err), CF_EINVAL);
    cf_webhook_config_init(&cfg);
    cfg.workers = 0;
    assert_int_equal(cf_webhooks_configure(&cfg, &err), CF_EINVAL);
    cf_webhook_config_init(&cfg);
    cfg.secret = "whsec_???";
    assert_int_equal(cf_webhooks_configure(&cfg, &err), CF_EINVAL);
    assert_null(cf_webhooks_new_config(&cfg, &err));
}

/* A prediction's webhooks arrive in order, the terminal one last and once;
 * signed ones carry a v1 signature. */
static void test_order_per_prediction(void **state)
{
    (void)state;
    seen_reset();
    cf_webhooks *w = start(8, 5, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", live_port);
    done_probe probe;
    probe_init(&probe);
    cf_webhooks_send(w, url, body_of("p1", "processing", -1), 0, NULL, NULL, NULL, NULL);
    for (int i = 0; i < 30; i++)
        cf_webhooks_send(w, url, body_of("p1", "processing", i), 0, NULL, NULL, NULL, NULL);
    cf_webhooks_send(w, url, body_of("p1", "succeeded", 30), 1, "00-abc-def-01", NULL, probe_done,
                     &probe);
    assert_int_equal(probe_calls(&probe), 1);
    assert_int_equal(probe.delivered, 1);
    int n = seen_count();
    assert_true(n >= 2 && n <= 32);
    /* the start webhook comes first, never replaced by a later one */
    assert_non_null(strstr(seen_body[0], "\"processing\""));
    assert_null(strstr(seen_body[0], "output"));
    long last = -1;
    for (int i = 1; i < n; i++) {
        json_t *b = json_loads(seen_body[i], 0, NULL);
        assert_non_null(b);
        long out = (long)json_integer_value(json_object_get(b, "output"));
        assert_true(out > last);
        last = out;
        assert_int_equal(strcmp(json_string_value(json_object_get(b, "status")), "succeeded") == 0,
                         i == n - 1);
        json_decref(b);
        assert_memory_equal(seen_sig[i], "v1,", 3);
    }
    assert_int_equal(last, 30);
    cf_webhooks_free(w, 1);
}

/* Terminal webhooks to a receiver that never answers do not hold back
 * another receiver's. */
static void test_dead_receiver_does_not_block(void **state)
{
    (void)state;
    seen_reset();
    cf_webhooks *w = start(4, 3, NULL);
    char dead[64], live[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d/hook", dead_port);
    snprintf(live, sizeof live, "http://127.0.0.1:%d/hook", live_port);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "d%d", i);
        cf_webhooks_send(w, dead, body_of(id, "succeeded", i), 1, NULL, NULL, NULL, NULL);
    }
    usleep(100000); /* the dead receiver's first attempt is under way */
    double t0 = cf_monotonic();
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "l%d", i);
        cf_webhooks_send(w, live, body_of(id, "succeeded", i), 1, NULL, NULL, NULL, NULL);
    }
    assert_int_equal(wait_seen(3, 2.5), 3);
    assert_true(seen_at[2] - t0 < 1.0);
    /* the attempt under way (3 s) ends at shutdown; the queue is dropped */
    cf_webhooks_free(w, 0);
}

/* Out of memory: done is never called from inside cf_webhooks_send (whose
 * caller holds its lock), but once, from a sender, with delivered = 0. */
static void test_out_of_memory_result_from_a_sender(void **state)
{
    (void)state;
    cf_webhooks *w = start(2, 5, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", live_port);
    for (int round = 0; round < 2; round++) {
        done_probe probe;
        probe_init(&probe);
        pthread_mutex_lock(&probe.lock);
        if (round == 0) {
            /* no body: the record exists, the text does not */
            cf_webhooks_send(w, url, NULL, 1, NULL, NULL, probe_done, &probe);
        } else {
            /* not even the record */
            calloc_fail_at = 1;
            cf_webhooks_send(w, url, body_of("x", "succeeded", 1), 1, NULL, NULL, probe_done, &probe);
            calloc_fail_at = 0;
        }
        assert_int_equal(probe.calls, 0);
        pthread_mutex_unlock(&probe.lock);
        assert_int_equal(probe_calls(&probe), 1);
        assert_false(probe.relock_failed);
        assert_int_equal(probe.delivered, 0);
        assert_false(pthread_equal(probe.thread, pthread_self()));
        pthread_mutex_destroy(&probe.lock);
    }
    cf_webhooks_free(w, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receiver_key),
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_sign_vector),
        cmocka_unit_test(test_message_id),
        cmocka_unit_test(test_config_checked),
        cmocka_unit_test(test_order_per_prediction),
        cmocka_unit_test(test_dead_receiver_does_not_block),
        cmocka_unit_test(test_out_of_memory_result_from_a_sender),
    };
    return cmocka_run_group_tests(tests, servers_start, servers_stop);
}
