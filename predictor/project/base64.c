/* base64.c - table-driven base64, decoding as Python's binascii does (lenient mode). */
#include "base64.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char cf_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of each alphabet character; 0xfe for '=', 0xff for the rest.
 * A group of four is plain alphabet when the OR of its values has neither
 * of the top two bits set. */
#define CF_B64_PAD 0xfe
static const unsigned char cf_b64_value[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff,
    0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

void cf_base64_decoder_init(cf_base64_decoder *d)
{
    memset(d, 0, sizeof(*d));
}

/* One character through binascii.a2b_base64's state machine (Modules/
 * binascii.c, strict_mode off). Writes at most one byte to *out; returns
 * how many it wrote. */
static size_t cf_b64_step(cf_base64_decoder *d, unsigned char c, unsigned char *out)
{
    unsigned int v = cf_b64_value[c];
    if (v == CF_B64_PAD) {
        /* A complete pad sequence ends the data; stray pads are ignored. */
        if (d->quad_pos >= 2 && d->quad_pos + ++d->pads >= 4) {
            d->done = 1;
        }
        return 0;
    }
    if (v > 63) {
        return 0; /* outside the alphabet: skipped */
    }
    d->pads = 0;
    switch (d->quad_pos) {
    case 0:
        d->quad_pos = 1;
        d->leftchar = v;
        return 0;
    case 1:
        d->quad_pos = 2;
        *out = (unsigned char)((d->leftchar << 2) | (v >> 4));
        d->leftchar = v & 0x0f;
        return 1;
    case 2:
        d->quad_pos = 3;
        *out = (unsigned char)((d->leftchar << 4) | (v >> 2));
        d->leftchar = v & 0x03;
        return 1;
    default:
        d->quad_pos = 0;
        *out = (unsigned char)((d->leftchar << 6) | v);
        d->leftchar = 0;
        return 1;
    }
}

/* Writes the top six bytes of v, most significant first, as one 8-byte
 * store: the two bytes past them are scratch that the next group (or the
 * slack of CF_BASE64_DECODED_MAX) overwrites. In place this stays behind
 * the input: six bytes out for eight already read. */
static inline void cf_b64_store6(unsigned char *out, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(out, &v, 8);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    memcpy(out, &v, 8);
#else
    for (int i = 0; i < 6; i++) {
        out[i] = (unsigned char)(v >> (56 - 8 * i));
    }
#endif
}

/* Sixteen characters per step where the CPU has SSSE3 (checked at run
 * time; x86-64's baseline is only SSE2): the vector method of Wojciech
 * Mula and Daniel Lemire ("Faster Base64 Encoding and Decoding Using AVX2
 * Instructions", 2018), in its 128-bit form. Two nibble tables classify all
 * sixteen bytes at once; a block with anything outside the alphabet ('='
 * and whitespace included) is left to the scalar code, so results and
 * errors are the scalar ones. Each function returns how many input bytes it
 * consumed (a multiple of 16) and, when decoding, writes 12 bytes per 16
 * plus up to 4 of scratch past them. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CF_B64_SIMD 1
#include <tmmintrin.h>

/* Whether the 16 bytes of v are all alphabet characters; *hi_out gets the
 * high nibbles for the translation. */
__attribute__((target("ssse3"))) static inline int cf_b64_block_valid(__m128i v, __m128i *hi_out)
{
    const __m128i lut_lo = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                         0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
    const __m128i lut_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
                                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m128i mask_2f = _mm_set1_epi8(0x2f);
    __m128i hi_nibbles = _mm_and_si128(_mm_srli_epi32(v, 4), mask_2f);
    __m128i lo_nibbles = _mm_and_si128(v, mask_2f);
    __m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo_nibbles),
                                _mm_shuffle_epi8(lut_hi, hi_nibbles));
    *hi_out = hi_nibbles;
    return _mm_movemask_epi8(_mm_cmpgt_epi8(bad, _mm_setzero_si128())) == 0;
}

/* Decodes whole blocks while at least 20 bytes remain (the scratch bytes
 * then stay inside CF_BASE64_DECODED_MAX and behind the input in place). */
__attribute__((target("ssse3"))) static size_t cf_b64_decode_ssse3(const unsigned char *in, size_t n,
                                                                   unsigned char *out, size_t *written)
{
    const __m128i lut_roll = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i mask_2f = _mm_set1_epi8(0x2f);
    const __m128i pack_ab = _mm_set1_epi32(0x01400140);
    const __m128i pack_abcd = _mm_set1_epi32(0x00011000);
    const __m128i order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    size_t i = 0;
    size_t o = 0;
    while (i + 20 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
        __m128i hi;
        if (!cf_b64_block_valid(v, &hi)) {
            break;
        }
        /* The offset that turns each character into its value, by high
         * nibble ('/' shares '+'s nibble, hence the -1 for it). */
        __m128i roll = _mm_shuffle_epi8(lut_roll, _mm_add_epi8(_mm_cmpeq_epi8(v, mask_2f), hi));
        v = _mm_add_epi8(v, roll);
        /* 6-bit values to 12-bit pairs to 24-bit groups, then bytes in order. */
        v = _mm_madd_epi16(_mm_maddubs_epi16(v, pack_ab), pack_abcd);
        _mm_storeu_si128((__m128i *)(void *)(out + o), _mm_shuffle_epi8(v, order));
        i += 16;
        o += 12;
    }
    *written = o;
    return i;
}

