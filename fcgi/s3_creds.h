/* s3_creds.h - AWS credentials: the environment, else the shared credentials file.
 *
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) when both
 * are set; else the [PROFILE] section (AWS_PROFILE, default "default") of
 * AWS_SHARED_CREDENTIALS_FILE (default $HOME/.aws/credentials), keys
 * aws_access_key_id, aws_secret_access_key, aws_session_token.
 */
#ifndef CF_S3_CREDS_H
#define CF_S3_CREDS_H

#include "error.h"

typedef struct cf_s3_creds {
    char access_key[256];
    char secret_key[256];
    char session_token[4096]; /* "" when none */
} cf_s3_creds;

/* Fills *c. CF_EINVAL "no AWS credentials: ..." when none are found. */
int cf_s3_creds_load(cf_s3_creds *c, cf_error *err);

#endif
