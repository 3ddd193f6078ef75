/* clock.c - timestamps as Cog writes them (ISO 8601, microseconds, +00:00). */
#include "clock.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Whole microseconds, as Cog's timestamps have them: a record's times then
 * read back from its file as they were written, and their repr is the
 * integer fast path of pyfloat.c (one division, correctly rounded). */
double cf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) / 1e6;
}

double cf_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes n digits of v at out. */
static void put_digits(char *out, long v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* The civil date of a day count since 1970-01-01 (Howard Hinnant's
 * days_from_civil, inverted). gmtime_r would do, but glibc takes its
 * time-zone lock even for UTC, and every response formats three times. */
static void civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

void cf_format_time(double t, char *buf, size_t len)
{
    long long secs = (long long)floor(t);
    long usec = (long)((t - (double)secs) * 1e6 + 0.5);
    if (usec >= 1000000) {
        secs += 1;
        usec -= 1000000;
    }
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    long rem = (long)(secs - days * 86400);
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999 || len < 33) {
        snprintf(buf, len, "%s", "1970-01-01T00:00:00.000000+00:00");
        return;
    }
    /* 2026-12-01T17:39:59.338872+00:00 */
    char *o = buf;
    put_digits(o, y, 4);
    o[4] = '-';
    put_digits(o + 5, m, 2);
    o[7] = '-';
    put_digits(o + 8, d, 2);
    o[10] = 'T';
    put_digits(o + 11, rem / 3600, 2);
    o[13] = ':';
    put_digits(o + 14, rem / 60 % 60, 2);
    o[16] = ':';
    put_digits(o + 17, rem % 60, 2);
    o[19] = '.';
    put_digits(o + 20, usec, 6);
    memcpy(o + 26, "+00:00", 7);
}

struct timespec cf_realtime_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = ts.tv_nsec + (long long)(seconds * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}
