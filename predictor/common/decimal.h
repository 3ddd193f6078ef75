/* decimal.h - an unsigned integer written in decimal, without printf. */
#ifndef CF_DECIMAL_H
#define CF_DECIMAL_H

#include <stddef.h>

/* Room for the longest one (18446744073709551615) and a terminator. */
#define CF_DECIMAL_MAX 21

/* Writes v's digits at out (at least CF_DECIMAL_MAX - 1 bytes; no
 * terminator) and returns how many. What snprintf("%llu") writes, for the
 * numbers of every response head, state record and usage line. */
static inline size_t cf_decimal(char *out, unsigned long long v)
{
    char rev[CF_DECIMAL_MAX];
    size_t n = 0, o = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        out[o++] = rev[--n];
    return o;
}

#endif
