/* slot.c - spawning and reaping worker processes. */
#include "slot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

int cf_slot_find_worker(char *buf, size_t len, cf_error *err)
{
    const char *env = getenv("COG_FCGI_WORKER");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return CF_OK;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return cf_error_set(err, CF_ENOTFOUND, "cannot find my own executable: %s",
                            strerror(errno));
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    /* the build tree keeps both side by side; `make install` puts the
     * worker in PREFIX/lib/cog-fcgi/ */
    snprintf(buf, len, "%s/cog-fcgi-worker", self);
    if (access(buf, X_OK) == 0)
        return CF_OK;
    snprintf(buf, len, "%s/../lib/cog-fcgi/cog-fcgi-worker", self);
    if (access(buf, X_OK) == 0)
        return CF_OK;
    return cf_error_set(err, CF_ENOTFOUND,
                        "cannot find cog-fcgi-worker next to %s or in ../lib/cog-fcgi "
                        "(set COG_FCGI_WORKER)", self);
}

/* environ + spec->environment + COG_MAX_CONCURRENCY + the slot's
 * CUDA_VISIBLE_DEVICES (when `cuda` is not NULL: it wins over every other
 * value), as a new array whose strings are borrowed except `owned`. */
static char **build_env(const cf_worker_spec *spec, char *owned, size_t owned_len,
                        const char *cuda)
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (spec->environment && spec->environment[extra])
        extra++;
    char **env = calloc(n + extra + 3, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* cog.yaml's environment wins over an inherited variable of the same name */
        int shadowed = cuda && strncmp(environ[i], "CUDA_VISIBLE_DEVICES=", 21) == 0;
        for (size_t j = 0; j < extra; j++) {
            const char *eq = strchr(spec->environment[j], '=');
            size_t nl = eq ? (size_t)(eq - spec->environment[j]) : strlen(spec->environment[j]);
            if (strncmp(environ[i], spec->environment[j], nl) == 0 && environ[i][nl] == '=')
                shadowed = 1;
        }
        if (!shadowed)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        if (!(cuda && strncmp(spec->environment[j], "CUDA_VISIBLE_DEVICES=", 21) == 0))
            env[k++] = spec->environment[j];
    if (cuda)
        env[k++] = (char *)cuda;
    if (spec->concurrency_max > 0 && getenv("COG_MAX_CONCURRENCY") == NULL) {
        snprintf(owned, owned_len, "COG_MAX_CONCURRENCY=%d", spec->concurrency_max);
        env[k++] = owned;
    }
    env[k] = NULL;
    return env;
}

static int spawn(cf_slot *slot, const cf_worker_spec *spec, const char *device, int standby,
                 cf_error *err)
{
    char cuda[64];
    int sv[2] = {-1, -1}, logp[2] = {-1, -1};
    char **env = NULL;
    char conc[64];
    int rc = CF_OK;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ready = 0, attr_ready = 0;

    memset(slot, 0, sizeof *slot);
    slot->ipc_fd = slot->log_fd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        pipe2(logp, O_CLOEXEC) != 0) {
        rc = cf_error_set(err, CF_EIO, "cannot create worker pipes: %s", strerror(errno));
        goto cleanup;
    }
    if (device && *device)
        snprintf(cuda, sizeof cuda, "CUDA_VISIBLE_DEVICES=%s", device);
    env = build_env(spec, conc, sizeof conc, device && *device ? cuda : NULL);
    if (env == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory for the worker environment");
        goto cleanup;
    }
    const char *argv[20];
    int a = 0;
    argv[a++] = spec->worker_exe;
    argv[a++] = "--project";
    argv[a++] = spec->project;
    argv[a++] = "--ipc-fd";
    argv[a++] = "3";
    argv[a++] = "--log-fd";
    argv[a++] = "4";
    if (spec->predict_ref) {
        argv[a++] = "--predict";
        argv[a++] = spec->predict_ref;
    }
    if (spec->train_ref) {
        argv[a++] = "--train";
        argv[a++] = spec->train_ref;
    }
    if (spec->python) {
        argv[a++] = "--python";
        argv[a++] = spec->python;
    }
    char memarg[32];
    if (spec->memory_limit > 0) {
        snprintf(memarg, sizeof memarg, "%llu", spec->memory_limit);
        argv[a++] = "--memory-limit";
        argv[a++] = memarg;
    }
    if (standby)
        argv[a++] = "--standby";
    argv[a] = NULL;

    posix_spawn_file_actions_init(&fa);
    fa_ready = 1;
    /* fd 4 first: it copies our stderr before fd 2 is replaced. */
    posix_spawn_file_actions_adddup2(&fa, 2, 4);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, logp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, logp[1], 2);
    posix_spawnattr_init(&attr);
    attr_ready = 1;
    /* The worker gets default signal dispositions and an empty mask: the
     * front blocks signals in all its threads. Own process group, so a
     * terminal's ^C reaches the front, which decides. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    pid_t pid;
    int e = posix_spawn(&pid, spec->worker_exe, &fa, &attr, (char *const *)argv, env);
    if (e != 0) {
        rc = cf_error_set(err, CF_EIO, "cannot start worker %s: %s", spec->worker_exe,
                          strerror(e));
        goto cleanup;
    }
    slot->pid = pid;
    slot->ipc_fd = sv[0];
    sv[0] = -1;
    slot->log_fd = logp[0];
    logp[0] = -1;
    fcntl(slot->log_fd, F_SETFL, fcntl(slot->log_fd, F_GETFL) | O_NONBLOCK);
    if (standby)
        cf_log_info("CF0602", "spare worker %d started for %s (Python and cog loaded, the "
                    "model not yet)", (int)pid, spec->project);
    else if (device && *device)
        cf_log_info("CF0601", "worker %d started for %s on CUDA device %s", (int)pid,
                    spec->project, device);
    else
        cf_log_info("CF0601", "worker %d started for %s", (int)pid, spec->project);

cleanup:
    if (fa_ready)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ready)
        posix_spawnattr_destroy(&attr);
    free(env);
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (logp[i] >= 0)
            close(logp[i]);
    }
    return rc;
}

int cf_slot_start(cf_slot *slot, const cf_worker_spec *spec, const char *device, cf_error *err)
{
    return spawn(slot, spec, device, 0, err);
}

int cf_slot_start_standby(cf_slot *slot, const cf_worker_spec *spec, cf_error *err)
{
    return spawn(slot, spec, NULL, 1, err);
}

static void close_fds(cf_slot *slot)
{
    if (slot->ipc_fd >= 0)
        close(slot->ipc_fd);
    if (slot->log_fd >= 0)
        close(slot->log_fd);
    slot->ipc_fd = slot->log_fd = -1;
}

int cf_slot_reap(cf_slot *slot)
{
    int status = -1;
    if (slot->pid <= 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(slot->pid, &status, WNOHANG);
        if (r == slot->pid) {
            slot->pid = 0;
            return status;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(slot->pid, SIGKILL);
    waitpid(slot->pid, &status, 0);
    slot->pid = 0;
    return status;
}

int cf_slot_stop(cf_slot *slot, int kill_it)
{
    close_fds(slot);
    if (slot->pid <= 0)
        return -1;
    if (kill_it)
        kill(slot->pid, SIGKILL);
    return cf_slot_reap(slot);
}

int cf_slot_exitcode(int wstatus)
{
    if (wstatus < 0)
        return -1;
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return -WTERMSIG(wstatus);
    return -1;
}
