/* test_fetch_policy.c - fetch rules: parsing, matching, precedence, enforcement in cf_http_fetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fetch_policy.h"
#include "http_client.h"

/* ---- helpers ---- */

/* A policy of "allow:RULE" / "deny:RULE" strings, NULL-terminated. */
static void build(cf_fetch_policy *p, const char *const *rules)
{
    cf_error err;
    cf_fetch_policy_init(p);
    for (size_t i = 0; rules && rules[i]; i++) {
        int allow = strncmp(rules[i], "allow:", 6) == 0;
        const char *text = strchr(rules[i], ':') + 1;
        assert_int_equal(cf_fetch_policy_add(p, allow, text, &err), CF_OK);
    }
}

/* Checks a connection to ip (text, v4 or v6) for a URL whose host is host
 * (NULL: the ip in URL form). Returns 0 or CF_EFETCH; the reason in why. */
static int check_ip(const cf_fetch_policy *p, const char *host, const char *ip, char *why,
                    size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char bracketed[80];
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
        sl = sizeof *s6;
        snprintf(bracketed, sizeof bracketed, "[%s]", ip);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
        sl = sizeof *s4;
        snprintf(bracketed, sizeof bracketed, "%s", ip);
    }
    cf_error err;
    cf_error_clear(&err);
    int rc = cf_fetch_policy_check(p, host ? host : bracketed, (struct sockaddr *)&ss, sl, &err);
    if (why)
        snprintf(why, len, "%s", err.msg);
    return rc;
}

static int allowed(const cf_fetch_policy *p, const char *host, const char *ip)
{
    return check_ip(p, host, ip, NULL, 0) == CF_OK;
}

/* The pre-connect check of a host alone. */
static int host_ok(const cf_fetch_policy *p, const char *host)
{
    cf_error err;
    return cf_fetch_policy_check(p, host, NULL, 0, &err) == CF_OK;
}

/* ---- parsing ---- */

static void rules_parse(void **state)
{
    (void)state;
    static const char *good[] = {"10.0.0.0/8", "127.0.0.1", "0.0.0.0/0", "::1", "::/0",
                                 "fe80::/10", "[::1]", "[fd00::]/8", "::ffff:10.0.0.0/104",
                                 "example.com", "*.example.com", "EXAMPLE.com.", "a_b-c.d",
                                 "10.1.2.3/8", "localhost"};
    static const char *bad[] = {"",           "10.0.0.0/33", "::/129",   "10.0.0.0/",
                                "10.0.0.0/-1", "10.0.0.0/8x", "a/b",     "*",
                                "*.",         "a..b",        ".a",       "a*.b",
                                "exa mple",   "http://x",    "host:80", "*.*.a"};
    cf_fetch_policy p;
    cf_error err;
    cf_fetch_policy_init(&p);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (cf_fetch_policy_add(&p, 0, good[i], &err) != CF_OK)
            fail_msg("%s rejected: %s", good[i], err.msg);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cf_fetch_policy_add(&p, 1, bad[i], &err) != CF_EINVAL)
            fail_msg("%s accepted", bad[i]);
        assert_non_null(strstr(err.msg, "--fetch-allow "));
    }
    assert_int_equal(p.n_rules, sizeof good / sizeof good[0]);
    assert_int_equal(p.allow_list, 0); /* only the rejected rules were allows */
    cf_fetch_policy_cleanup(&p);
    assert_null(p.rules);
}

static void defaults(void **state)
{
    (void)state;
    cf_fetch_policy p;
    cf_fetch_policy_init(&p);
    assert_int_equal(p.max_bytes, 2ull << 30);
    assert_true(p.timeout_s == 300.0);
    assert_int_equal(p.allow_list, 0);
    const cf_fetch_policy *d = cf_fetch_policy_get_default();
    assert_int_equal(d->max_bytes, 2ull << 30);
    assert_true(d->timeout_s == 300.0);
    assert_int_equal(p.min_rate, 1024);
    assert_int_equal(p.min_rate_window_s, 30);
    assert_int_equal(d->min_rate, 1024);
    cf_fetch_policy_cleanup(&p);
}

/* ---- matching ---- */

