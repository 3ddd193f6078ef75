/* worker_main.c - cog-fcgi-worker: command line, fds and signals, then the Python serve loop.
 *
 *   cog-fcgi-worker --project DIR --ipc-fd N --log-fd M
 *                   [--predict REF] [--train REF] [--python EXE] [--memory-limit BYTES]
 *                   [--standby]
 *
 * The front starts it with fork+exec. fds 1 and 2 are the pipe the front
 * reads as prediction logs; our own diagnostics go to --log-fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/resource.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "worker_logs.h"
#include "py_worker.h"

static void usage(void)
{
    fprintf(stderr, "usage: cog-fcgi-worker --project DIR --ipc-fd N --log-fd M "
                    "[--predict REF] [--train REF] [--python EXE]\n");
}

/* Parses a non-negative fd number; -1 if it is not one. */
static int parse_fd(const char *s)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
        return -1;
    return (int)v;
}

/* Keeps our private fds out of processes the model spawns: a child holding
 * the IPC socket would hide our death from the front. */
static void set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* SIGINT is ignored (as Cog's worker child does: a terminal ^C goes to the
 * front, which decides). SIGUSR1 is ignored until Python installs the cancel
 * handler: its default action would kill us. SIGPIPE: a dead front shows up
 * as EPIPE on the socket, and we exit from there. */
static void setup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"project", required_argument, NULL, 'd'}, {"ipc-fd", required_argument, NULL, 'i'},
        {"log-fd", required_argument, NULL, 'l'},  {"predict", required_argument, NULL, 'p'},
        {"train", required_argument, NULL, 't'},   {"python", required_argument, NULL, 'y'},
        {"memory-limit", required_argument, NULL, 'm'},
        {"standby", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    struct cf_worker_opts opts = {NULL, NULL, NULL, "/usr/bin/python3", -1, 0};
    const char *project = NULL;
    int log_fd = 2;
    unsigned long long memory_limit = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'd': project = optarg; break;
        case 'i': opts.ipc_fd = parse_fd(optarg); break;
        case 'l': log_fd = parse_fd(optarg); break;
        case 'p': opts.predict_ref = optarg; break;
        case 't': opts.train_ref = optarg; break;
        case 'y': opts.python = optarg; break;
        case 'm': memory_limit = strtoull(optarg, NULL, 10); break;
        case 's': opts.standby = 1; break;
        case 'h': usage(); return 0;
        default: usage(); return 2;
        }
    }
    if (project == NULL || opts.ipc_fd < 0 || log_fd < 0 ||
        (opts.predict_ref == NULL && opts.train_ref == NULL)) {
        usage();
        return 2;
    }
    cf_log_set_tag("cog-fcgi-worker");
    cf_log_set_fd(log_fd);
    const char *level = getenv("COG_LOG_LEVEL");
    if (level != NULL && strcasecmp(level, "debug") == 0)
        cf_log_set_level(CF_LOG_DEBUG);
    set_cloexec(opts.ipc_fd);
    if (log_fd > 2)
        set_cloexec(log_fd);
    setup_signals();
    if (memory_limit > 0) {
        /* A runaway model then gets MemoryError (a failed prediction) or
         * dies alone (the front restarts it) instead of taking the host. */
        struct rlimit rl = {(rlim_t)memory_limit, (rlim_t)memory_limit};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            cf_log_warn("CF0211", "cannot limit memory to %llu bytes: %s", memory_limit,
                        strerror(errno));
    }

    char abs_project[PATH_MAX];
    if (realpath(project, abs_project) == NULL || chdir(abs_project) < 0) {
        cf_log_error("CF0200", "cannot enter project directory %s: %s", project,
                     strerror(errno));
        return 1;
    }
    opts.project = abs_project;

    cf_error err;
    cf_error_clear(&err);
    /* from here on what the model prints reaches the front as log frames */
    if (cf_worker_logs_start(opts.ipc_fd, &err) != CF_OK) {
        cf_log_warn("CF0212", "%s: logs go through the front's pipe", err.msg);
        cf_error_clear(&err);
    }
    int rc = cf_py_worker_run(&opts, &err);
    if (rc < 0)
        cf_log_error("CF0209", "worker stopped: %s", err.msg);
    cf_worker_logs_flush();
    /* Never Py_FinalizeEx: model threads may be stuck in C code. */
    _exit(rc < 0 ? 1 : 0);
}
