/* test_ipc.c - length-prefixed JSON framing between front and worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"

static void encode_puts_big_endian_length_first(void **state)
{
    (void)state;
    json_t *msg = json_pack("{s:s}", "type", "ready");
    size_t len = 0;
    cf_error err;
    char *frame = cf_ipc_encode(msg, &len, &err);
    assert_non_null(frame);
    assert_int_equal(len, 4 + strlen("{\"type\":\"ready\"}"));
    assert_int_equal((unsigned char)frame[0], 0);
    assert_int_equal((unsigned char)frame[3], len - 4);
    assert_memory_equal(frame + 4, "{\"type\":\"ready\"}", len - 4);
    free(frame);
    json_decref(msg);
}

static void round_trip_over_a_socket_pair(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    json_t *msg = json_pack("{s:s, s:{s:i, s:[f,s]}}", "type", "predict", "input", "n", 3,
                            "xs", 1.5, "é");
    cf_error err;
    assert_int_equal(cf_ipc_send(sv[0], msg, &err), 0);
    assert_int_equal(cf_ipc_send(sv[0], msg, &err), 0);
    for (int i = 0; i < 2; i++) {
        json_t *got = cf_ipc_recv(sv[1], &err);
        assert_non_null(got);
        assert_true(json_equal(got, msg));
        json_decref(got);
    }
    close(sv[0]);
    json_t *eof = cf_ipc_recv(sv[1], &err);
    assert_null(eof);
    assert_int_equal(err.code, CF_EIO);
    assert_string_equal(err.msg, "eof");
    close(sv[1]);
    json_decref(msg);
}

static void torn_frame_is_a_protocol_error(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    const unsigned char partial[] = {0, 0, 0, 10, '{', '"'};
    assert_int_equal(write(sv[0], partial, sizeof partial), (ssize_t)sizeof partial);
    close(sv[0]);
    cf_error err;
    assert_null(cf_ipc_recv(sv[1], &err));
    assert_int_equal(err.code, CF_EPROTO);
    close(sv[1]);
}

static void oversized_length_is_refused(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    const unsigned char hdr[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(write(sv[0], hdr, 4), 4);
    cf_error err;
    assert_null(cf_ipc_recv(sv[1], &err));
    assert_int_equal(err.code, CF_EPROTO);
    close(sv[0]);
    close(sv[1]);
}

static void frame_without_type_is_refused(void **state)
{
    (void)state;
    cf_error err;
    assert_null(cf_ipc_decode("[1,2]", 5, &err));
    assert_int_equal(err.code, CF_EPROTO);
    assert_null(cf_ipc_decode("{\"a\":1}", 7, &err));
    assert_null(cf_ipc_decode("{\"type\":", 8, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encode_puts_big_endian_length_first),
        cmocka_unit_test(round_trip_over_a_socket_pair),
        cmocka_unit_test(torn_frame_is_a_protocol_error),
        cmocka_unit_test(oversized_length_is_refused),
        cmocka_unit_test(frame_without_type_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
