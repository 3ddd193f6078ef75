/* worker_logs.c - the worker's stdout and stderr, sent to the front as log frames. */
#include "worker_logs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "utf8.h"

#define CHUNK 65536

/* One capture per process: fds 1 and 2 are process-wide. */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static int pipe_rd = -1;
static int ipc = -1;
static char carry[4]; /* the start of a UTF-8 sequence the last read cut */
static size_t carry_len;

/* Frames len bytes (plus the carry) as one log frame. send_lock held. */
static void send_text(const char *buf, size_t len, int final)
{
    static char in[CHUNK + 4], out[3 * (CHUNK + 4)];
    memcpy(in, carry, carry_len);
    memcpy(in + carry_len, buf, len);
    size_t total = carry_len + len, kept = 0;
    size_t n = cf_text_clean(in, total, out, final ? NULL : &kept);
    memcpy(carry, in + total - kept, kept);
    carry_len = kept;
    if (n == 0)
        return;
    json_t *msg = json_pack("{s:s, s:s%}", "type", "log", "text", out, n);
    cf_error err;
    cf_error_clear(&err);
    if (msg != NULL)
        cf_ipc_send(ipc, msg, &err); /* a broken socket: the front is gone anyway */
    json_decref(msg);
}

/* Sends everything the pipe holds now. send_lock held. */
static void drain_locked(int final)
{
    static char buf[CHUNK];
    for (;;) {
        ssize_t n = read(pipe_rd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        send_text(buf, (size_t)n, 0);
    }
    if (final && carry_len > 0)
        send_text("", 0, 1);
}

static void *reader_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd pfd = {.fd = pipe_rd, .events = POLLIN};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            return NULL;
        pthread_mutex_lock(&send_lock);
        drain_locked(0);
        pthread_mutex_unlock(&send_lock);
        if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
            return NULL;
    }
}

int cf_worker_logs_start(int ipc_fd, cf_error *err)
{
    int p[2];
    pthread_t t;
    pthread_attr_t attr;
    if (pipe2(p, O_CLOEXEC) != 0)
        return cf_error_set(err, CF_EIO, "cannot create the log pipe: %s", strerror(errno));
    fflush(NULL);
    /* dup2 clears O_CLOEXEC: fds 1 and 2 stay open across exec, as they must */
    if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return cf_error_set(err, CF_EIO, "cannot redirect stdout: %s", strerror(e));
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    pipe_rd = p[0];
    ipc = ipc_fd;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, reader_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return cf_error_set(err, CF_EIO, "cannot start the log thread");
    return CF_OK;
}

int cf_worker_send(int fd, const json_t *msg, cf_error *err)
{
    fflush(NULL); /* C-level prints of the model come before the frame */
    pthread_mutex_lock(&send_lock);
    if (pipe_rd >= 0)
        drain_locked(0);
    int rc = cf_ipc_send(fd, msg, err);
    pthread_mutex_unlock(&send_lock);
    return rc;
}

void cf_worker_logs_flush(void)
{
    fflush(NULL);
    pthread_mutex_lock(&send_lock);
    if (pipe_rd >= 0)
        drain_locked(1);
    pthread_mutex_unlock(&send_lock);
}
