/* server.c - accept loop threads over libfcgi, and signal handling.
 *
 * Async signals are blocked in every thread and taken by the main thread
 * with sigwaitinfo, so no handler ever runs inside libfcgi, libcurl or
 * jansson. SIGPIPE is ignored: a web server that hangs up is a failed
 * write, not a dead front.
 */
#include "server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "routes.h"

static int active_requests; /* requests being answered, for a clean exit */

static void *accept_main(void *arg)
{
    const cf_server_config *cfg = arg;
    FCGX_Request fcgx;
    if (FCGX_InitRequest(&fcgx, cfg->listen_fd, 0) != 0) {
        cf_log_error("CF0501", "cannot initialise a FastCGI request");
        return NULL;
    }
    for (;;) {
        /* No accept mutex: the kernel hands each connection to one blocked
         * accept(), and a mutex here made every request a futex relay race
         * through all the idle threads. */
        int rc = FCGX_Accept_r(&fcgx);
        if (rc < 0) {
            if (rc == -EINTR || rc == -EAGAIN)
                continue;
            cf_log_info("CF0502", "accept ended: %d", rc);
            break;
        }
        __atomic_add_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
        cf_request req;
        cf_error err;
        cf_error_clear(&err);
        if (cf_request_load(&req, &fcgx, cfg->app->max_body, &err) == CF_OK)
            cf_route_request(cfg->app, &req);
        else
            cf_respond_detail(&req, 500, err.msg);
        cf_request_cleanup(&req);
        FCGX_Finish_r(&fcgx);
        __atomic_sub_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
    }
    FCGX_Free(&fcgx, 1);
    return NULL;
}

void cf_server_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void cf_server_request_shutdown(void)
{
    kill(getpid(), SIGTERM);
}

int cf_server_start(const cf_server_config *cfg, cf_error *err)
{
    if (FCGX_Init() != 0)
        return cf_error_set(err, CF_EIO, "FCGX_Init failed");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* Handlers are shallow; a small stack keeps many threads cheap. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < cfg->threads; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, accept_main, (void *)cfg) != 0) {
            pthread_attr_destroy(&attr);
            return cf_error_set(err, CF_EIO, "cannot start accept thread %d", i);
        }
    }
    pthread_attr_destroy(&attr);
    return CF_OK;
}

int cf_server_wait_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig >= 0)
            return sig;
        if (errno != EINTR)
            return SIGTERM;
    }
}

int cf_server_wait_idle(double seconds)
{
    for (int i = 0; i < (int)(seconds * 100); i++) {
        if (__atomic_load_n(&active_requests, __ATOMIC_SEQ_CST) == 0)
            return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

void cf_server_stop_accepting(const cf_server_config *cfg)
{
    /* shutdown() of a listening socket wakes every thread blocked in
     * accept() with an error, so they leave their loops. */
    shutdown(cfg->listen_fd, SHUT_RDWR);
}
