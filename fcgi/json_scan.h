/* json_scan.h - finding the end of a plain run of JSON string text, eight bytes at a time.
 *
 * Both the request reader (pyjson_error.c) and the response writer (json_out.c) walk strings
 * that may be megabytes long (data URIs) looking for the same bytes: '"', '\\' and the control
 * characters below 0x20. Everything else is copied as it is.
 */
#ifndef CF_JSON_SCAN_H
#define CF_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* The index of the first byte of s[from,n) that is '"', '\\' or below 0x20, or n. */
static inline size_t cf_json_plain_run(const unsigned char *s, size_t from, size_t n)
{
    size_t i = from;
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
