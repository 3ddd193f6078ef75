/* test_mime.c - file names to MIME types and back, checked against Python's mimetypes on Debian. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mime.h"

/* Expectations printed by /usr/bin/python3 (mimetypes + Cog's image/webp). */
static void test_guess_type_matches_python(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *type;
    } cases[] = {
        {"a.txt", "text/plain"},
        {"result.csv", "text/csv"},
        {"x.json", "application/json"},
        {"p.png", "image/png"},
        {"p.jpg", "image/jpeg"},
        {"p.JPEG", "image/jpeg"},
        {"a.gif", "image/gif"},
        {"a.webp", "image/webp"},
        {"a.wav", "audio/x-wav"},
        {"a.mp3", "audio/mpeg"},
        {"a.mp4", "video/mp4"},
        {"index.html", "text/html"},
        {"out.xyz", "chemical/x-xyz"},
        {"doc.pdf", "application/pdf"},
        {"a.zip", "application/zip"},
        {"a.tar", "application/x-tar"},
        {"a.npy", NULL},
        {"a.tar.gz", "application/x-tar"},
        {"x.tgz", "application/x-tar"},
        {"A.PNG", "image/png"},
        {"noext", NULL},
        {".png", NULL},
        {"dir.d/file", NULL},
        {"a.gz", NULL},
        {"a.svgz", "image/svg+xml"},
        {"weird.qqq", NULL},
        {"/tmp/x/result.txt", "text/plain"},
        {"a.Z", NULL},
        {"a.tar.Z", "application/x-tar"},
        {"a.TGZ", "application/x-tar"},
        {"a.tar.GZ", "application/gzip"},
        {"a.b.jpg", "image/jpeg"},
        {"", NULL},
        {"a.", NULL},
        {"photo.JPeG", "image/jpeg"},
        {"a.txz", "application/x-tar"},
        {"a.tbz2", "application/x-tar"},
        {"a.tar.bz2", "application/x-tar"},
        {"a.srt", "text/plain"},
        {"a.md", "text/markdown"},
        {"a.ts", "text/vnd.trolltech.linguist"},
        {"a.mkv", "video/x-matroska"},
        {"a.opus", "audio/ogg"},
        {"a..png", "image/png"},
        {"..png", NULL},
        {"dir/.hidden", NULL},
        {"a.pt", "application/vnd.snesdev-page-table"},
        {"x.safetensors", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = cf_mime_guess(cases[i].name);
        if (cases[i].type == NULL) {
            if (got != NULL) {
                print_error("%s: got %s\n", cases[i].name, got);
            }
            assert_null(got);
            assert_string_equal(cf_mime_from_name(cases[i].name), "application/octet-stream");
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i].type);
            assert_string_equal(cf_mime_from_name(cases[i].name), cases[i].type);
        }
    }
}

/* Case 09: result.txt/csv/json/png and an unknown .qqq (section 16: octet-stream). */
static void test_case_09_outputs(void **state)
{
    (void)state;
    assert_string_equal(cf_mime_from_name("/tmp/tmpabc/result.txt"), "text/plain");
    assert_string_equal(cf_mime_from_name("/tmp/tmpabc/result.csv"), "text/csv");
    assert_string_equal(cf_mime_from_name("/tmp/tmpabc/result.json"), "application/json");
    assert_string_equal(cf_mime_from_name("/tmp/tmpabc/result.png"), "image/png");
    assert_string_equal(cf_mime_from_name("/tmp/tmpabc/result.qqq"), "application/octet-stream");
    assert_string_equal(cf_mime_from_name(NULL), "application/octet-stream");
}

static void test_ext_from_mime_matches_python(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        const char *ext;
    } cases[] = {
        {"text/plain", ".txt"},
        {"image/jpeg", ".jpg"},
        {"image/png", ".png"},
        {"application/octet-stream", ".bin"},
        {"audio/mpeg", ".mp3"},
        {"audio/wav", NULL},
        {"audio/x-wav", ".wav"},
        {"video/mp4", ".mp4"},
        {"application/json", ".json"},
        {"text/csv", ".csv"},
        {"image/webp", ".webp"},
        {"TEXT/Plain; charset=utf-8", ".txt"},
        {"chemical/x-xyz", ".xyz"},
        {"foo/bar", NULL},
        {"audio/ogg", ".oga"},
        {"text/javascript", ".es"},
        {"application/xml", ".xsl"},
        {"image/svg+xml", ".svg"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = cf_ext_from_mime(cases[i].type);
        if (cases[i].ext == NULL) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i].ext);
        }
    }
    assert_null(cf_ext_from_mime(NULL));
    assert_null(cf_ext_from_mime(""));
}

static void test_long_names(void **state)
{
    (void)state;
    char name[2048];
    memset(name, 'a', sizeof(name));
    memcpy(name + sizeof(name) - 5, ".png", 5);
    assert_string_equal(cf_mime_from_name(name), "image/png");
    memcpy(name + sizeof(name) - 5, ".zzz", 5);
    assert_string_equal(cf_mime_from_name(name), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guess_type_matches_python),
        cmocka_unit_test(test_case_09_outputs),
        cmocka_unit_test(test_ext_from_mime_matches_python),
        cmocka_unit_test(test_long_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
