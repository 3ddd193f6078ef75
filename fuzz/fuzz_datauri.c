/* fuzz_datauri.c - libFuzzer target for data: URI decoding and its encode round trip (predictor/project/datauri.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "datauri.h"

/* decode(encode(mime, x)) must give back x and mime, for any bytes x and any mime that decode
 * itself produced. */
static void cf_fuzz_round_trip(const char *mime, const unsigned char *x, size_t n)
{
    char *uri = cf_datauri_encode(mime, x, n);
    char *mime2 = NULL;
    unsigned char *y = NULL;
    size_t m = 0;
    cf_error err;

    if (uri == NULL) {
        return;
    }
    if (cf_datauri_decode(uri, &mime2, &y, &m, &err) != CF_OK) {
        abort();
    }
    if (m != n || memcmp(x, y, n) != 0 || y[m] != '\0') {
        abort();
    }
    if (strcmp(mime2, mime != NULL ? mime : "application/octet-stream") != 0) {
        abort();
    }
    free(mime2);
    free(y);
    free(uri);
}

/* cf_datauri_check and cf_datauri_decode_to_fd must give decode's verdict, message and bytes. */
static void cf_fuzz_agree(const char *uri, int rc, const unsigned char *bytes, size_t len,
                          const char *msg)
{
    cf_error err;
    if (cf_datauri_check(uri, strlen(uri), &err) != rc) {
        abort();
    }
    if (rc != CF_OK && strcmp(err.msg, msg) != 0) {
        abort();
    }
    int fd = memfd_create("fuzz_datauri", MFD_CLOEXEC);
    if (fd < 0) {
        return;
    }
    size_t written = 0;
    if (cf_datauri_decode_to_fd(uri, strlen(uri), fd, &written, &err) != rc) {
        abort();
    }
    if (rc == CF_OK) {
        unsigned char *back = malloc(len + 1);
        if (written != len || back == NULL || pread(fd, back, len + 1, 0) != (ssize_t)len ||
            memcmp(back, bytes, len) != 0) {
            abort();
        }
        free(back);
    } else if (strcmp(err.msg, msg) != 0) {
        abort();
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = NULL;
    char *mime = NULL;
    unsigned char *bytes = NULL;
    size_t len = 0;
    cf_error err;

    /* As a URI: a C string, so up to the first NUL. */
    uri = strndup((const char *)data, size);
    if (uri == NULL) {
        goto cleanup;
    }
    cf_error_clear(&err);
    int rc = cf_datauri_decode(uri, &mime, &bytes, &len, &err);
    if (rc == CF_OK || rc == CF_EINVAL) {
        cf_fuzz_agree(uri, rc, bytes, len, err.msg);
    }
    if (rc == CF_OK) {
        if (mime == NULL || bytes == NULL || bytes[len] != '\0' || len > strlen(uri)) {
            abort();
        }
        /* "text/plain", or a lowercased type/subtype with exactly one '/'. */
        if (strchr(mime, '/') == NULL || strchr(mime, '/') != strrchr(mime, '/')) {
            abort();
        }
        for (const char *p = mime; *p != '\0'; p++) {
            if (*p >= 'A' && *p <= 'Z') {
                abort();
            }
        }
        cf_fuzz_round_trip(mime, bytes, len);
    } else if (mime != NULL || bytes != NULL || err.msg[0] == '\0') {
        abort();
    }

    /* As raw bytes, NULs included. */
    cf_fuzz_round_trip(NULL, data, size);
    cf_fuzz_round_trip("image/png", data, size);

cleanup:
    free(uri);
    free(mime);
    free(bytes);
    return 0;
}