static void builtin_denials(void **state)
{
    (void)state;
    cf_fetch_policy p;
    char why[1024];
    build(&p, NULL);
    assert_int_equal(check_ip(&p, NULL, "169.254.169.254", why, sizeof why), CF_EFETCH);
    assert_string_equal(why, "address 169.254.169.254 is denied by the fetch policy "
                             "(link-local/cloud metadata)");
    /* the same address as IPv4-mapped IPv6, and behind a harmless name */
    assert_int_equal(check_ip(&p, NULL, "::ffff:169.254.169.254", why, sizeof why), CF_EFETCH);
    assert_non_null(strstr(why, "address 169.254.169.254 is denied"));
    assert_false(allowed(&p, "rebind.example.com", "169.254.169.254"));
    assert_false(allowed(&p, NULL, "169.254.0.0"));
    assert_false(allowed(&p, NULL, "169.254.255.255"));
    assert_true(allowed(&p, NULL, "169.253.255.255"));
    assert_true(allowed(&p, NULL, "169.255.0.0"));
    assert_false(allowed(&p, NULL, "fe80::1"));
    assert_false(allowed(&p, NULL, "febf:ffff::1"));
    assert_true(allowed(&p, NULL, "fec0::1"));
    assert_false(allowed(&p, NULL, "fd00:ec2::254"));
    assert_true(allowed(&p, NULL, "fd00:ec2::253"));
    assert_false(allowed(&p, NULL, "100.100.100.200"));
    assert_true(allowed(&p, NULL, "100.100.100.201"));
    assert_false(allowed(&p, NULL, "0.0.0.0"));
    assert_false(allowed(&p, NULL, "0.255.255.255"));
    assert_false(allowed(&p, NULL, "::"));
    /* loopback and private networks are allowed by default */
    assert_true(allowed(&p, NULL, "127.0.0.1"));
    assert_true(allowed(&p, NULL, "::1"));
    assert_true(allowed(&p, NULL, "10.1.2.3"));
    assert_true(allowed(&p, NULL, "192.168.1.1"));
    assert_true(allowed(&p, "example.com", "93.184.216.34"));
    /* host names: before resolving */
    assert_false(host_ok(&p, "metadata.google.internal"));
    assert_false(host_ok(&p, "METADATA.Google.Internal."));
    assert_true(host_ok(&p, "x.metadata.google.internal"));
    assert_false(host_ok(&p, "169.254.169.254"));
    assert_false(host_ok(&p, "[::ffff:169.254.169.254]"));
    assert_false(host_ok(&p, "[fe80::1%25eth0]"));
    assert_false(host_ok(&p, "[fe80::1%eth0]"));
    assert_true(host_ok(&p, "example.com"));
    assert_true(host_ok(&p, "127.0.0.1"));
    cf_error err;
    assert_int_equal(cf_fetch_policy_check(&p, "metadata.google.internal", NULL, 0, &err),
                     CF_EFETCH);
    assert_string_equal(err.msg, "host metadata.google.internal is denied by the fetch policy "
                                 "(GCP cloud metadata)");
    cf_fetch_policy_cleanup(&p);
}

static void deny_rules_and_cidr_edges(void **state)
{
    (void)state;
    static const char *rules[] = {"deny:10.0.0.0/8", "deny:192.168.1.128/25",
                                  "deny:127.0.0.1",  "deny:fc00::/7",
                                  "deny:10.9.9.9/0", NULL}; /* /0 of IPv4: every IPv4 */
    cf_fetch_policy p;
    char why[1024];
    build(&p, rules);
    assert_int_equal(check_ip(&p, NULL, "10.0.0.0", why, sizeof why), CF_EFETCH);
    assert_string_equal(why, "address 10.0.0.0 is denied by the fetch policy (--fetch-deny "
                             "10.0.0.0/8)");
    assert_false(allowed(&p, NULL, "10.255.255.255"));
    assert_false(allowed(&p, NULL, "192.168.1.128"));
    assert_false(allowed(&p, NULL, "192.168.1.255"));
    assert_false(allowed(&p, NULL, "127.0.0.1"));
    assert_false(allowed(&p, NULL, "::ffff:127.0.0.1"));
    assert_false(allowed(&p, NULL, "fc00::1"));
    assert_false(allowed(&p, NULL, "fdff:ffff::1"));
    assert_true(allowed(&p, NULL, "fe00::1"));
    assert_true(allowed(&p, NULL, "::1"));
    /* IPv4 /0 covers IPv4 (mapped or not), not IPv6 */
    assert_false(allowed(&p, NULL, "8.8.8.8"));
    assert_true(allowed(&p, NULL, "2001:db8::1"));
    cf_fetch_policy_cleanup(&p);

    static const char *edges[] = {"deny:192.168.1.128/25", "deny:2001:db8::/127", NULL};
    build(&p, edges);
    assert_true(allowed(&p, NULL, "192.168.1.127"));
    assert_false(allowed(&p, NULL, "192.168.1.128"));
    assert_false(allowed(&p, NULL, "2001:db8::"));
    assert_false(allowed(&p, NULL, "2001:db8::1"));
    assert_true(allowed(&p, NULL, "2001:db8::2"));
    assert_true(allowed(&p, NULL, "127.0.0.1"));
    cf_fetch_policy_cleanup(&p);

    /* host bits in a network are ignored: 10.1.2.3/8 is 10.0.0.0/8 */
    static const char *hostbits[] = {"deny:10.1.2.3/8", NULL};
    build(&p, hostbits);
    assert_false(allowed(&p, NULL, "10.200.0.1"));
    assert_true(allowed(&p, NULL, "11.0.0.1"));
    cf_fetch_policy_cleanup(&p);
}

