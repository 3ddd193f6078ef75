/* base64.h - fast base64 (standard alphabet): encoding, and decoding as Python's
 * binascii.a2b_base64 does it in its default, lenient mode.
 *
 * Cog decodes a data: URI with base64.decodebytes, which skips every character
 * outside the alphabet (whitespace, '-', '_', anything), stops at the first
 * complete pad sequence and fails only on a truncated last group. The decoder
 * here gives the same bytes and the same errors, at table speed: whole groups
 * of plain alphabet characters go eight at a time through one table (sixteen
 * with SSSE3), and only a group with anything else in it takes the
 * byte-by-byte state machine. It is
 * incremental, so a payload can be decoded chunk by chunk straight into a file.
 */
#ifndef CF_BASE64_H
#define CF_BASE64_H

#include <stddef.h>

#include "error.h"

/* The state of a lenient decode between chunks. Caller-owned; start it with
 * cf_base64_decoder_init. */
typedef struct cf_base64_decoder {
    unsigned int leftchar; /* bits of the group in progress */
    int quad_pos;          /* alphabet characters seen in the group in progress, 0..3 */
    int pads;              /* '=' seen since the last alphabet character */
    int done;              /* a complete pad sequence ended the data */
    size_t total;          /* bytes produced so far */
} cf_base64_decoder;

void cf_base64_decoder_init(cf_base64_decoder *d);

/* An upper bound of what cf_base64_decode_update writes for n input bytes. */
#define CF_BASE64_DECODED_MAX(n) ((n) / 4 * 3 + 3)

/* Decodes in[0,n) into out, which has room for CF_BASE64_DECODED_MAX(n)
 * bytes; returns how many it wrote. Never fails: errors show at the end. */
size_t cf_base64_decode_update(cf_base64_decoder *d, const unsigned char *in, size_t n,
                               unsigned char *out);

/* The same walk without output: only the state advances (to check a payload
 * without decoding it). */
void cf_base64_check_update(cf_base64_decoder *d, const unsigned char *in, size_t n);

/* After the last chunk: 0, or CF_EINVAL with binascii's message ("Incorrect
 * padding", "Invalid base64-encoded string: ..."). */
int cf_base64_decode_final(const cf_base64_decoder *d, cf_error *err);

/* Decodes buf[0,len) in place (the output never outruns the input); *out_len
 * is the decoded size. Returns 0 or CF_EINVAL as cf_base64_decode_final. */
int cf_base64_decode_inplace(unsigned char *buf, size_t len, size_t *out_len, cf_error *err);

/* 4 * ceil(n / 3): the length of the padded encoding of n bytes. */
#define CF_BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded standard base64 of in[0,n) to out (exactly
 * CF_BASE64_ENCODED_LEN(n) characters, no NUL); returns that count. */
size_t cf_base64_encode_to(char *out, const unsigned char *in, size_t n);

/* Standard base64 of len bytes into a malloc'd NUL-terminated string, or NULL
 * when out of memory. */
char *cf_base64_encode(const unsigned char *data, size_t len);

/* The SSSE3 paths (16 characters per step) are used when the CPU has
 * SSSE3. For the tests and the benchmark: on = 0 forces the portable table
 * code, on = 1 restores the default. Returns whether SIMD is now in use.
 * Not for use while other threads encode or decode. */
int cf_base64_use_simd(int on);

#endif
