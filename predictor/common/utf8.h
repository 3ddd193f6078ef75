/* utf8.h - text that may not be UTF-8 (what a model prints), made fit for JSON.
 *
 * Both processes use it: the worker cleans its captured output before it
 * frames it, the front cleans whatever it shows once more.
 */
#ifndef CF_UTF8_H
#define CF_UTF8_H

#include <jansson.h>
#include <stddef.h>

/* A JSON string of len bytes of text that may not be UTF-8 (a model's
 * logs): invalid bytes become U+FFFD. New reference, NULL on out of memory. */
json_t *cf_text_json(const char *s, size_t len);
/* 1 when the NUL-terminated s is valid UTF-8. */
int cf_text_is_utf8(const char *s);
/* Replaces invalid UTF-8 in buf (len bytes) into out (3 * len bytes at
 * least); returns the bytes written. A sequence cut at the end is left for
 * the next call: *kept receives how many trailing bytes were not used. */
size_t cf_text_clean(const char *buf, size_t len, char *out, size_t *kept);

#endif