static void host_patterns(void **state)
{
    (void)state;
    static const char *rules[] = {"deny:*.internal.example", "deny:evil.com", NULL};
    cf_fetch_policy p;
    build(&p, rules);
    assert_false(host_ok(&p, "a.internal.example"));
    assert_false(host_ok(&p, "a.b.internal.example"));
    assert_false(host_ok(&p, "A.Internal.Example."));
    assert_true(host_ok(&p, "internal.example"));
    assert_true(host_ok(&p, "xinternal.example"));
    assert_false(host_ok(&p, "evil.com"));
    assert_false(host_ok(&p, "EVIL.COM"));
    assert_true(host_ok(&p, "www.evil.com"));
    assert_true(host_ok(&p, "evil.com.au"));
    /* host rules see the URL's host also at connect time */
    assert_false(allowed(&p, "evil.com", "93.184.216.34"));
    /* a literal address is not a name */
    assert_true(host_ok(&p, "10.0.0.1"));
    /* a name too long to check is refused, never let through unchecked */
    char long_name[1100];
    memset(long_name, 'a', sizeof long_name);
    strcpy(long_name + sizeof long_name - 20, ".internal.example");
    assert_false(host_ok(&p, long_name));
    cf_error err;
    assert_int_equal(cf_fetch_policy_check(&p, "x.internal.example", NULL, 0, &err), CF_EFETCH);
    assert_string_equal(err.msg, "host x.internal.example is denied by the fetch policy "
                                 "(--fetch-deny *.internal.example)");
    cf_fetch_policy_cleanup(&p);
}

static void precedence(void **state)
{
    (void)state;
    cf_fetch_policy p;

    /* the most specific network wins, either way */
    static const char *nets[] = {"deny:10.0.0.0/8", "allow:10.1.0.0/16", "deny:10.1.2.0/24",
                                 "allow:0.0.0.0/0", "allow:::/0", NULL};
    build(&p, nets);
    assert_false(allowed(&p, NULL, "10.2.0.1"));
    assert_true(allowed(&p, NULL, "10.1.0.1"));
    assert_false(allowed(&p, NULL, "10.1.2.3"));
    assert_true(allowed(&p, NULL, "8.8.8.8"));
    /* an allow-all does not lift the built-in denials */
    assert_false(allowed(&p, NULL, "169.254.169.254"));
    assert_false(allowed(&p, NULL, "fe80::1"));
    cf_fetch_policy_cleanup(&p);

    /* a tie: the denial wins, whatever the order */
    static const char *tie1[] = {"allow:10.0.0.0/8", "deny:10.0.0.0/8", NULL};
    static const char *tie2[] = {"deny:10.0.0.0/8", "allow:10.0.0.0/8", NULL};
    build(&p, tie1);
    assert_false(allowed(&p, NULL, "10.0.0.1"));
    cf_fetch_policy_cleanup(&p);
    build(&p, tie2);
    assert_false(allowed(&p, NULL, "10.0.0.1"));
    cf_fetch_policy_cleanup(&p);
    static const char *tie3[] = {"allow:example.com", "deny:example.com", NULL};
    build(&p, tie3);
    assert_false(host_ok(&p, "example.com"));
    cf_fetch_policy_cleanup(&p);

    /* an explicit allowance as specific as a built-in denial lifts it */
    static const char *lift[] = {"allow:169.254.169.254", NULL};
    build(&p, lift);
    assert_true(allowed(&p, NULL, "169.254.169.254"));
    assert_false(allowed(&p, NULL, "169.254.169.253"));
    cf_fetch_policy_cleanup(&p);
    static const char *lift_net[] = {"allow:169.254.0.0/16", "allow:metadata.google.internal",
                                     NULL};
    build(&p, lift_net);
    assert_true(allowed(&p, NULL, "169.254.1.1"));
    assert_true(host_ok(&p, "metadata.google.internal"));
    cf_fetch_policy_cleanup(&p);
    static const char *no_lift[] = {"allow:169.0.0.0/8", NULL};
    build(&p, no_lift);
    assert_false(allowed(&p, NULL, "169.254.169.254"));
    cf_fetch_policy_cleanup(&p);

    /* exact names beat patterns, longer patterns beat shorter ones */
    static const char *names[] = {"deny:*.example.com", "allow:good.example.com",
                                  "allow:*.ok.example.com", "deny:bad.ok.example.com", NULL};
    build(&p, names);
    assert_false(host_ok(&p, "x.example.com"));
    assert_true(host_ok(&p, "good.example.com"));
    assert_true(host_ok(&p, "x.ok.example.com"));
    assert_false(host_ok(&p, "bad.ok.example.com"));
    cf_fetch_policy_cleanup(&p);

    /* a host allowed by name still may not reach a denied address */
    static const char *rebind[] = {"allow:trusted.example", "deny:10.0.0.0/8", NULL};
    build(&p, rebind);
    assert_false(allowed(&p, "trusted.example", "10.0.0.5"));
    assert_false(allowed(&p, "trusted.example", "169.254.169.254"));
    assert_true(allowed(&p, "trusted.example", "93.184.216.34"));
    cf_fetch_policy_cleanup(&p);
}

