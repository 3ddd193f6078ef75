/* test_mgmt.c - FastCGI management records answered without blocking, requests left for libfcgi. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "mgmt.h"

static int sv[2]; /* sv[0]: the server's end, sv[1]: the web server's */

static int setup(void **state)
{
    (void)state;
    return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static int teardown(void **state)
{
    (void)state;
    close(sv[0]);
    close(sv[1]);
    return 0;
}

/* Writes a record with the given type, request id and content. */
static void send_record(int type, int id, const void *content, size_t len)
{
    unsigned char head[8] = {1, (unsigned char)type, (unsigned char)(id >> 8), (unsigned char)id,
                             (unsigned char)(len >> 8), (unsigned char)len, 0, 0};
    size_t pad = (8 - len % 8) % 8;
    head[6] = (unsigned char)pad;
    unsigned char zeros[8] = {0};
    assert_int_equal(write(sv[1], head, 8), 8);
    if (len)
        assert_int_equal(write(sv[1], content, len), (ssize_t)len);
    if (pad)
        assert_int_equal(write(sv[1], zeros, pad), (ssize_t)pad);
}

/* Reads one record into body (content only); returns its type. */
static int read_record(unsigned char *body, size_t *len)
{
    unsigned char head[8];
    assert_int_equal(read(sv[1], head, 8), 8);
    assert_int_equal(head[0], 1);
    assert_int_equal(head[2] | head[3], 0);
    *len = ((size_t)head[4] << 8) | head[5];
    size_t total = *len + head[6];
    size_t got = 0;
    while (got < total) {
        ssize_t n = read(sv[1], body + got, total - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    return head[1];
}

static const unsigned char get_values[] = "\x0e\x00" "FCGI_MAX_CONNS" "\x0d\x00" "FCGI_MAX_REQS"
                                          "\x0f\x00" "FCGI_MPXS_CONNS" "\x05\x00" "OTHER";

static void test_get_values_answered_at_once(void **state)
{
    (void)state;
    send_record(9, 0, get_values, sizeof get_values - 1);
    /* Nothing follows the record: answered anyway, then "nothing left". */
    assert_int_equal(cf_mgmt_answer(sv[0], 7), 0);
    unsigned char body[1024];
    size_t len;
    assert_int_equal(read_record(body, &len), 10);
    const unsigned char want_reqs[] = "\x0d\x01" "FCGI_MAX_REQS" "7";
    const unsigned char want_mpxs[] = "\x0f\x01" "FCGI_MPXS_CONNS" "0";
    assert_non_null(memmem(body, len, want_reqs, sizeof want_reqs - 1));
    assert_non_null(memmem(body, len, want_mpxs, sizeof want_mpxs - 1));
    assert_non_null(memmem(body, len, "FCGI_MAX_CONNS", 14));
    assert_null(memmem(body, len, "OTHER", 5));
}

static void test_unknown_type(void **state)
{
    (void)state;
    send_record(42, 0, NULL, 0);
    assert_int_equal(cf_mgmt_answer(sv[0], 2), 0);
    unsigned char body[64];
    size_t len;
    assert_int_equal(read_record(body, &len), 11);
    assert_int_equal(len, 8);
    assert_int_equal(body[0], 42);
}

static void test_request_left_for_libfcgi(void **state)
{
    (void)state;
    unsigned char begin[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    send_record(9, 0, get_values, sizeof get_values - 1);
    send_record(1, 1, begin, sizeof begin);
    assert_int_equal(cf_mgmt_answer(sv[0], 2), 1);
    /* The management record was consumed, the request was not. */
    unsigned char head[8];
    assert_int_equal(recv(sv[0], head, 8, MSG_DONTWAIT), 8);
    assert_int_equal(head[1], 1);
    assert_int_equal(head[3], 1);
}

static void test_partial_record_left_for_libfcgi(void **state)
{
    (void)state;
    unsigned char head[8] = {1, 9, 0, 0, 0, 40, 0, 0};
    assert_int_equal(write(sv[1], head, 8), 8);
    assert_int_equal(cf_mgmt_answer(sv[0], 2), 1);
    assert_int_equal(write(sv[1], head, 3), 3);
}

static void test_garbage_and_eof(void **state)
{
    (void)state;
    assert_int_equal(write(sv[1], "GET / HTTP/1.1\r\n", 16), 16);
    assert_int_equal(cf_mgmt_answer(sv[0], 2), 1);
    char buf[16];
    assert_int_equal(read(sv[0], buf, sizeof buf), 16);
    shutdown(sv[1], SHUT_WR);
    assert_true(cf_mgmt_answer(sv[0], 2) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_values_answered_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_left_for_libfcgi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_record_left_for_libfcgi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_eof, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
