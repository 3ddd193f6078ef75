/* base64_speed.c - the base64 decoder's and encoder's MB/s beside memcpy's on the same buffer.
 *
 *   build/tests/bench_base64 [MEGABYTES] [SECONDS]
 *
 * Encodes MEGABYTES (default 8) of pseudo-random bytes once, then for about SECONDS (default
 * 0.5) each: memcpy of the encoded text, cf_base64_decode_update on it, cf_base64_check_update
 * (validation's pass), cf_base64_encode_to of the bytes, and the same decode of the text wrapped
 * at 76 columns (MIME style: the slow path once per line), with the portable table code and
 * with the SSSE3 paths (when the CPU has them: what cog-fcgi then uses). MB/s counts the input
 * side (encoded text for the decoders, raw bytes for the encoder, bytes copied for memcpy). One
 * line each, then "decode/memcpy" for the decoder in use; bench/run.sh prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A sink the compiler cannot see through, so that no loop is optimised away. */
static volatile unsigned char cf_bench_sink;

typedef void (*cf_bench_fn)(void *ctx);

/* Runs fn until `seconds` pass (at least 3 times); returns bytes/s for `bytes` per call. */
static double cf_bench_rate(cf_bench_fn fn, void *ctx, size_t bytes, double seconds)
{
    fn(ctx); /* warm the caches and the page tables */
    int runs = 0;
    double start = now();
    double elapsed = 0;
    while (runs < 3 || elapsed < seconds) {
        fn(ctx);
        runs++;
        elapsed = now() - start;
    }
    return (double)bytes * runs / elapsed;
}

typedef struct cf_bench {
    unsigned char *raw;
    size_t raw_len;
    char *text;
    size_t text_len;
    char *wrapped;
    size_t wrapped_len;
    unsigned char *out;
    char *copy;
} cf_bench;

static void run_memcpy(void *ctx)
{
    cf_bench *b = ctx;
    memcpy(b->copy, b->text, b->text_len);
    cf_bench_sink = (unsigned char)b->copy[b->text_len / 2];
}

static void run_decode(void *ctx)
{
    cf_bench *b = ctx;
    cf_base64_decoder d;
    cf_base64_decoder_init(&d);
    size_t n = cf_base64_decode_update(&d, (unsigned char *)b->text, b->text_len, b->out);
    cf_bench_sink = b->out[n / 2];
}

static void run_decode_wrapped(void *ctx)
{
    cf_bench *b = ctx;
    cf_base64_decoder d;
    cf_base64_decoder_init(&d);
    size_t n = cf_base64_decode_update(&d, (unsigned char *)b->wrapped, b->wrapped_len, b->out);
    cf_bench_sink = b->out[n / 2];
}

static void run_check(void *ctx)
{
    cf_bench *b = ctx;
    cf_base64_decoder d;
    cf_base64_decoder_init(&d);
    cf_base64_check_update(&d, (unsigned char *)b->text, b->text_len);
    cf_bench_sink = (unsigned char)d.total;
}

static void run_encode(void *ctx)
{
    cf_bench *b = ctx;
    size_t n = cf_base64_encode_to(b->copy, b->raw, b->raw_len);
    cf_bench_sink = (unsigned char)b->copy[n / 2];
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 8;
    double secs = argc > 2 ? atof(argv[2]) : 0.5;
    cf_bench b = {0};
    int rc = 1;

    if (mb == 0) {
        mb = 8;
    }
    b.raw_len = mb << 20;
    b.raw = malloc(b.raw_len);
    b.text_len = CF_BASE64_ENCODED_LEN(b.raw_len);
    b.text = malloc(b.text_len + 1);
    b.wrapped = malloc(b.text_len + b.text_len / 76 + 2);
    b.out = malloc(CF_BASE64_DECODED_MAX(b.text_len + b.text_len / 76 + 2));
    b.copy = malloc(b.text_len + 1);
    if (b.raw == NULL || b.text == NULL || b.wrapped == NULL || b.out == NULL || b.copy == NULL) {
        fprintf(stderr, "out of memory\n");
        goto cleanup;
    }
    unsigned int x = 2463534242u;
    for (size_t i = 0; i < b.raw_len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.raw[i] = (unsigned char)x;
    }
    cf_base64_encode_to(b.text, b.raw, b.raw_len);
    for (size_t i = 0; i < b.text_len; i += 76) {
        size_t n = b.text_len - i < 76 ? b.text_len - i : 76;
        memcpy(b.wrapped + b.wrapped_len, b.text + i, n);
        b.wrapped_len += n;
        b.wrapped[b.wrapped_len++] = '\n';
    }

    double mcp = cf_bench_rate(run_memcpy, &b, b.text_len, secs);
    printf("memcpy                         %8.0f MB/s\n", mcp / 1e6);
    /* The portable table code, then SSSE3 where the CPU has it. */
    double dec = 0;
    for (int simd = 0; simd <= 1; simd++) {
        if (cf_base64_use_simd(simd) != simd) {
            printf("(no SSSE3 on this CPU: the table code is what runs)\n");
            break;
        }
        const char *how = simd ? "SSSE3" : "table";
        dec = cf_bench_rate(run_decode, &b, b.text_len, secs);
        double wrp = cf_bench_rate(run_decode_wrapped, &b, b.wrapped_len, secs);
        double chk = cf_bench_rate(run_check, &b, b.text_len, secs);
        double enc = cf_bench_rate(run_encode, &b, b.raw_len, secs);
        printf("base64 decode, %-5s           %8.0f MB/s\n", how, dec / 1e6);
        printf("base64 decode, %-5s, wrapped  %8.0f MB/s\n", how, wrp / 1e6);
        printf("base64 check, %-5s            %8.0f MB/s\n", how, chk / 1e6);
        printf("base64 encode, %-5s           %8.0f MB/s\n", how, enc / 1e6);
    }
    printf("decode/memcpy (as used)        %8.3f\n", dec / mcp);
    rc = 0;

cleanup:
    free(b.raw);
    free(b.text);
    free(b.wrapped);
    free(b.out);
    free(b.copy);
    return rc;
}
