/* error.h - the error record every fallible function fills in for its caller. */
#ifndef CF_ERROR_H
#define CF_ERROR_H

#include <stddef.h>

/* Error codes: 0 is success, failures are negative so one int carries both. */
enum {
    CF_OK = 0,
    CF_EINVAL = -1,   /* bad input from a user or a file: 4xx */
    CF_ENOMEM = -2,   /* out of memory */
    CF_EIO = -3,      /* a read, write or system call failed */
    CF_ENOTFOUND = -4,
    CF_EBUSY = -5,    /* queue full */
    CF_ETOOBIG = -6,  /* body over the limit */
    CF_EPROTO = -7,   /* a peer broke the protocol (IPC, FastCGI) */
    CF_EFETCH = -8,   /* a URL input could not be downloaded */
    CF_EUNAVAIL = -9, /* no worker can run predictions (setup failed, defunct) */
};

/* Caller-owned, no heap: survives out-of-memory. */
typedef struct cf_error {
    int code;
    char msg[1024];
} cf_error;

/* Sets code and a printf-formatted message; returns code so callers can
 * write `return cf_error_set(err, CF_EINVAL, "...")`. err may be NULL. */
int cf_error_set(cf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to CF_OK and an empty message. */
void cf_error_clear(cf_error *err);

#endif