static void allow_list_mode(void **state)
{
    (void)state;
    static const char *rules[] = {"allow:127.0.0.1", "allow:*.cdn.example", "allow:192.0.2.0/24",
                                  NULL};
    cf_fetch_policy p;
    char why[1024];
    build(&p, rules);
    assert_true(p.allow_list);
    assert_true(allowed(&p, NULL, "127.0.0.1"));
    assert_false(allowed(&p, NULL, "127.0.0.2"));
    assert_true(allowed(&p, "localhost", "127.0.0.1"));
    assert_false(allowed(&p, "localhost", "::1"));
    assert_true(allowed(&p, "img.cdn.example", "198.51.100.7"));
    assert_true(allowed(&p, "anything.example", "192.0.2.9"));
    assert_int_equal(check_ip(&p, "other.example", "198.51.100.7", why, sizeof why), CF_EFETCH);
    assert_string_equal(why, "host other.example (address 198.51.100.7) is not allowed by the "
                             "fetch policy (no --fetch-allow rule matches)");
    assert_int_equal(check_ip(&p, NULL, "10.0.0.1", why, sizeof why), CF_EFETCH);
    assert_string_equal(why, "address 10.0.0.1 is not allowed by the fetch policy (no "
                             "--fetch-allow rule matches)");
    /* before resolving, a name is not refused yet: its address may be allowed */
    assert_true(host_ok(&p, "other.example"));
    assert_false(host_ok(&p, "10.0.0.1"));
    assert_true(host_ok(&p, "127.0.0.1"));
    /* built-in denials still hold in allow-list mode */
    assert_false(allowed(&p, "img.cdn.example", "169.254.169.254"));
    cf_fetch_policy_cleanup(&p);
}

static void set_default_takes_ownership(void **state)
{
    (void)state;
    static const char *rules[] = {"deny:127.0.0.3", NULL};
    cf_fetch_policy p;
    build(&p, rules);
    p.max_bytes = 1234;
    cf_fetch_policy_set_default(&p);
    assert_null(p.rules);
    const cf_fetch_policy *d = cf_fetch_policy_get_default();
    assert_int_equal(d->max_bytes, 1234);
    assert_false(allowed(d, NULL, "127.0.0.3"));
    /* back to the defaults for the other tests */
    cf_fetch_policy_init(&p);
    cf_fetch_policy_set_default(&p);
    assert_true(allowed(cf_fetch_policy_get_default(), NULL, "127.0.0.3"));
}

/* ---- enforcement by cf_http_fetch, against servers on 127.0.0.1 ---- */

/* The server answers:
 *   /small        100 bytes with a Content-Length
 *   /big-len      5000 bytes with a Content-Length
 *   /big-nolen    5000 bytes without one (until close)
 *   /slow         a byte every 200 ms, 20 bytes
 *   /to/URL       302 to URL (the rest of the path, "http://..." form) */
