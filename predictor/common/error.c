/* error.c - filling in cf_error records. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int cf_error_set(cf_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void cf_error_clear(cf_error *err)
{
    if (err == NULL)
        return;
    err->code = CF_OK;
    err->msg[0] = '\0';
}
