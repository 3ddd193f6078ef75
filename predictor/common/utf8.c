/* utf8.c - text that may not be UTF-8 (what a model prints), made fit for JSON. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (n bytes left): 0 if invalid,
 * -1 if it may be valid but is cut short by the end. */
static long utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if (i >= n)
            return -1;
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return (long)len;
}

size_t cf_text_clean(const char *buf, size_t len, char *out, size_t *kept)
{
    const unsigned char *in = (const unsigned char *)buf;
    size_t o = 0;
    if (kept)
        *kept = 0;
    for (size_t i = 0; i < len;) {
        long k = utf8_seq(in + i, len - i);
        if (k < 0 && kept) {
            *kept = len - i;
            break;
        }
        if (k <= 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, in + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        }
    }
    return o;
}

json_t *cf_text_json(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j != NULL)
        return j;
    char *clean = malloc(3 * len + 1);
    if (clean == NULL)
        return NULL;
    size_t n = cf_text_clean(s, len, clean, NULL);
    j = json_stringn(clean, n);
    free(clean);
    return j;
}

int cf_text_is_utf8(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        long k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k <= 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}
