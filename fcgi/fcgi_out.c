/* fcgi_out.c - a large response body written as FastCGI records of up to 64 KiB. */
#include "fcgi_out.h"

#include <sys/uio.h>

#include "fdio.h"

/* A record's content length is 16 bits; a multiple of 8 needs no padding. */
#define CF_FCGI_RECORD_MAX 65528
#define CF_FCGI_VERSION_1 1
#define CF_FCGI_STDOUT 6

int cf_fcgi_out_write(FCGX_Request *req, const char *data, size_t len)
{
    if (len < CF_FCGI_OUT_DIRECT_MIN || req->ipcFd < 0) {
        while (len > 0) {
            int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
            if (FCGX_PutStr(data, chunk, req->out) != chunk) {
                return -1;
            }
            data += chunk;
            len -= (size_t)chunk;
        }
        return 0;
    }
    if (FCGX_FFlush(req->out) != 0) {
        return -1;
    }
    while (len > 0) {
        size_t n = len > CF_FCGI_RECORD_MAX ? CF_FCGI_RECORD_MAX : len;
        /* FastCGI 1.0, section 3.3: version, type, request id, content length, padding. */
        unsigned char header[8] = {CF_FCGI_VERSION_1,
                                   CF_FCGI_STDOUT,
                                   (unsigned char)(req->requestId >> 8),
                                   (unsigned char)req->requestId,
                                   (unsigned char)(n >> 8),
                                   (unsigned char)n,
                                   (unsigned char)((8 - n % 8) % 8),
                                   0};
        static const char padding[8] = {0};
        struct iovec iov[3] = {{header, sizeof header}, {(void *)data, n},
                               {(void *)padding, (8 - n % 8) % 8}};
        if (cf_writev_all(req->ipcFd, iov, iov[2].iov_len > 0 ? 3 : 2) != 0) {
            return -1;
        }
        data += n;
        len -= n;
    }
    return 0;
}
