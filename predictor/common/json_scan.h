/* json_scan.h - finding the end of a plain run of JSON string text, eight bytes at a time.
 *
 * Both the request reader (json_in.c) and the response writer (json_out.c) walk strings
 * that may be megabytes long (data URIs) looking for the same bytes: '"', '\\' and the control
 * characters below 0x20. Everything else is copied as it is.
 */
#ifndef CF_JSON_SCAN_H
#define CF_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define CF_JSON_ONES 0x0101010101010101ull
#define CF_JSON_HIGH 0x8080808080808080ull

/* Whether any byte of w is below 0x20, '"' or '\\' (the classic "has a byte less than n" and
 * "has a zero byte" tests; exact as a yes/no). */
static inline int cf_json_word_special(uint64_t w)
{
    uint64_t quote = w ^ (CF_JSON_ONES * '"');
    uint64_t bslash = w ^ (CF_JSON_ONES * '\\');
    uint64_t t = (w - CF_JSON_ONES * 0x20) | (quote - CF_JSON_ONES) | (bslash - CF_JSON_ONES);
    /* A byte with its top bit set is never special; ~w drops its false hits. */
    return (t & ~w & CF_JSON_HIGH) != 0;
}

/* The index of the first byte of s[from,n) that is '"', '\\' or below 0x20, or n. Sixteen
 * bytes per step with SSE2 (every x86-64 has it), else eight with the word tests above. */
static inline size_t cf_json_plain_run(const unsigned char *s, size_t from, size_t n)
{
    size_t i = from;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* unsigned v <= 0x1f exactly when max(v, 0x1f) == 0x1f */
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                   _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
        int mask = _mm_movemask_epi8(hit);
        if (mask != 0) {
            return i + (size_t)__builtin_ctz((unsigned int)mask);
        }
        i += 16;
    }
#endif
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (cf_json_word_special(w)) {
            break;
        }
        i += 8;
    }
    while (i < n && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) {
        i++;
    }
    return i;
}

#endif
