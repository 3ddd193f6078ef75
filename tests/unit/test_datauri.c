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

/* cf_datauri_check and cf_datauri_decode_to_fd give what cf_datauri_decode
 * gave for uri: the same verdict, message and bytes. */
static void check_agrees(const char *uri, int rc, const unsigned char *data, size_t len,
                         const char *msg)
{
    cf_error err;
    assert_int_equal(cf_datauri_check(uri, strlen(uri), &err), rc);
    if (rc != 0) {
        assert_string_equal(err.msg, msg);
    }
    FILE *f = tmpfile();
    assert_non_null(f);
    size_t written = 0;
    int frc = cf_datauri_decode_to_fd(uri, strlen(uri), fileno(f), &written, &err);
    assert_int_equal(frc, rc);
    if (rc == 0) {
        assert_int_equal(written, len);
        unsigned char *back = malloc(len + 1);
        assert_non_null(back);
        rewind(f);
        assert_int_equal(fread(back, 1, len + 1, f), len);
        assert_memory_equal(back, data, len);
        free(back);
    } else {
        assert_string_equal(err.msg, msg);
    }
    fclose(f);
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
        /* Whitespace around the URI: urlopen strips it (str.strip). */
        {"  data:,hello  ", "68656c6c6f", "text/plain"},
        {"\tdata:text/plain;base64,aGk=\n", "6869", "text/plain"},
        {"data:,\xc2\xa0x\xc2\xa0", "c2a078", "text/plain"},
        {"data:,x\xe3\x80\x80", "78", "text/plain"},
        {"data:,x\x1f\x0b", "78", "text/plain"},
        /* An empty fragment is dropped, a fragment is data. */
        {"data:,a#", "61", "text/plain"},
        {"data:,a##", "6123", "text/plain"},
        /* URL-safe characters are outside the alphabet: skipped, as base64.decodebytes does. */
        {"data:;base64,aGk-_-=", "6869", "text/plain"},
        {"data:;base64,a-b_c=", "69b7", "text/plain"},
        /* Line breaks, quoted bytes and pads in odd places. */
        {"data:;base64,YWJj\nZGVm\n", "616263646566", "text/plain"},
        {"data:;base64,YW\r\nJj", "616263", "text/plain"},
        {"data:;base64,YWJ%0AjZA%3d%3D", "61626364", "text/plain"},
        {"data:;base64,=YQ==", "61", "text/plain"},
        {"data:;base64,Y=Q==", "61", "text/plain"},
        {"data:;base64,YQ=a=", "6106", "text/plain"},
        {"data:;base64,YWI=Yw==", "6162", "text/plain"},
        {"data:;base64,YWJjZ", NULL,
         "Invalid base64-encoded string: number of data characters (5) cannot be 1 more than a multiple of 4"},
        {"data:;base64,YWJjZA", NULL, "Incorrect padding"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *mime = NULL;
        unsigned char *data = NULL;
        size_t len = 0;
        cf_error err;
        int rc = cf_datauri_decode(cases[i].uri, &mime, &data, &len, &err);
        check_agrees(cases[i].uri, rc, data, len, err.msg);
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

/* binascii.a2b_base64 (non-strict), one character at a time, as the
 * decoder was before it had a fast path: the oracle for random inputs. */
static int ref_b64(const unsigned char *in, size_t n, unsigned char *out, size_t *out_len)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    int quad = 0, pads = 0;
    unsigned int left = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '=') {
            if (quad >= 2 && quad + ++pads >= 4) {
                *out_len = o;
                return 0;
            }
            continue;
        }
        const char *p = in[i] != 0 ? strchr(alpha, in[i]) : NULL;
        if (p == NULL) {
            continue;
        }
        unsigned int v = (unsigned int)(p - alpha);
        pads = 0;
        if (quad == 0) {
            left = v;
        } else if (quad == 1) {
            out[o++] = (unsigned char)(left << 2 | v >> 4);
            left = v & 15;
        } else if (quad == 2) {
            out[o++] = (unsigned char)(left << 4 | v >> 2);
            left = v & 3;
        } else {
            out[o++] = (unsigned char)(left << 6 | v);
        }
        quad = (quad + 1) % 4;
    }
    *out_len = o;
    return quad == 0 ? 0 : quad == 1 ? 1 : 2;
}

/* Random payloads mostly of alphabet characters with whitespace, pads,
 * url-safe and stray bytes mixed in: the fast path and the byte-by-byte
 * state machine must hand over to each other without a seam. */
