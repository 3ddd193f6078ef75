/* test_model_log.c - the model's output in the server's log: lines, ids, limits, failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "model_log.h"

/* Points the logger at a temp file; returns its fd. */
static int capture(void)
{
    char path[] = "/tmp/cf-model-log.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    cf_log_set_fd(fd);
    return fd;
}

/* Everything logged since capture(), NUL-terminated (caller frees); the logger goes back. */
static char *captured(int fd)
{
    cf_log_set_fd(2);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_lines_carry_the_id(void **state)
{
    (void)state;
    int fd = capture();
    cf_model_log_write("pred_a", "hel", 3);
    cf_model_log_write("setup", "loading\r\n", 9);
    cf_model_log_write("pred_a", "lo\nworld", 8); /* "world" has no newline yet */
    cf_model_log_write("pred_a", "\x1b[31mred\n", 9);
    cf_model_log_write("pred_a", "10%\r50%\r100%\n", 13);
    cf_model_log_end("pred_a", "prediction", NULL, NULL);
    char *out = captured(fd);
    assert_non_null(strstr(out, "CF0330: [pred_a] hello\n"));
    assert_non_null(strstr(out, "CF0330: [setup] loading\n"));
    assert_non_null(strstr(out, "CF0330: [pred_a] world?[31mred\n"));
    assert_non_null(strstr(out, "CF0330: [pred_a] 100%\n"));
    assert_null(strstr(out, "10%"));
    assert_null(strstr(out, "CF0331")); /* nothing suppressed */
    free(out);
    fd = capture();
    cf_model_log_end("setup", NULL, NULL, NULL);
    out = captured(fd);
    assert_string_equal(out, "");
    free(out);
}

static void test_long_line_is_cut(void **state)
{
    (void)state;
    size_t n = CF_MODEL_LOG_LINE_MAX + 500;
    char *line = malloc(n + 1);
    memset(line, 'x', n);
    line[n] = '\n';
    int fd = capture();
    cf_model_log_write("pred_long", line, n + 1);
    cf_model_log_end("pred_long", "prediction", NULL, NULL);
    char *out = captured(fd);
    assert_non_null(strstr(out, "... (500 more bytes)\n"));
    assert_true(strlen(out) < 2048);
    free(out);
    free(line);
}

/* 200 MB of output would be 200 MB of log; the budget keeps a few hundred KiB. */
static void test_budget_suppresses_a_flood(void **state)
{
    (void)state;
    char chunk[65536];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (i % 100 == 99) ? '\n' : 'y';
    int fd = capture();
    for (int i = 0; i < 320; i++) /* 20 MiB */
        cf_model_log_write("pred_flood", chunk, sizeof chunk);
    cf_model_log_end("pred_flood", "prediction", NULL, NULL);
    char *out = captured(fd);
    assert_true(strlen(out) < 2 * CF_MODEL_LOG_BUDGET);
    assert_true(count(out, "CF0330: [pred_flood]") <= CF_MODEL_LOG_LINES);
    /* one note when the budget is passed, one total at the end */
    assert_int_equal(count(out, "CF0331: [pred_flood]"), 2);
    assert_non_null(strstr(out, "the rest is counted, not copied here"));
    assert_non_null(strstr(out, "bytes ("));
    assert_non_null(strstr(out, "lines) of model output suppressed"));
    free(out);
}

static const char traceback[] =
    "Traceback (most recent call last):\n"
    "  File \"/srv/cog/_runtime.py\", line 414, in _setup\n"
    "    setup(**kwargs)\n"
    "  File \"/srv/model/predict.py\", line 8, in setup\n"
    "    raise RuntimeError(\"weights not found\")\n"
    "RuntimeError: weights not found\n";

static void test_failures_name_the_place(void **state)
{
    (void)state;
    char where[256];
    assert_int_equal(cf_model_log_last_frame(traceback, where, sizeof where), 1);
    assert_string_equal(where, "/srv/model/predict.py:8, in setup");
    assert_int_equal(cf_model_log_last_frame("no traceback", where, sizeof where), 0);
    assert_string_equal(where, "");
    int fd = capture();
    cf_model_log_write("setup", traceback, strlen(traceback));
    cf_model_log_end("setup", NULL, "weights not found", traceback);
    cf_model_log_end("pred_b", "prediction", "asked to fail",
                     "  File \"/m/predict.py\", line 46, in predict\nValueError: asked to fail\n");
    cf_model_log_end("setup", NULL, "unexpected indent (predict.py, line 5)",
                     "  File \"/m/predict.py\", line 5\n    return 1\n"
                     "IndentationError: unexpected indent\n");
    char *out = captured(fd);
    assert_non_null(strstr(out, "error CF0307: [setup] setup() failed: RuntimeError: weights not "
                                "found (at /srv/model/predict.py:8, in setup)\n"));
    assert_non_null(strstr(out, "error CF0332: [pred_b] prediction failed: ValueError: asked to "
                                "fail (at /m/predict.py:46, in predict)\n"));
    assert_non_null(strstr(out, "error CF0307: [setup] loading the model (importing it) failed: "
                                "IndentationError: unexpected indent (predict.py, line 5) "
                                "(at /m/predict.py:5)\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_carry_the_id),
        cmocka_unit_test(test_long_line_is_cut),
        cmocka_unit_test(test_budget_suppresses_a_flood),
        cmocka_unit_test(test_failures_name_the_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
