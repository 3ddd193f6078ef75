/* s3.h - s3://bucket/key URLs: file inputs fetched from, file outputs put to
 * an S3-compatible object store, signed with AWS Signature V4.
 *
 * Requests go through http_client.c (libcurl, CURLOPT_AWS_SIGV4 signs them,
 * the payload is sent as UNSIGNED-PAYLOAD so a file is streamed, never read
 * twice). The endpoint is https://BUCKET.s3.REGION.amazonaws.com, or
 * --s3-endpoint URL (MinIO, Ceph, GCS's XML API) with the bucket as a
 * subdomain of its host, or as the first path segment with --s3-path-style.
 * The fetch policy applies to the endpoint as to any URL.
 *
 * Credentials, looked up at each request: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; else the profile AWS_PROFILE
 * (default "default") of AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials). The region is AWS_REGION, else AWS_DEFAULT_REGION,
 * else us-east-1.
 *
 * Files larger than CF_S3_PART_SIZE go up by multipart upload, one part at a
 * time, each read from disk as it is sent. An error answer fails with the
 * bucket and S3's <Code>, e.g. "s3://b/k: S3 answered HTTP 403
 * SignatureDoesNotMatch for bucket b".
 */
#ifndef CF_S3_H
#define CF_S3_H

#include <stdint.h>

#include "error.h"
#include "fetch_policy.h"

#define CF_S3_PART_SIZE (8ull << 20) /* 8 MiB; S3's least is 5 MiB */

/* Process-wide settings, set once at start-up before any request. */
typedef struct cf_s3_config {
    const char *endpoint;  /* --s3-endpoint, or NULL: AWS */
    int path_style;        /* --s3-path-style */
    double presign_s;      /* --s3-presign: outputs as presigned https URLs valid this long; 0: s3:// */
} cf_s3_config;

void cf_s3_configure(const cf_s3_config *cfg);

/* 1 when url starts with s3:// (case-insensitive). */
int cf_s3_is_url(const char *url);

/* Downloads s3://bucket/key to the new file path under policy (its size and
 * time limits too). CF_EFETCH with the reason, CF_EINVAL for a malformed URL. */
int cf_s3_get(const char *url, const char *path, const cf_fetch_policy *policy, cf_error *err);

/* Puts the file at path to s3://bucket/key (content_type may be NULL), by
 * multipart upload when it is larger than CF_S3_PART_SIZE. On success
 * *result is a new string: url itself, or a presigned https GET URL when
 * --s3-presign is set. */
int cf_s3_put_file(const char *url, const char *path, const char *content_type, char **result,
                   cf_error *err);

/* A presigned GET URL of s3://bucket/key valid for expires_s seconds from
 * now (query-string SigV4). New string into *out. */
int cf_s3_presign(const char *url, double expires_s, char **out, cf_error *err);

/* cf_s3_presign as of the Unix time now (for tests: AWS's published example). */
int cf_s3_presign_at(const char *url, double expires_s, long long now, char **out, cf_error *err);

#endif
