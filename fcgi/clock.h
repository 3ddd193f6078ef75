/* clock.h - wall-clock timestamps in Cog's format and monotonic seconds. */
#ifndef CF_CLOCK_H
#define CF_CLOCK_H

#include <stddef.h>
#include <time.h>

/* Seconds since the epoch with microseconds (CLOCK_REALTIME). */
double cf_now(void);
/* Seconds on CLOCK_MONOTONIC, for deadlines and throttles. */
double cf_monotonic(void);
/* CLOCK_REALTIME `seconds` from now: the deadline pthread_cond_timedwait takes. */
struct timespec cf_realtime_after(double seconds);
/* Formats t as "2026-11-27T16:38:52.022671+00:00" into buf (at least 40 bytes). */
void cf_format_time(double t, char *buf, size_t len);

#endif
