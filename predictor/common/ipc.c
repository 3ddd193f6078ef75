/* ipc.c - length-prefixed JSON framing over a socket pair. */
#include "ipc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdio.h"
#include "json_in.h"
#include "json_out.h"

/* Frames are written by json_out.c and read by json_in.c, in both
 * processes: for a predict or done frame about four times faster than
 * jansson's own dump and load, and every prediction pays for two frames
 * each way. */
/* Most frames are small: written in one walk; a large one (a long text
 * input, an output of megabytes) is measured first, then written. */
#define CF_IPC_SMALL_FRAME 65536

static char *encode_text(const json_t *msg, size_t *len)
{
    char *text = cf_json_dumps_upto(msg, CF_IPC_SMALL_FRAME, len);
    if (text == NULL && *len > CF_IPC_SMALL_FRAME && (text = cf_json_dumps(msg)) != NULL)
        *len = strlen(text);
    return text;
}

static json_t *decode_text(const char *text, size_t len, cf_error *err)
{
    cf_pyjson_error perr = {0};
    cf_error why;
    cf_error_clear(&why);
    json_t *msg = cf_pyjson_loads(text, len, &perr, &why);
    if (msg == NULL && why.code == CF_ENOMEM)
        cf_error_set(err, CF_ENOMEM, "out of memory for an IPC frame");
    else if (msg == NULL)
        cf_error_set(err, CF_EPROTO, "bad IPC frame: %s", perr.msg ? perr.msg : why.msg);
    return msg;
}

static void put_length(unsigned char *hdr, size_t n)
{
    hdr[0] = (unsigned char)((n >> 24) & 0xff);
    hdr[1] = (unsigned char)((n >> 16) & 0xff);
    hdr[2] = (unsigned char)((n >> 8) & 0xff);
    hdr[3] = (unsigned char)(n & 0xff);
}

char *cf_ipc_encode(const json_t *msg, size_t *len_out, cf_error *err)
{
    size_t n;
    char *payload = encode_text(msg, &n);
    if (payload == NULL) {
        cf_error_set(err, CF_ENOMEM, "cannot encode IPC message");
        return NULL;
    }
    char *frame = malloc(n + 4);
    if (frame == NULL) {
        free(payload);
        cf_error_set(err, CF_ENOMEM, "out of memory for IPC frame");
        return NULL;
    }
    put_length((unsigned char *)frame, n);
    memcpy(frame + 4, payload, n);
    free(payload);
    *len_out = n + 4;
    return frame;
}

json_t *cf_ipc_decode(const char *payload, size_t len, cf_error *err)
{
    json_t *msg = decode_text(payload, len, err);
    if (msg == NULL)
        return NULL;
    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "type"))) {
        json_decref(msg);
        cf_error_set(err, CF_EPROTO, "IPC frame is not an object with a type");
        return NULL;
    }
    return msg;
}

/* Returns bytes read (== len), 0 on EOF before any byte, -1 on error or
 * EOF in the middle. */
static ssize_t read_all(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int cf_ipc_send(int fd, const json_t *msg, cf_error *err)
{
    size_t n;
    char *payload = encode_text(msg, &n);
    if (payload == NULL)
        return cf_error_set(err, CF_ENOMEM, "cannot encode IPC message");
    unsigned char hdr[4];
    put_length(hdr, n);
    /* the header and the text in one write when they fit the socket */
    struct iovec iov[2] = {{hdr, 4}, {payload, n}};
    int rc = cf_writev_all(fd, iov, 2);
    free(payload);
    if (rc < 0)
        return cf_error_set(err, CF_EIO, "IPC write failed: %s", strerror(errno));
    return CF_OK;
}

json_t *cf_ipc_recv(int fd, cf_error *err)
{
    unsigned char hdr[4];
    ssize_t r = read_all(fd, (char *)hdr, 4);
    if (r == 0) {
        cf_error_set(err, CF_EIO, "eof");
        return NULL;
    }
    if (r < 0) {
        cf_error_set(err, CF_EPROTO, "IPC read failed: torn frame header");
        return NULL;
    }
    uint32_t n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
                 ((uint32_t)hdr[2] << 8) | (uint32_t)hdr[3];
    if (n > CF_IPC_MAX_FRAME) {
        cf_error_set(err, CF_EPROTO, "IPC frame of %u bytes is over the limit", n);
        return NULL;
    }
    char *payload = malloc(n ? n : 1);
    if (payload == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory for a %u-byte IPC frame", n);
        return NULL;
    }
    if (n > 0 && read_all(fd, payload, n) != (ssize_t)n) {
        free(payload);
        cf_error_set(err, CF_EPROTO, "IPC read failed: torn frame");
        return NULL;
    }
    json_t *msg = cf_ipc_decode(payload, n, err);
    free(payload);
    return msg;
}
