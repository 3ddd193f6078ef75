/* fcgi_out.h - a large response body written as FastCGI records of up to 64 KiB.
 *
 * libfcgi's output stream has a fixed 8 KiB buffer: a 3 MB response (a data URI echoed and one
 * returned) became 370 write() calls, each waking nginx for one 8 KiB record, and that was the
 * largest part of the front's time per file prediction. For a large body this flushes the
 * stream (so what was put before stays first) and writes FCGI_STDOUT records of up to 65,528
 * bytes straight to the connection, header and data in one writev each. libfcgi's stream stays
 * consistent: it holds nothing when we write, and FCGX_Finish_r ends the stream as usual.
 */
#ifndef CF_FCGI_OUT_H
#define CF_FCGI_OUT_H

#include <fcgiapp.h>
#include <stddef.h>

/* Bodies from this size on go out as large records; smaller ones through the stream. */
#define CF_FCGI_OUT_DIRECT_MIN 32768

/* Writes data[0,len) as the request's stdout, after what the stream already holds. Returns 0,
 * or -1 when the connection failed (the web server went away; errno says why). */
int cf_fcgi_out_write(FCGX_Request *req, const char *data, size_t len);

#endif
