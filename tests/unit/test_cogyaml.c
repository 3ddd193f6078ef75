/* test_cogyaml.c - cog.yaml loading: the data-driven cases of tests/data/cogyaml
 * and every conformance project's cog.yaml. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cogyaml.h"

#define CASES_DIR "tests/data/cogyaml"

/* Reads a whole small file into a malloc'd string, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(65536);
    size_t n = buf != NULL ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static void append_list(char *buf, size_t len, const char *key, char **list)
{
    for (char **p = list; p != NULL && *p != NULL; p++)
        append(buf, len, "%s=%s\n", key, *p);
}

/* The fields that are set, one "key=value" line each, in the struct's order:
 * the format of an `expected` file after its "ok" line. */
static void dump(const cf_cogyaml *y, char *buf, size_t len)
{
    buf[0] = '\0';
    append(buf, len, "ok\n");
    if (y->predict)
        append(buf, len, "predict=%s\n", y->predict);
    if (y->train)
        append(buf, len, "train=%s\n", y->train);
    if (y->gpu)
        append(buf, len, "gpu=%d\n", y->gpu);
    if (y->python_version)
        append(buf, len, "python_version=%s\n", y->python_version);
    if (y->concurrency_max)
        append(buf, len, "concurrency_max=%d\n", y->concurrency_max);
    append_list(buf, len, "environment", y->environment);
    append_list(buf, len, "python_packages", y->python_packages);
    if (y->python_requirements)
        append(buf, len, "python_requirements=%s\n", y->python_requirements);
    append_list(buf, len, "system_packages", y->system_packages);
    if (y->image)
        append(buf, len, "image=%s\n", y->image);
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Runs one case directory: loads cog.yaml from inside it, so messages say
 * "cog.yaml:N", and compares with `expected`. Returns 1 when it matches. */
static int run_case(const char *name)
{
    char dir[512], expected_path[600];
    snprintf(dir, sizeof dir, CASES_DIR "/%s", name);
    snprintf(expected_path, sizeof expected_path, "%s/expected", dir);
    char *expected = slurp(expected_path);
    if (expected == NULL) {
        print_error("%s: no expected file\n", name);
        return 0;
    }
    chomp(expected);

    int here = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(here >= 0);
    assert_int_equal(chdir(dir), 0);
    cf_cogyaml y;
    cf_error err;
    cf_error_clear(&err);
    int rc = cf_cogyaml_load("cog.yaml", &y, &err);
    assert_int_equal(fchdir(here), 0);
    close(here);

    char got[8192];
    if (rc == 0) {
        dump(&y, got, sizeof got);
        chomp(got);
    } else {
        snprintf(got, sizeof got, "%s", err.msg);
        if (rc != CF_EINVAL)
            print_error("%s: code %d\n", name, rc);
    }
    int ok = strcmp(got, expected) == 0 && (rc == 0 || rc == CF_EINVAL);
    if (!ok)
        print_error("case %s:\n--- expected\n%s\n--- got\n%s\n", name, expected, got);
    cf_cogyaml_cleanup(&y);
    free(expected);
    return ok;
}

static void test_data_cases(void **state)
{
    (void)state;
    DIR *d = opendir(CASES_DIR);
    assert_non_null(d);
    int total = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        total++;
        if (!run_case(e->d_name))
            failed++;
    }
    closedir(d);
    print_message("%d cog.yaml cases, %d failed\n", total, failed);
    assert_true(total >= 20);
    assert_int_equal(failed, 0);
}

/* Every conformance project loads, and names predict.py:Predictor. */
static void test_conformance_projects(void **state)
{
    (void)state;
    static const char *const roots[] = {"tests/conformance/cases/*/cog.yaml"};
    glob_t g;
    int found = 0;
    for (size_t r = 0; r < sizeof roots / sizeof roots[0] && !found; r++) {
        if (glob(roots[r], 0, NULL, &g) != 0)
            continue;
        found = 1;
        for (size_t i = 0; i < g.gl_pathc; i++) {
            cf_cogyaml y;
            cf_error err;
            cf_error_clear(&err);
            int rc = cf_cogyaml_load(g.gl_pathv[i], &y, &err);
            if (rc != 0)
                print_error("%s\n", err.msg);
            assert_int_equal(rc, 0);
            assert_string_equal(y.predict, "predict.py:Predictor");
            assert_string_equal(y.python_version, "3.11");
            cf_cogyaml_cleanup(&y);
        }
        print_message("%zu conformance cog.yaml files loaded\n", g.gl_pathc);
        globfree(&g);
    }
    if (!found)
        skip();
}

static void test_missing_file(void **state)
{
    (void)state;
    cf_cogyaml y;
    cf_error err;
    int rc = cf_cogyaml_load("/nonexistent/cog.yaml", &y, &err);
    assert_int_equal(rc, CF_ENOTFOUND);
    assert_string_equal(err.msg, "/nonexistent/cog.yaml: cannot read: No such file or directory");
    assert_null(y.predict);
    cf_cogyaml_cleanup(&y);
    cf_cogyaml_cleanup(NULL);
}

/* Messages carry the path as given by the caller. */
static void test_message_names_path(void **state)
{
    (void)state;
    cf_cogyaml y;
    cf_error err;
    int rc = cf_cogyaml_load(CASES_DIR "/err-unknown-build/cog.yaml", &y, &err);
    assert_int_equal(rc, CF_EINVAL);
    assert_string_equal(err.msg, CASES_DIR
                        "/err-unknown-build/cog.yaml:3: unknown key \"gpus\" under build");
}

static void test_python_mismatch(void **state)
{
    (void)state;
    char buf[256];
    cf_cogyaml y;
    memset(&y, 0, sizeof y);
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11", buf, sizeof buf), 0);
    assert_string_equal(buf, "");

    y.python_version = "3.11";
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11.2", buf, sizeof buf), 0);
    y.python_version = "3.11.4";
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11", buf, sizeof buf), 0);
    y.python_version = "3.1"; /* `3.10` unquoted is kept as written, but 3.1 is 3.1 */
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11", buf, sizeof buf), 1);
    y.python_version = "3.10";
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11.2", buf, sizeof buf), 1);
    assert_string_equal(buf, "cog.yaml asks for Python 3.10 (build.python_version) but "
                             "cog-fcgi runs Python 3.11.2: the model runs on 3.11");
    y.python_version = "3.111";
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11", buf, sizeof buf), 1);
    y.python_version = "latest";
    assert_int_equal(cf_cogyaml_python_mismatch(&y, "3.11", buf, sizeof buf), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_cases),
        cmocka_unit_test(test_conformance_projects),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_message_names_path),
        cmocka_unit_test(test_python_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
