/* test_plain_http.c - telling a plain HTTP request from a FastCGI record, and the 400 page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "plain_http.h"

/* cf_plain_http_detect on a connection whose peer sent bytes. */
static int detect(const char *bytes, size_t n)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    if (n)
        assert_int_equal(write(sv[1], bytes, n), (ssize_t)n);
    int r = cf_plain_http_detect(sv[0]);
    char buf[64];
    /* it only peeked: the bytes are all still there */
    if (n)
        assert_int_equal(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT), (ssize_t)n);
    close(sv[0]);
    close(sv[1]);
    return r;
}

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(detect("GET /predictions HTTP/1.1\r\n", 27), 1);
    assert_int_equal(detect("POST / HTTP/1.0\r\n", 17), 1);
    assert_int_equal(detect("OPTIONS * HTTP/1.1\r\n", 20), 1);
    static const char begin[] = {1, 1, 0, 1, 0, 8, 0, 0};
    assert_int_equal(detect(begin, sizeof begin), 0);         /* FastCGI: version 1 */
    assert_int_equal(detect("\x09\x01\x00\x01", 4), 0);       /* garbage, not HTTP */
    assert_int_equal(detect("get / HTTP/1.1\r\n", 16), 0);    /* methods are capitals */
    assert_int_equal(detect(" GET", 4), 0);
    assert_int_equal(detect("", 0), 0);                       /* nothing yet */
}

static void test_page(void **state)
{
    (void)state;
    char page[1024];
    cf_plain_http_page("unix:/run/cog-fcgi/cog.sock", page, sizeof page);
    assert_non_null(strstr(page, "This port speaks FastCGI, not HTTP."));
    assert_non_null(strstr(page, "include /etc/nginx/fastcgi_params;"));
    assert_non_null(strstr(page, "fastcgi_pass unix:/run/cog-fcgi/cog.sock;"));
    assert_non_null(strstr(page, "cog-fcgi predict"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
