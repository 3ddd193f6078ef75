/* test_datauri.c - data: URIs decoded as Python's urllib does, and encoded for outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "datauri.h"

static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned int b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (unsigned char)b;
    }
    return n;
}

/* Expectations printed by /usr/bin/python3: urlopen(uri).read() and
 * headers.get_content_type(), or the exception text. */
static void test_decode_matches_python(void **state)
{
    (void)state;
    static const struct {
        const char *uri;
        const char *hex;  /* NULL: an error */
        const char *mime; /* or the error message */
    } cases[] = {
        {"data:text/plain;base64,aGVsbG8gZmlsZQo=", "68656c6c6f2066696c650a", "text/plain"},
        {"data:,plain%20text%20here", "706c61696e20746578742068657265", "text/plain"},
        {"data:text/plain;charset=utf-8;base64,Z3LDvMOfZQo=", "6772c3bcc39f650a", "text/plain"},
        {"data:text/plain;base64,aGVsbG8", NULL, "Incorrect padding"},
        {"data:text/plain;base64,aGVsbG8=", "68656c6c6f", "text/plain"},
        {"data:text/plain;base64,aGVs bG8g", "68656c6c6f20", "text/plain"},
        {"data:text/plain;base64,a", NULL,
         "Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4"},
        {"data:text/plain;base64,ab", NULL, "Incorrect padding"},
        {"data:text/plain;base64,aGVsbG8gZmlsZQo=garbage", "68656c6c6f2066696c650a", "text/plain"},
        {"data:text/plain;base64,aGVsbG8gZmlsZQo===", "68656c6c6f2066696c650a", "text/plain"},
        {"data:text/plain;base64,aGVs%3D", "68656c", "text/plain"},
        {"data:image/PNG;base64,iVBO", "89504e", "image/png"},
        {"data:;base64,aGk=", "6869", "text/plain"},
        {"data:text/plain;charset=utf-8,hi", "6869", "text/plain"},
        {"data:application/octet-stream;base64,AAECAwQFBgcICQoLDA0ODw==", "000102030405060708090a0b0c0d0e0f",
         "application/octet-stream"},
        {"data:text/plain;base64,aGk=aGk=", "6869", "text/plain"},
        {"data:text/plain;base64,a===", NULL,
         "Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4"},
        {"data:text/plain;base64,ab=c", NULL, "Incorrect padding"},
        {"data:image/svg+xml;utf8,<svg/>", "3c7376672f3e", "image/svg+xml"},
        {"data:TEXT/CSV;base64,YQ==", "61", "text/csv"},
        {"data:foo,bar", "626172", "text/plain"},
        {"data:audio/wav;base64,YQ==", "61", "audio/wav"},
        {"data:a/b;base64,!!!!", "", "a/b"},
        {"data:,a%zzb%4", "61257a7a622534", "text/plain"},
        {"data:,a#frag", "612366726167", "text/plain"},
        {"data:text/plain;BASE64,aGk=", "61476b3d", "text/plain"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *mime = NULL;
        unsigned char *data = NULL;
        size_t len = 0;
        cf_error err;
        int rc = cf_datauri_decode(cases[i].uri, &mime, &data, &len, &err);
        if (cases[i].hex == NULL) {
            assert_int_equal(rc, CF_EINVAL);
            assert_null(data);
            assert_null(mime);
            assert_string_equal(err.msg, cases[i].mime);
            continue;
        }
        unsigned char want[64];
        size_t wlen = unhex(cases[i].hex, want);
        if (rc != 0) {
            print_error("%s: %s\n", cases[i].uri, err.msg);
        }
        assert_int_equal(rc, 0);
        assert_int_equal(len, wlen);
        assert_memory_equal(data, want, wlen);
        assert_int_equal(data[len], 0);
        assert_string_equal(mime, cases[i].mime);
        free(mime);
        free(data);
    }
}

static void test_decode_errors(void **state)
{
    (void)state;
    unsigned char *data = NULL;
    size_t len = 0;
    cf_error err;
    assert_int_equal(cf_datauri_decode("data:nocomma", NULL, &data, &len, &err), CF_EINVAL);
    assert_int_equal(cf_datauri_decode("http://x/y", NULL, &data, &len, &err), CF_EINVAL);
    assert_int_equal(cf_datauri_decode(NULL, NULL, &data, &len, &err), CF_EINVAL);
    assert_int_equal(cf_datauri_decode("data:,x", NULL, &data, &len, &err), 0);
    assert_int_equal(len, 1);
    free(data);
}

/* Case 09's outputs, byte for byte. */
static void test_encode(void **state)
{
    (void)state;
    char *uri = cf_datauri_encode("text/plain", (const unsigned char *)"HELLO FILE\n", 11);
    assert_string_equal(uri, "data:text/plain;base64,SEVMTE8gRklMRQo=");
    free(uri);
    uri = cf_datauri_encode("application/json", (const unsigned char *)"{\"length\": 11}", 14);
    assert_string_equal(uri, "data:application/json;base64,eyJsZW5ndGgiOiAxMX0=");
    free(uri);
    uri = cf_datauri_encode(NULL, (const unsigned char *)"", 0);
    assert_string_equal(uri, "data:application/octet-stream;base64,");
    free(uri);
    unsigned char png[80];
    size_t n = unhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                     "1f15c4890000000d49444154789c6360000002000185d6d8a10000000049454e44ae426082",
                     png);
    uri = cf_datauri_encode("image/png", png, n);
    assert_string_equal(uri, "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
                             "nGNgAAACAAGF1tihAAAAAElFTkSuQmCC");
    free(uri);
}

static void test_roundtrip(void **state)
{
    (void)state;
    unsigned char buf[256];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 7 + 3);
    }
    for (size_t len = 0; len < 40; len++) {
        char *uri = cf_datauri_encode("application/x-test", buf, len);
        char *mime = NULL;
        unsigned char *data = NULL;
        size_t out = 0;
        cf_error err;
        assert_int_equal(cf_datauri_decode(uri, &mime, &data, &out, &err), 0);
        assert_int_equal(out, len);
        assert_memory_equal(data, buf, len);
        assert_string_equal(mime, "application/x-test");
        free(uri);
        free(mime);
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_matches_python),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