static int srv_fd = -1, srv_port;
static pthread_t srv_thread;
/* Listens on 127.0.0.2 and never accepts: the queue shows any connection. */
static int trap_fd = -1, trap_port;
static char tmpdir[64];

static void send_str(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[4096], path[2048], head[2300];
    size_t len = 0;
    while (len < sizeof req - 1) {
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[len] = '\0';
    if (sscanf(req, "GET %2047s", path) != 1) {
        close(fd);
        return NULL;
    }
    static char body[5000];
    memset(body, 'x', sizeof body);
    if (strcmp(path, "/small") == 0) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
        send_str(fd, h, strlen(h));
        send_str(fd, body, 100);
    } else if (strcmp(path, "/big-len") == 0) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n";
        send_str(fd, h, strlen(h));
        send_str(fd, body, 5000);
    } else if (strcmp(path, "/big-nolen") == 0) {
        const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
        send_str(fd, h, strlen(h));
        send_str(fd, body, 5000);
    } else if (strcmp(path, "/slow") == 0) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n";
        send_str(fd, h, strlen(h));
        for (int i = 0; i < 20; i++) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
                break;
        }
    } else if (strncmp(path, "/to/", 4) == 0) {
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n",
                         path + 4);
        send_str(fd, head, (size_t)n);
    } else {
        const char *h = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_str(fd, h, strlen(h));
    }
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(srv_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static int listen_on(const char *ip, int *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    socklen_t sl = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &sl);
    *port_out = ntohs(a.sin_port);
    return fd;
}

static int servers_start(void **state)
{
    (void)state;
    srv_fd = listen_on("127.0.0.1", &srv_port);
    trap_fd = listen_on("127.0.0.2", &trap_port);
    if (srv_fd < 0 || trap_fd < 0)
        return -1;
    fcntl(trap_fd, F_SETFL, O_NONBLOCK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cf-fetch-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    return pthread_create(&srv_thread, NULL, accept_main, NULL);
}

static int servers_stop(void **state)
{
    (void)state;
    shutdown(srv_fd, SHUT_RDWR);
    close(srv_fd);
    pthread_join(srv_thread, NULL);
    close(trap_fd);
    rmdir(tmpdir);
    return 0;
}

/* Whether anything connected to the trap since the last call. */
static int trap_was_hit(void)
{
    int fd = accept(trap_fd, NULL, NULL);
    if (fd < 0)
        return 0;
    close(fd);
    while ((fd = accept(trap_fd, NULL, NULL)) >= 0)
        close(fd);
    return 1;
}

/* Fetches url under p into a fresh file; returns the code, the reason in
 * why and the size in *size (-1 when no file is left). */
static int fetch(const cf_fetch_policy *p, const char *url, char *why, size_t len, long *size)
{
    char path[128];
    struct stat st;
    cf_error err;
    cf_error_clear(&err);
    snprintf(path, sizeof path, "%s/out", tmpdir);
    unlink(path);
    int rc = cf_http_fetch(url, path, p, &err);
    snprintf(why, len, "%s", err.msg);
    *size = stat(path, &st) == 0 ? (long)st.st_size : -1;
    unlink(path);
    return rc;
}

static void fetch_allowed_works(void **state)
{
    (void)state;
    cf_fetch_policy p;
    char url[256], why[1024];
    long size;
    build(&p, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/small", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_OK);
    assert_int_equal(size, 100);
    cf_fetch_policy_cleanup(&p);
}

static void denied_address_is_never_connected(void **state)
{
    (void)state;
    static const char *rules[] = {"deny:127.0.0.2", NULL};
    cf_fetch_policy p;
    char url[512], why[1024];
    long size;
    build(&p, rules);
    trap_was_hit();
    /* literal: refused before libcurl runs */
    snprintf(url, sizeof url, "http://127.0.0.2:%d/x", trap_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "address 127.0.0.2 is denied by the fetch policy (--fetch-deny "
                             "127.0.0.2)");
    assert_int_equal(size, -1);
    /* a redirect to it: refused at connect */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/to/http://127.0.0.2:%d/x", srv_port, trap_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "address 127.0.0.2 is denied by the fetch policy (--fetch-deny "
                             "127.0.0.2)");
    assert_false(trap_was_hit());
    cf_fetch_policy_cleanup(&p);

    /* without the rule, the trap does see a connection: the check above means something */
    build(&p, NULL);
    snprintf(url, sizeof url, "http://127.0.0.2:%d/x", trap_port);
    p.timeout_s = 0.3;
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_true(trap_was_hit());
    cf_fetch_policy_cleanup(&p);
}

static void resolved_name_is_checked_at_connect(void **state)
{
    (void)state;
    static const char *rules[] = {"deny:127.0.0.0/8", "deny:::1", NULL};
    cf_fetch_policy p;
    char url[256], why[1024];
    long size;
    build(&p, rules);
    /* "localhost" passes the name check; its addresses do not */
    snprintf(url, sizeof url, "http://localhost:%d/small", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_non_null(strstr(why, "is denied by the fetch policy (--fetch-deny "));
    assert_int_equal(size, -1);
    cf_fetch_policy_cleanup(&p);
}

static void redirect_to_denied_host_name(void **state)
{
    (void)state;
    static const char *rules[] = {"deny:localhost", NULL};
    cf_fetch_policy p;
    char url[512], why[1024];
    long size;
    build(&p, rules);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/to/http://LocalHost:%d/small", srv_port,
             srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "host localhost is denied by the fetch policy (--fetch-deny "
                             "localhost)");
    cf_fetch_policy_cleanup(&p);
    /* and the redirect works when allowed */
    build(&p, NULL);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_OK);
    assert_int_equal(size, 100);
    cf_fetch_policy_cleanup(&p);
}