static void random_against_reference(void)
{
    static const char mix[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                              "= \n\r\t-_!.";
    unsigned int seed = 12345;
    unsigned char in[300], want[300], got[CF_BASE64_DECODED_MAX(300)];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % 300);
        int sparse = rand_r(&seed) % 4; /* 0: plain alphabet, else that many odd bytes in 64 */
        for (size_t i = 0; i < n; i++) {
            int odd = sparse != 0 && rand_r(&seed) % 64 < sparse;
            in[i] = (unsigned char)(odd ? mix[192 + rand_r(&seed) % (int)(sizeof(mix) - 193)]
                                        : mix[rand_r(&seed) % 64]);
        }
        size_t wlen = 0;
        int wrc = ref_b64(in, n, want, &wlen);
        /* In pieces of random size, as a streamed file is decoded. */
        cf_base64_decoder d, c;
        cf_base64_decoder_init(&d);
        cf_base64_decoder_init(&c);
        size_t glen = 0;
        for (size_t at = 0; at < n;) {
            size_t piece = 1 + (size_t)(rand_r(&seed) % 80);
            if (piece > n - at) {
                piece = n - at;
            }
            glen += cf_base64_decode_update(&d, in + at, piece, got + glen);
            cf_base64_check_update(&c, in + at, piece);
            at += piece;
        }
        cf_error err;
        int grc = cf_base64_decode_final(&d, &err);
        if ((grc != 0) != (wrc != 0)) {
            print_error("round %d: n=%zu ref %d got %d q=%d total=%zu glen=%zu wlen=%zu\n", round, n, wrc, grc, d.quad_pos, d.total, glen, wlen);
        }
        assert_int_equal(grc != 0, wrc != 0);
        assert_int_equal(cf_base64_decode_final(&c, &err) != 0, wrc != 0);
        if (wrc == 1) {
            assert_non_null(strstr(err.msg, "1 more than a multiple of 4"));
        } else if (wrc == 2) {
            assert_string_equal(err.msg, "Incorrect padding");
        }
        assert_int_equal(c.total, d.total);
        if (wrc == 0) {
            assert_int_equal(glen, wlen);
            assert_memory_equal(got, want, wlen);
        }
        /* And in place, in one go. */
        size_t ilen = 0;
        assert_int_equal(cf_base64_decode_inplace(in, n, &ilen, &err) != 0, wrc != 0);
        if (wrc == 0) {
            assert_int_equal(ilen, wlen);
            assert_memory_equal(in, want, wlen);
        }
    }
}

static void test_random_against_reference(void **state)
{
    (void)state;
    random_against_reference();
    /* The portable table code, as on a CPU without SSSE3. */
    cf_base64_use_simd(0);
    random_against_reference();
    cf_base64_use_simd(1);
}

/* A payload of several 64 KiB pieces with "%XX" escapes on every piece
 * boundary: streaming must not cut an escape in two. */
static void test_large_quoted_payload(void **state)
{
    (void)state;
    size_t raw_len = 300000;
    unsigned char *raw = malloc(raw_len);
    assert_non_null(raw);
    for (size_t i = 0; i < raw_len; i++) {
        raw[i] = (unsigned char)(i * 31 + (i >> 8));
    }
    char *b64 = cf_base64_encode(raw, raw_len);
    assert_non_null(b64);
    size_t blen = strlen(b64);
    /* Every 7th character quoted ('%' + two hex digits), so escapes land at
     * every offset relative to the 64 KiB pieces. */
    char *uri = malloc(32 + blen * 3);
    assert_non_null(uri);
    size_t u = (size_t)sprintf(uri, "data:application/x-raw;base64,");
    for (size_t i = 0; i < blen; i++) {
        if (i % 7 == 0) {
            u += (size_t)sprintf(uri + u, "%%%02X", (unsigned char)b64[i]);
        } else {
            uri[u++] = b64[i];
        }
    }
    uri[u] = '\0';
    char *mime = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    cf_error err;
    assert_int_equal(cf_datauri_decode(uri, &mime, &data, &len, &err), 0);
    assert_int_equal(len, raw_len);
    assert_memory_equal(data, raw, raw_len);
    assert_string_equal(mime, "application/x-raw");
    check_agrees(uri, 0, data, len, "");
    free(mime);
    free(data);
    free(uri);
    free(b64);
    free(raw);
}

/* Encoding every length from 0 to 200 gives the reference encoding. */
static void test_encode_lengths(void **state)
{
    (void)state;
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char in[200];
    char want[300];
    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char)(i * 97 + 11);
    }
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t o = 0;
        for (size_t i = 0; i < n; i += 3) {
            unsigned int v = (unsigned int)in[i] << 16 | (i + 1 < n ? (unsigned int)in[i + 1] << 8 : 0) |
                             (i + 2 < n ? in[i + 2] : 0);
            want[o++] = alpha[v >> 18];
            want[o++] = alpha[v >> 12 & 63];
            want[o++] = i + 1 < n ? alpha[v >> 6 & 63] : '=';
            want[o++] = i + 2 < n ? alpha[v & 63] : '=';
        }
        want[o] = '\0';
        char *got = cf_base64_encode(in, n);
        assert_string_equal(got, want);
        assert_int_equal(strlen(got), CF_BASE64_ENCODED_LEN(n));
        free(got);
        assert_int_equal(cf_datauri_encoded_len("image/png", n), 22 + CF_BASE64_ENCODED_LEN(n));
    }
}

static void test_scalar_paths(void **state)
{
    (void)state;
    cf_base64_use_simd(0);
    test_encode(state);
    test_roundtrip(state);
    test_encode_lengths(state);
    cf_base64_use_simd(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_matches_python),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_large_quoted_payload),
        cmocka_unit_test(test_encode_lengths),
        cmocka_unit_test(test_scalar_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
