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
    while (i < n && !d->done) {
        if (d->quad_pos == 0) {
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