static void redirect_to_metadata_is_refused(void **state)
{
    (void)state;
    cf_fetch_policy p;
    char url[512], why[1024];
    long size;
    build(&p, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/to/http://169.254.169.254/latest/meta-data/",
             srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "address 169.254.169.254 is denied by the fetch policy "
                             "(link-local/cloud metadata)");
    cf_fetch_policy_cleanup(&p);
}

static void allow_list_refuses_others(void **state)
{
    (void)state;
    static const char *rules[] = {"allow:127.0.0.1", NULL};
    cf_fetch_policy p;
    char url[512], why[1024];
    long size;
    build(&p, rules);
    trap_was_hit();
    snprintf(url, sizeof url, "http://127.0.0.1:%d/small", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/to/http://127.0.0.2:%d/x", srv_port, trap_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "address 127.0.0.2 is not allowed by the fetch policy (no "
                             "--fetch-allow rule matches)");
    assert_false(trap_was_hit());
    cf_fetch_policy_cleanup(&p);
}

static void size_limit(void **state)
{
    (void)state;
    cf_fetch_policy p;
    char url[256], why[1024];
    long size;
    build(&p, NULL);
    p.max_bytes = 4096;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big-len", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "the file is larger than the limit of 4096 bytes");
    assert_int_equal(size, -1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big-nolen", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_string_equal(why, "the file is larger than the limit of 4096 bytes");
    assert_int_equal(size, -1);
    p.max_bytes = 5000; /* exactly the size is fine */
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_OK);
    assert_int_equal(size, 5000);
    p.max_bytes = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big-len", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_OK);
    assert_int_equal(size, 5000);
    cf_fetch_policy_cleanup(&p);
}

static void time_limit(void **state)
{
    (void)state;
    cf_fetch_policy p;
    char url[256], why[1024];
    long size;
    build(&p, NULL);
    p.timeout_s = 0.5;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", srv_port);
    assert_int_equal(fetch(&p, url, why, sizeof why, &size), CF_EFETCH);
    assert_non_null(strstr(why, "not done within the time limit of 0.5 s ("));
    assert_int_equal(size, -1);
    cf_fetch_policy_cleanup(&p);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(rules_parse),
        cmocka_unit_test(defaults),
        cmocka_unit_test(builtin_denials),
        cmocka_unit_test(deny_rules_and_cidr_edges),
        cmocka_unit_test(host_patterns),
        cmocka_unit_test(precedence),
        cmocka_unit_test(allow_list_mode),
        cmocka_unit_test(set_default_takes_ownership),
    };
    const struct CMUnitTest fetching[] = {
        cmocka_unit_test(fetch_allowed_works),
        cmocka_unit_test(denied_address_is_never_connected),
        cmocka_unit_test(resolved_name_is_checked_at_connect),
        cmocka_unit_test(redirect_to_denied_host_name),
        cmocka_unit_test(redirect_to_metadata_is_refused),
        cmocka_unit_test(allow_list_refuses_others),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(time_limit),
    };
    int failed = cmocka_run_group_tests_name("fetch policy", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("fetch policy enforced", fetching, servers_start,
                                          servers_stop);
    return failed ? 1 : 0;
}
