/* test_check.c - `cog-fcgi check`'s pure parts: versions, specifiers, requirement lines,
 * markers, name normalisation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "check.h"

/* Each row: a < b in PEP 440 order. */
static void test_version_order(void **state)
{
    (void)state;
    static const char *rows[][2] = {
        {"1.0.dev1", "1.0a1"},     {"1.0a1", "1.0a2"},       {"1.0a2", "1.0b1"},
        {"1.0b1", "1.0rc1"},       {"1.0rc1", "1.0"},        {"1.0", "1.0.post1"},
        {"1.0.post1", "1.1"},      {"1.0a1.dev1", "1.0a1"},  {"1.0.post1.dev1", "1.0.post1"},
        {"1.9", "1.10"},           {"2.0", "1!0.1"},         {"1.13.0a0", "1.13.0"},
        {"0.1", "1.24.2"},         {"1.24.2", "1.24.10"},    {"11.8", "12.1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cf_version a, b;
        assert_int_equal(cf_version_parse(rows[i][0], &a), 0);
        assert_int_equal(cf_version_parse(rows[i][1], &b), 0);
        if (cf_version_cmp(&a, &b) >= 0 || cf_version_cmp(&b, &a) <= 0)
            fail_msg("expected %s < %s", rows[i][0], rows[i][1]);
    }
}

/* Public-part equality: zero padding, local segments, spellings. */
static void test_version_equal(void **state)
{
    (void)state;
    static const char *rows[][2] = {
        {"1.0", "1.0.0"},
        {"2.1.0+dfsg", "2.1.0"},
        {"1.13.0a0+gitunknown", "1.13.0a0"},
        {"v1.0", "1.0"},
        {"1.0alpha1", "1.0a1"},
        {"1.0-rc.1", "1.0rc1"},
        {"1.0-1", "1.0.post1"},
        {"1.0.POST2", "1.0post2"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cf_version a, b;
        assert_int_equal(cf_version_parse(rows[i][0], &a), 0);
        assert_int_equal(cf_version_parse(rows[i][1], &b), 0);
        if (cf_version_cmp(&a, &b) != 0)
            fail_msg("expected %s == %s", rows[i][0], rows[i][1]);
    }
    cf_version v;
    assert_int_equal(cf_version_parse("unknown", &v), CF_EINVAL);
    assert_int_equal(cf_version_parse("", &v), CF_EINVAL);
}

static void test_satisfies(void **state)
{
    (void)state;
    static const struct { const char *version, *specs; int want; } rows[] = {
        {"1.24.2", "", 1},
        {"1.24.2", ">=1.0", 1},
        {"1.24.2", "==0.1", 0},
        {"1.24.2", ">=1,<2", 1},
        {"1.24.2", ">=1, <1.20", 0},
        {"1.24.2", "==1.24.*", 1},
        {"1.24.2", "==1.23.*", 0},
        {"1.24.2", "!=1.24.*", 0},
        {"1.24.2", "~=1.24", 1},
        {"1.24.2", "~=1.23", 1},
        {"2.0", "~=1.23", 0},
        {"1.24.2", "~=1.24.3", 0},
        {"1.24.2", "!=1.24.1", 1},
        {"1.24.2", "==1.24.2", 1},
        {"2.1.0+dfsg", "==2.1.0", 1},
        {"2.1.0+dfsg", "<2.1", 0},
        {"2.1.0+dfsg", "===2.1.0+dfsg", 1},
        {"1.13.0a0+gitunknown", ">=1.12", 1},
        {"1.13.0a0+gitunknown", ">=1.13", 2},
        {"1.13.0a0+gitunknown", "==1.13.0", 2},
        {"1.13.0a0+gitunknown", ">=2.0", 0},
        {"6.0", ">5", 1},
        {"6.0", "<=6", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cf_error err;
        cf_error_clear(&err);
        int got = cf_version_satisfies(rows[i].version, rows[i].specs, &err);
        if (got != rows[i].want)
            fail_msg("%s against \"%s\": %d, expected %d (%s)", rows[i].version, rows[i].specs,
                     got, rows[i].want, err.msg);
    }
    cf_error err;
    cf_error_clear(&err);
    assert_int_equal(cf_version_satisfies("1.0", "=>1", &err), CF_EINVAL);
    assert_int_equal(cf_version_satisfies("1.0", "~=1", &err), CF_EINVAL);
    assert_int_equal(cf_version_satisfies("weird", ">=1", &err), CF_EINVAL);
}

static void test_normalize(void **state)
{
    (void)state;
    char out[64];
    cf_check_normalize_name("Scikit_Learn", out, sizeof out);
    assert_string_equal(out, "scikit-learn");
    cf_check_normalize_name("zope.interface", out, sizeof out);
    assert_string_equal(out, "zope-interface");
    cf_check_normalize_name("a-_.b", out, sizeof out);
    assert_string_equal(out, "a-b");
    cf_check_normalize_name("PyYAML", out, sizeof out);
    assert_string_equal(out, "pyyaml");
}

static void test_requirement_parse(void **state)
{
    (void)state;
    cf_requirement r;
    cf_error err;
    cf_error_clear(&err);
    assert_int_equal(cf_requirement_parse("numpy", &r, &err), 0);
    assert_string_equal(r.name, "numpy");
    assert_string_equal(r.specs, "");
    assert_int_equal(cf_requirement_parse("  Torch_Vision[cuda, x] >= 0.15 , <1 ; "
                                          "python_version < \"3.12\"  # why", &r, &err), 0);
    assert_string_equal(r.name, "torch-vision");
    assert_string_equal(r.written, "Torch_Vision");
    assert_string_equal(r.specs, ">=0.15,<1");
    assert_string_equal(r.marker, "python_version < \"3.12\"");
    assert_int_equal(cf_requirement_parse("foo (>=1.0)", &r, &err), 0);
    assert_string_equal(r.specs, ">=1.0");
    assert_int_equal(cf_requirement_parse("pkg @ https://example.com/pkg.whl", &r, &err), 0);
    assert_true(r.is_url);
    assert_string_equal(r.name, "pkg");
    assert_int_equal(cf_requirement_parse("foo~=1.4.2", &r, &err), 0);
    assert_string_equal(r.specs, "~=1.4.2");

    assert_int_equal(cf_requirement_parse("==1.0", &r, &err), CF_EINVAL);
    assert_int_equal(cf_requirement_parse("foo[bar >=1", &r, &err), CF_EINVAL);
    assert_int_equal(cf_requirement_parse("foo =>1", &r, &err), CF_EINVAL);
    assert_non_null(strstr(err.msg, "foo"));
}

static void test_markers(void **state)
{
    (void)state;
    static const struct { const char *marker; int want; } rows[] = {
        {"python_version < \"3.12\"", 1},
        {"python_version >= '3.12'", 0},
        {"python_version == \"3.11\"", 1},
        {"python_full_version >= \"3.11.1\"", 1},
        {"sys_platform == \"linux\"", 1},
        {"sys_platform == 'win32'", 0},
        {"platform_system != \"Windows\" and python_version > \"3.8\"", 1},
        {"sys_platform == 'win32' or python_version >= '3'", 1},
        {"sys_platform == 'win32' or os_name == 'nt'", 0},
        {"'linux' in sys_platform", 1},
        {"'win' not in sys_platform", 1},
        {"extra == \"gpu\"", -1},
        {"(python_version < '3.12')", -1},
        {"python_version <", -1},
        {"unknown_var == '1'", -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int got = cf_marker_eval(rows[i].marker, "3.11.2", "linux");
        if (got != rows[i].want)
            fail_msg("marker %s: %d, expected %d", rows[i].marker, got, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_order),
        cmocka_unit_test(test_version_equal),
        cmocka_unit_test(test_satisfies),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_requirement_parse),
        cmocka_unit_test(test_markers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