__attribute__((target("ssse3"))) static size_t cf_b64_check_ssse3(const unsigned char *in, size_t n)
{
    size_t i = 0;
    while (i + 16 <= n) {
        __m128i hi;
        if (!cf_b64_block_valid(_mm_loadu_si128((const __m128i *)(const void *)(in + i)), &hi)) {
            break;
        }
        i += 16;
    }
    return i;
}

/* Encodes 12 bytes into 16 characters per step while 16 bytes can be
 * loaded; returns the input consumed (a multiple of 12). */
__attribute__((target("ssse3"))) static size_t cf_b64_encode_ssse3(const unsigned char *in, size_t n,
                                                                   char *out, size_t *written)
{
    const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
    const __m128i lut = _mm_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
    size_t i = 0;
    size_t o = 0;
    while (i + 16 <= n) {
        __m128i v = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(in + i)), spread);
        /* Each 32-bit lane holds three bytes; move its four 6-bit fields
         * into four bytes with two multiplies. */
        __m128i t1 = _mm_mulhi_epu16(_mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00)),
                                     _mm_set1_epi32(0x04000040));
        __m128i t3 = _mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi32(0x003f03f0)),
                                     _mm_set1_epi32(0x01000010));
        __m128i idx = _mm_or_si128(t1, t3);
        /* Value to character: an offset per range, found by a table index
         * that is 0 for A-Z (0..25), 1 for a-z, 2..11 for the digits, 12 for
         * '+' and 13 for '/'. */
        __m128i r = _mm_subs_epu8(idx, _mm_set1_epi8(51));
        r = _mm_sub_epi8(r, _mm_cmpgt_epi8(idx, _mm_set1_epi8(25)));
        r = _mm_add_epi8(_mm_shuffle_epi8(lut, r), idx);
        _mm_storeu_si128((__m128i *)(void *)(out + o), r);
        i += 12;
        o += 16;
    }
    *written = o;
    return i;
}

/* -1: not decided yet; set once from the CPU (or by cf_base64_use_simd). */
static int cf_b64_simd = -1;

static int cf_b64_have_ssse3(void)
{
    if (cf_b64_simd < 0) {
        cf_b64_simd = __builtin_cpu_supports("ssse3") ? 1 : 0; /* benign race: same value */
    }
    return cf_b64_simd;
}

int cf_base64_use_simd(int on)
{
    cf_b64_simd = on && __builtin_cpu_supports("ssse3") ? 1 : 0;
    return cf_b64_simd;
}
#else
#define CF_B64_SIMD 0
int cf_base64_use_simd(int on)
{
    (void)on;
    return 0;
}
#endif

/* Why this is fast: between group boundaries (quad_pos 0) the state machine
 * on four alphabet characters is exactly "three bytes out", so whole plain
 * groups skip it. Anything else in a group (whitespace, '=', a stray
 * character) sends that group through cf_b64_step one byte at a time, after
 * which the fast loop resumes at the next boundary. */
size_t cf_base64_decode_update(cf_base64_decoder *d, const unsigned char *in, size_t n,
                               unsigned char *out)
{
    size_t i = 0;
    size_t o = 0;
#if CF_B64_SIMD
    int simd = cf_b64_have_ssse3();
#endif
    while (i < n && !d->done) {
        if (d->quad_pos == 0) {
#if CF_B64_SIMD
            if (simd) {
                size_t wrote = 0;
                i += cf_b64_decode_ssse3(in + i, n - i, out + o, &wrote);
                o += wrote;
            }
#endif
            while (i + 8 <= n) {
                unsigned int a = cf_b64_value[in[i]], b = cf_b64_value[in[i + 1]];
                unsigned int c = cf_b64_value[in[i + 2]], e = cf_b64_value[in[i + 3]];
                unsigned int f = cf_b64_value[in[i + 4]], g = cf_b64_value[in[i + 5]];
                unsigned int h = cf_b64_value[in[i + 6]], k = cf_b64_value[in[i + 7]];
                if ((a | b | c | e | f | g | h | k) & 0xc0) {
                    break;
                }
                uint64_t v = (uint64_t)(a << 18 | b << 12 | c << 6 | e) << 40 |
                             (uint64_t)(f << 18 | g << 12 | h << 6 | k) << 16;
                cf_b64_store6(out + o, v);
                o += 6;
                i += 8;
            }
            if (i + 4 <= n) {
                unsigned int a = cf_b64_value[in[i]], b = cf_b64_value[in[i + 1]];
                unsigned int c = cf_b64_value[in[i + 2]], e = cf_b64_value[in[i + 3]];
                if (((a | b | c | e) & 0xc0) == 0) {
                    uint32_t x = a << 18 | b << 12 | c << 6 | e;
                    out[o] = (unsigned char)(x >> 16);
                    out[o + 1] = (unsigned char)(x >> 8);
                    out[o + 2] = (unsigned char)x;
                    o += 3;
                    i += 4;
                    continue;
                }
            }
            if (i >= n) {
                break;
            }
        }
        /* One group (or what is left of the chunk) the slow way. */
        do {
            o += cf_b64_step(d, in[i++], out + o);
        } while (i < n && d->quad_pos != 0 && !d->done);
    }
    d->total += o;
    return o;
}

