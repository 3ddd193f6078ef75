/* opt_parse.c - strict parsing of the command line's numbers, durations and sizes. */
#include "opt_parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads [digits][.digits] (at least one digit) at *p; the number goes to *v.
 * Returns 0, or -1 when there is no number there. strtod is only called on
 * text we have checked, so it cannot read "inf", hex or exponents. */
static int decimal(const char **p, double *v)
{
    const char *s = *p, *q = s;
    size_t digits = 0;
    while (isdigit((unsigned char)*q)) {
        q++;
        digits++;
    }
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q)) {
            q++;
            digits++;
        }
    }
    if (digits == 0)
        return -1;
    char buf[64];
    size_t n = (size_t)(q - s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL);
    *p = q;
    return 0;
}

int cf_opt_long(const char *opt, const char *text, long min, long max, long *out, cf_error *err)
{
    const char *p = text;
    if (*p == '-' && min < 0)
        p++;
    int ok = isdigit((unsigned char)*p);
    for (const char *q = p; ok && *q; q++)
        ok = isdigit((unsigned char)*q);
    long v = 0;
    if (ok) {
        errno = 0;
        char *end;
        v = strtol(text, &end, 10);
        ok = errno == 0 && *end == '\0' && v >= min && v <= max;
    }
    if (!ok)
        return cf_error_set(err, CF_EINVAL, "%s: expected a whole number from %ld to %ld, got \"%s\"",
                            opt, min, max, text);
    *out = v;
    return CF_OK;
}

int cf_opt_seconds(const char *opt, const char *text, double min, double max, double *out,
                   cf_error *err)
{
    const char *p = text;
    double v;
    int ok = decimal(&p, &v) == 0;
    if (ok) {
        if (strcmp(p, "ms") == 0)
            v /= 1000;
        else if (strcmp(p, "m") == 0)
            v *= 60;
        else if (strcmp(p, "h") == 0)
            v *= 3600;
        else
            ok = *p == '\0' || strcmp(p, "s") == 0;
    }
    ok = ok && isfinite(v) && v >= min && v <= max;
    if (!ok)
        return cf_error_set(err, CF_EINVAL,
                            "%s: expected a duration from %g to %g seconds (a number, optionally "
                            "with ms, s, m or h), got \"%s\"", opt, min, max, text);
    *out = v;
    return CF_OK;
}

int cf_opt_size(const char *opt, const char *text, size_t max, size_t *out, cf_error *err)
{
    const char *p = text;
    double v;
    int ok = decimal(&p, &v) == 0;
    if (ok && *p) {
        double unit = 0;
        switch (tolower((unsigned char)*p)) {
        case 'b': unit = 1; break;
        case 'k': unit = 1024.0; break;
        case 'm': unit = 1024.0 * 1024; break;
        case 'g': unit = 1024.0 * 1024 * 1024; break;
        case 't': unit = 1024.0 * 1024 * 1024 * 1024; break;
        }
        const char *rest = p + 1;
        if (unit > 1 && (strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0))
            rest += strlen(rest);
        ok = unit > 0 && *rest == '\0';
        v *= unit;
    }
    /* a fraction of a byte is rounded down: "1.5k" is 1536, "0.5" is 0 */
    ok = ok && isfinite(v) && v <= (double)max && v < 18446744073709551616.0;
    if (ok && (size_t)v > max)
        ok = 0;
    if (!ok)
        return cf_error_set(err, CF_EINVAL,
                            "%s: expected a size from 0 to %zu bytes (a number, optionally with "
                            "k, M, G or T), got \"%s\"", opt, max, text);
    *out = (size_t)v;
    return CF_OK;
}

int cf_opt_mode(const char *opt, const char *text, unsigned *out, cf_error *err)
{
    int ok = *text != '\0' && strlen(text) <= 5;
    unsigned v = 0;
    for (const char *q = text; ok && *q; q++) {
        ok = *q >= '0' && *q <= '7';
        v = v * 8 + (unsigned)(*q - '0');
    }
    if (!ok || v > 07777)
        return cf_error_set(err, CF_EINVAL,
                            "%s: expected octal permission bits from 0 to 7777 (e.g. 0660), got \"%s\"",
                            opt, text);
    *out = v;
    return CF_OK;
}
