/* fuzz_cogyaml.c - libFuzzer target for cog.yaml loading (predictor/project/cogyaml.c cf_cogyaml_load). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cogyaml.h"

/* One in-memory file for the whole run, rewritten per input and read back through /proc: no disk,
 * no temp file left behind. */
static int cf_fuzz_fd = -1;
static char cf_fuzz_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cf_fuzz_fd = memfd_create("cog.yaml", 0);
    if (cf_fuzz_fd < 0) {
        perror("fuzz_cogyaml: memfd_create");
        abort();
    }
    snprintf(cf_fuzz_path, sizeof(cf_fuzz_path), "/proc/self/fd/%d", cf_fuzz_fd);
    return 0;
}

/* A NULL-terminated array whose strings are all readable. */
static void cf_fuzz_check_list(char **list)
{
    for (; list != NULL && *list != NULL; list++) {
        (void)strlen(*list);
    }
}

static int cf_fuzz_all_zero(const cf_cogyaml *y)
{
    static const cf_cogyaml zero;
    return memcmp(y, &zero, sizeof(zero)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_cogyaml y;
    cf_error err;
    char buf[256];

    if (ftruncate(cf_fuzz_fd, 0) != 0 || pwrite(cf_fuzz_fd, data, size, 0) != (ssize_t)size) {
        abort();
    }
    memset(&y, 0xa5, sizeof(y)); /* "fully overwritten": garbage in must not matter */
    cf_error_clear(&err);
    int rc = cf_cogyaml_load(cf_fuzz_path, &y, &err);
    if (rc == CF_OK) {
        const char *strings[] = {y.predict, y.train, y.python_version, y.python_requirements,
                                 y.image};
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
            if (strings[i] != NULL) {
                (void)strlen(strings[i]);
            }
        }
        cf_fuzz_check_list(y.environment);
        cf_fuzz_check_list(y.python_packages);
        cf_fuzz_check_list(y.system_packages);
        (void)cf_cogyaml_python_mismatch(&y, "3.11.2", buf, sizeof(buf));
        (void)cf_cogyaml_python_mismatch(&y, "3", buf, 4);
    } else {
        if (rc != CF_EINVAL && rc != CF_ENOMEM && rc != CF_EIO) {
            abort();
        }
        if (!cf_fuzz_all_zero(&y) || err.msg[0] == '\0' || err.code != rc) {
            abort();
        }
    }
    cf_cogyaml_cleanup(&y);
    if (!cf_fuzz_all_zero(&y)) {
        abort();
    }
    return 0;
}