void cf_base64_check_update(cf_base64_decoder *d, const unsigned char *in, size_t n)
{
    unsigned char sink;
    size_t i = 0;
    while (i < n && !d->done) {
        if (d->quad_pos == 0) {
            /* A run of alphabet characters: whole groups add three bytes each. */
            size_t run = i;
#if CF_B64_SIMD
            if (cf_b64_have_ssse3()) {
                run += cf_b64_check_ssse3(in + i, n - i);
            }
#endif
            while (run + 4 <= n && ((cf_b64_value[in[run]] | cf_b64_value[in[run + 1]] |
                                     cf_b64_value[in[run + 2]] | cf_b64_value[in[run + 3]]) &
                                    0xc0) == 0) {
                run += 4;
            }
            d->total += (run - i) / 4 * 3;
            i = run;
            if (i >= n) {
                break;
            }
        }
        do {
            d->total += cf_b64_step(d, in[i++], &sink);
        } while (i < n && d->quad_pos != 0 && !d->done);
    }
}

int cf_base64_decode_final(const cf_base64_decoder *d, cf_error *err)
{
    if (d->done || d->quad_pos == 0) {
        return CF_OK;
    }
    if (d->quad_pos == 1) {
        /* binascii counts the data characters from the bytes it produced. */
        return cf_error_set(err, CF_EINVAL,
                            "Invalid base64-encoded string: number of data characters (%zu) "
                            "cannot be 1 more than a multiple of 4",
                            d->total / 3 * 4 + 1);
    }
    return cf_error_set(err, CF_EINVAL, "Incorrect padding");
}

int cf_base64_decode_inplace(unsigned char *buf, size_t len, size_t *out_len, cf_error *err)
{
    cf_base64_decoder d;
    cf_base64_decoder_init(&d);
    /* Safe in place: each group is read whole before its bytes are written,
     * and the output index never passes the input index. */
    *out_len = cf_base64_decode_update(&d, buf, len, buf);
    return cf_base64_decode_final(&d, err);
}

/* Pairs of alphabet characters for every 12-bit value: two lookups per
 * three input bytes instead of four. Built once, on first use. */
static uint16_t cf_b64_pairs[4096];
static pthread_once_t cf_b64_pairs_once = PTHREAD_ONCE_INIT;

static void cf_b64_pairs_build(void)
{
    for (unsigned int v = 0; v < 4096; v++) {
        unsigned char pair[2] = {(unsigned char)cf_b64_alphabet[v >> 6],
                                 (unsigned char)cf_b64_alphabet[v & 63]};
        memcpy(&cf_b64_pairs[v], pair, 2);
    }
}

size_t cf_base64_encode_to(char *out, const unsigned char *in, size_t n)
{
    size_t o = 0;
    size_t i = 0;
    pthread_once(&cf_b64_pairs_once, cf_b64_pairs_build);
#if CF_B64_SIMD
    if (cf_b64_have_ssse3()) {
        i = cf_b64_encode_ssse3(in, n, out, &o);
    }
#endif
    for (; i + 6 <= n; i += 6) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        uint32_t w = (uint32_t)in[i + 3] << 16 | (uint32_t)in[i + 4] << 8 | in[i + 5];
        memcpy(out + o, &cf_b64_pairs[v >> 12], 2);
        memcpy(out + o + 2, &cf_b64_pairs[v & 0xfff], 2);
        memcpy(out + o + 4, &cf_b64_pairs[w >> 12], 2);
        memcpy(out + o + 6, &cf_b64_pairs[w & 0xfff], 2);
        o += 8;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(out + o, &cf_b64_pairs[v >> 12], 2);
        memcpy(out + o + 2, &cf_b64_pairs[v & 0xfff], 2);
        o += 4;
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        out[o++] = cf_b64_alphabet[v >> 18 & 63];
        out[o++] = cf_b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < n ? cf_b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

char *cf_base64_encode(const unsigned char *data, size_t len)
{
    char *out = malloc(CF_BASE64_ENCODED_LEN(len) + 1);
    if (out == NULL) {
        return NULL;
    }
    out[cf_base64_encode_to(out, data, len)] = '\0';
    return out;
}
