/* test_s3.c - presigned URLs (AWS's published example), endpoints, credentials files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s3.h"
#include "s3_creds.h"

/* AWS's example of a presigned GET ("Authenticating Requests: Using Query
 * Parameters", Signature Version 4 for Amazon S3): examplebucket/test.txt,
 * 2013-05-24T00:00:00Z, 86400 s, us-east-1. */
static void test_presign_aws_example(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_REGION", "us-east-1", 1);
    cf_s3_config cfg = {.endpoint = "https://s3.amazonaws.com"};
    cf_s3_configure(&cfg);
    char *url = NULL;
    cf_error err;
    assert_int_equal(cf_s3_presign_at("s3://examplebucket/test.txt", 86400, 1369353600LL, &url, &err),
                     0);
    assert_string_equal(
        url, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
             "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    free(url);
}

/* Path style and a key with characters to encode. */
static void test_presign_path_style(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "K", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
    setenv("AWS_SESSION_TOKEN", "T/+=", 1);
    cf_s3_config cfg = {.endpoint = "http://127.0.0.1:9000/", .path_style = 1};
    cf_s3_configure(&cfg);
    char *url = NULL;
    cf_error err;
    assert_int_equal(cf_s3_presign_at("s3://b/dir/a b+c.txt", 60, 0, &url, &err), 0);
    assert_true(strncmp(url, "http://127.0.0.1:9000/b/dir/a%20b%2Bc.txt?X-Amz-Algorithm=", 58) == 0);
    assert_non_null(strstr(url, "&X-Amz-Security-Token=T%2F%2B%3D&"));
    free(url);
    unsetenv("AWS_SESSION_TOKEN");
}

static void test_bad_urls(void **state)
{
    (void)state;
    char *url = NULL;
    cf_error err;
    assert_int_equal(cf_s3_presign_at("s3://bucket", 60, 0, &url, &err), CF_EINVAL);
    assert_int_equal(cf_s3_presign_at("s3:///key", 60, 0, &url, &err), CF_EINVAL);
    assert_int_equal(cf_s3_presign_at("https://x/y", 60, 0, &url, &err), CF_EINVAL);
    assert_null(url);
    assert_true(cf_s3_is_url("S3://b/k"));
    assert_false(cf_s3_is_url("s3:/b/k"));
}

static void test_credentials_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_s3_creds_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n"
                       "# a comment\n[prod]\r\naws_access_key_id=A2\r\naws_secret_access_key = S2 \r\n"
                       "aws_session_token = T2\r\n[empty]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    cf_s3_creds c;
    cf_error err;
    unsetenv("AWS_PROFILE");
    assert_int_equal(cf_s3_creds_load(&c, &err), 0);
    assert_string_equal(c.access_key, "A1");
    assert_string_equal(c.secret_key, "S1");
    assert_string_equal(c.session_token, "");
    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(cf_s3_creds_load(&c, &err), 0);
    assert_string_equal(c.access_key, "A2");
    assert_string_equal(c.secret_key, "S2");
    assert_string_equal(c.session_token, "T2");
    setenv("AWS_PROFILE", "empty", 1);
    assert_int_equal(cf_s3_creds_load(&c, &err), CF_EINVAL);
    assert_non_null(strstr(err.msg, "[empty]"));
    setenv("AWS_ACCESS_KEY_ID", "E", 1); /* the environment wins */
    setenv("AWS_SECRET_ACCESS_KEY", "ES", 1);
    assert_int_equal(cf_s3_creds_load(&c, &err), 0);
    assert_string_equal(c.access_key, "E");
    unlink(path);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    assert_int_equal(cf_s3_creds_load(&c, &err), CF_EINVAL);
    assert_non_null(strstr(err.msg, "cannot be read"));
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SECRET_ACCESS_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presign_aws_example),
        cmocka_unit_test(test_presign_path_style),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_credentials_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
