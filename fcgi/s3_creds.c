/* s3_creds.c - AWS credentials from the environment or ~/.aws/credentials. */
#include "s3_creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* s without surrounding blanks, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int from_file(cf_s3_creds *c, const char *path, const char *profile, cf_error *err)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return cf_error_set(err, CF_EINVAL,
                            "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not "
                            "set and %s cannot be read", path);
    char line[8192];
    int in_profile = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (e)
                *e = '\0';
            in_profile = strcmp(trim(s + 1), profile) == 0;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in_profile || eq == NULL)
            continue;
        *eq = '\0';
        const char *k = trim(s), *v = trim(eq + 1);
        if (strcmp(k, "aws_access_key_id") == 0)
            copy(c->access_key, sizeof c->access_key, v);
        else if (strcmp(k, "aws_secret_access_key") == 0)
            copy(c->secret_key, sizeof c->secret_key, v);
        else if (strcmp(k, "aws_session_token") == 0)
            copy(c->session_token, sizeof c->session_token, v);
    }
    fclose(f);
    if (c->access_key[0] == '\0' || c->secret_key[0] == '\0')
        return cf_error_set(err, CF_EINVAL,
                            "no AWS credentials: profile [%s] of %s has no aws_access_key_id "
                            "and aws_secret_access_key", profile, path);
    return CF_OK;
}

int cf_s3_creds_load(cf_s3_creds *c, cf_error *err)
{
    memset(c, 0, sizeof *c);
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (id && *id && secret && *secret) {
        copy(c->access_key, sizeof c->access_key, id);
        copy(c->secret_key, sizeof c->secret_key, secret);
        copy(c->session_token, sizeof c->session_token, getenv("AWS_SESSION_TOKEN"));
        return CF_OK;
    }
    const char *profile = getenv("AWS_PROFILE");
    if (profile == NULL || *profile == '\0')
        profile = "default";
    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char path[4096];
    if (file == NULL || *file == '\0') {
        const char *home = getenv("HOME");
        snprintf(path, sizeof path, "%s/.aws/credentials", home ? home : "");
        file = path;
    }
    return from_file(c, file, profile, err);
}
