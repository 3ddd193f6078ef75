/* hash.h - the string hash of the front's id tables (FNV-1a, 64 bit). */
#ifndef CF_HASH_H
#define CF_HASH_H

#include <stdint.h>

static inline uint64_t cf_hash_string(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
