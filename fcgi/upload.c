/* upload.c - PUTting file outputs to storage (--upload-url, output_file_prefix). */
#include "upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "http_client.h"
#include "log.h"
#include "mime.h"
#include "s3.h"

/* 408, 429 and 5xx are worth another try, as Cog's uploader retries them. */
static int retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

static json_t *upload_one(const char *path, void *ctx, cf_error *err)
{
    const cf_upload *up = ctx;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t plen = strlen(up->prefix);
    int need_slash = !up->multipart && plen > 0 && up->prefix[plen - 1] != '/';
    size_t len = plen + strlen(base) + 2;
    char *url = malloc(len);
    if (url == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(url, len, "%s%s%s", up->prefix, need_slash ? "/" : "", base);

    char id_header[192];
    const char *headers[2] = {NULL, NULL};
    if (up->prediction_id) {
        snprintf(id_header, sizeof id_header, "X-Prediction-ID: %s", up->prediction_id);
        headers[0] = id_header;
    }
    json_t *result = NULL;
    if (cf_s3_is_url(url)) {
        /* s3://: signed PUT (multipart when large), answered as s3:// or presigned */
        char *where = NULL;
        if (cf_s3_put_file(url, path, cf_mime_from_name(base), &where, err) == CF_OK)
            result = json_string(where);
        free(where);
        if (result == NULL)
            cf_log_error("CF0701", "%s", err->msg[0] ? err->msg : "upload failed");
        free(url);
        return result;
    }
    int tries = up->multipart ? 1 : 4; /* Cog: 3 retries for --upload-url */
    for (int attempt = 0; attempt < tries && result == NULL; attempt++) {
        cf_http_response resp;
        cf_error_clear(err);
        int rc = cf_http_put_file(url, path, cf_mime_from_name(base), up->multipart, headers,
                                  up->multipart ? 5.0 : 60.0, CF_HTTP_FOLLOW | CF_HTTP_POLICY, &resp, err);
        if (rc == CF_OK && resp.status >= 200 && resp.status < 300) {
            if (up->multipart) {
                result = json_string(url);
            } else {
                /* the storage's Location (else the final URL), without its query */
                const char *loc = resp.location ? resp.location : resp.final_url ? resp.final_url : url;
                size_t n = strcspn(loc, "?");
                result = json_stringn(loc, n);
            }
        } else if (rc == CF_OK) {
            cf_error_set(err, CF_EFETCH, "uploading %s to %s: HTTP %ld", base, url, resp.status);
            if (!retryable(resp.status))
                attempt = tries;
        }
        cf_http_response_cleanup(&resp);
        if (result == NULL && attempt + 1 < tries)
            usleep(100000u << attempt);
    }
    if (result == NULL)
        cf_log_error("CF0701", "%s", err->msg[0] ? err->msg : "upload failed");
    free(url);
    return result;
}

int cf_upload_outputs(json_t **output, const cf_upload *up, cf_error *err)
{
    return cf_files_map_outputs(output, upload_one, (void *)up, err);
}
