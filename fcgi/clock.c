/* clock.c - timestamps as Cog writes them (ISO 8601, microseconds, +00:00). */
#include "clock.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

double cf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double cf_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cf_format_time(double t, char *buf, size_t len)
{
    time_t secs = (time_t)floor(t);
    long usec = (long)((t - (double)secs) * 1e6 + 0.5);
    if (usec >= 1000000) {
        secs += 1;
        usec -= 1000000;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
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
