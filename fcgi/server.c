/* server.c - the FastCGI connection threads over one epoll set, and signal handling.
 *
 * Connections, not threads, are what a web server keeps: nginx with
 * `fastcgi_keep_conn on` parks idle connections on us for minutes. So no
 * thread ever waits on one connection. Every thread waits in epoll_wait on
 * one shared set holding the listening socket and every idle connection,
 * all registered EPOLLONESHOT: an event goes to exactly one thread and the
 * fd stays disarmed until that thread re-arms it. The thread that gets the
 * listening socket accepts one connection, re-arms the socket for the
 * others and serves the connection itself; the thread that gets a kept
 * connection serves its next request. After a request a kept connection
 * goes back into the set (re-armed), any other is closed by libfcgi. There
 * is no dispatcher hand-off, so a request costs one wake-up as before.
 *
 * libfcgi reads and writes every request's records: FCGX_Accept_r on a
 * request whose ipcFd is already set (and keepConnection set, so its
 * opening FCGX_Finish_r does not close it) reads the next request from
 * that fd. Management records before it (FCGI_GET_VALUES) we answer
 * first (mgmt.c): libfcgi would only answer once more bytes came. Our requests have no listening
 * socket (-1): when libfcgi closes a connection (EOF, garbage) and loops
 * back to accept, that accept fails at once instead of stealing a
 * connection from the set. Accepting ourselves, we apply
 * FCGI_WEB_SERVER_ADDRS as libfcgi's OS_Accept would.
 *
 * Async signals are blocked in every thread and taken by the main thread
 * with sigwaitinfo, so no handler ever runs inside libfcgi, libcurl or
 * jansson. SIGPIPE is ignored: a web server that hangs up is a failed
 * write, not a dead front.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "mgmt.h"
#include "plain_http.h"
#include "routes.h"

/* A peer that stops half-way through a record would otherwise hold a
 * thread inside libfcgi's read() for good; after this long it is gone. */
#define CF_SERVER_STALL_S 60
#define CF_SERVER_MAX_ADDRS 64

/* One allowed web server (FCGI_WEB_SERVER_ADDRS entry). */
typedef struct cf_peer_addr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char bytes[16];
} cf_peer_addr;

static int active_requests; /* requests being answered, for a clean exit */
static int epoll_fd = -1;
static int listening;      /* 0 once cf_server_stop_accepting ran */
static cf_peer_addr allowed[CF_SERVER_MAX_ADDRS];
static int n_allowed = -1; /* -1: FCGI_WEB_SERVER_ADDRS unset, anyone */

/* Parses FCGI_WEB_SERVER_ADDRS (comma-separated addresses, as libfcgi
 * reads it; IPv6 entries too). Unset or empty allows every peer; an entry
 * that is not an address is logged and skipped, so a typo refuses rather
 * than opens. */
static void load_web_server_addrs(void)
{
    const char *env = getenv("FCGI_WEB_SERVER_ADDRS");
    if (env == NULL || *env == '\0')
        return;
    n_allowed = 0;
    const char *p = env;
    while (*p) {
        char item[INET6_ADDRSTRLEN + 8];
        size_t len = strcspn(p, ",");
        const char *start = p;
        p += len;
        if (*p == ',')
            p++;
        while (len > 0 && (*start == ' ' || *start == '\t')) {
            start++;
            len--;
        }
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        if (len >= sizeof item || n_allowed == CF_SERVER_MAX_ADDRS) {
            cf_log_warn("CF0503", "FCGI_WEB_SERVER_ADDRS: ignoring '%.*s'", (int)len, start);
            continue;
        }
        memcpy(item, start, len);
        item[len] = '\0';
        cf_peer_addr *a = &allowed[n_allowed];
        if (inet_pton(AF_INET, item, a->bytes) == 1)
            a->family = AF_INET;
        else if (inet_pton(AF_INET6, item, a->bytes) == 1)
            a->family = AF_INET6;
        else {
            cf_log_warn("CF0503", "FCGI_WEB_SERVER_ADDRS: '%s' is not an address, ignored", item);
            continue;
        }
        n_allowed++;
    }
    cf_log_info("CF0504", "FCGI_WEB_SERVER_ADDRS: TCP connections only from %s", env);
}

/* 1 when the peer of a new connection may talk to us: unix sockets always
 * (the socket's mode is their access control), IP peers when
 * FCGI_WEB_SERVER_ADDRS is unset or lists them. An IPv4-mapped IPv6 peer
 * counts as its IPv4 address. */
static int peer_allowed(const struct sockaddr_storage *sa)
{
    if (n_allowed < 0)
        return 1;
    int family;
    const unsigned char *bytes;
    if (sa->ss_family == AF_INET) {
        family = AF_INET;
        bytes = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            family = AF_INET;
            bytes = a6->s6_addr + 12;
        } else {
            family = AF_INET6;
            bytes = a6->s6_addr;
        }
    } else {
        return 1;
    }
    size_t len = family == AF_INET ? 4 : 16;
    for (int i = 0; i < n_allowed; i++)
        if (allowed[i].family == family && memcmp(allowed[i].bytes, bytes, len) == 0)
            return 1;
    return 0;
}

/* Puts fd (back) into the shared set, armed for one event. A connection
 * the set has seen before is only re-armed; a new one is added. */
/* The event's data: the fd, and above it whether the connection has
 * served a request already (then it is FastCGI, not a browser). */
#define CF_SERVED ((uint64_t)1 << 32)

static int watch_fd(int fd, uint32_t events, uint64_t served)
{
    struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.u64 = (uint32_t)fd | served};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    if (errno == ENOENT && epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0;
    return -1;
}

static void watch_connection(int fd, uint64_t served)
{
    if (watch_fd(fd, EPOLLIN | EPOLLRDHUP, served) != 0) {
        cf_log_error("CF0505", "cannot watch a FastCGI connection: %s", strerror(errno));
        close(fd);
    }
}

/* Answers the next request on connection fd with this thread's request
 * struct, then gives a kept connection back to the set; libfcgi closes any
 * other (and any that sent EOF or garbage instead of a request). */
/* The end of a request: what it holds, its FastCGI end, and a kept
 * connection back into the set. */
static void finish_request(cf_request *req)
{
    FCGX_Request *fcgx = req->fcgx;
    cf_request_cleanup(req);
    FCGX_Finish_r(fcgx);
    __atomic_sub_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
    /* Finish_r left ipcFd open only when the web server asked for
     * FCGI_KEEP_CONN and the connection had no error. */
    int kept = fcgx->ipcFd;
    fcgx->ipcFd = -1;
    if (kept >= 0)
        watch_connection(kept, CF_SERVED);
}

/* *taken says whether a handler kept fcgx for a request it answers later
 * (cf_server_detach): the thread then needs another one. */
static void serve_connection(const cf_server_config *cfg, FCGX_Request *fcgx, int fd,
                             uint64_t served, int *taken)
{
    if (!served && cf_plain_http_detect(fd)) {
        cf_plain_http_answer(fd); /* curl at the FastCGI port: a 400 page saying so */
        return;
    }
    int more = cf_mgmt_answer(fd, cfg->threads);
    if (more <= 0) {
        /* Only management records (answered), or EOF/error. */
        if (more == 0)
            watch_connection(fd, served);
        else
            close(fd);
        return;
    }
    fcgx->ipcFd = fd;
    fcgx->keepConnection = 1;
    if (FCGX_Accept_r(fcgx) < 0) {
        /* libfcgi closed it and then failed to accept on our -1 socket. */
        if (fcgx->ipcFd >= 0)
            close(fcgx->ipcFd);
        fcgx->ipcFd = -1;
        return;
    }
    __atomic_add_fetch(&active_requests, 1, __ATOMIC_SEQ_CST);
    cf_request req;
    cf_error err;
    cf_error_clear(&err);
    if (cf_request_load(&req, fcgx, cfg->app->max_body, &err) == CF_OK)
        cf_route_request(cfg->app, &req);
    else
        cf_respond_detail(&req, 500, err.msg);
    if (req.detached) {
        *taken = 1; /* the handler's copy of req has fcgx now */
        return;
    }
    finish_request(&req);
}

cf_request *cf_server_detach(cf_request *req)
{
    cf_request *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return NULL;
    *copy = *req;
    req->detached = 1;
    return copy;
}

void cf_server_finish_detached(cf_request *req)
{
    FCGX_Request *fcgx = req->fcgx;
    finish_request(req);
    FCGX_Free(fcgx, 0);
    free(fcgx);
    free(req);
}

/* Takes one connection from the listening socket and re-arms it for the
 * other threads. Returns the connection, or -1 when there was none (taken
 * by another process, refused, or accepting has ended). */
static void prepare_connection(int fd, const struct sockaddr_storage *sa)
{
    int one = 1;
    if (sa->ss_family == AF_INET || sa->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval stall = {CF_SERVER_STALL_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &stall, sizeof stall);
}

static int take_connection(int listen_fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
    int saved = errno;
    if (fd < 0 && __atomic_load_n(&listening, __ATOMIC_SEQ_CST)) {
        switch (saved) {
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM: {
            /* Out of fds: leave the connection queued and retry shortly
             * rather than spin. */
            cf_log_error("CF0506", "accept: %s", strerror(saved));
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            break;
        }
        case EAGAIN:
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ECONNRESET:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case ENETUNREACH:
            break;
        default:
            cf_log_info("CF0502", "accept ended: %s", strerror(saved));
            __atomic_store_n(&listening, 0, __ATOMIC_SEQ_CST);
            return -1;
        }
    }
    if (__atomic_load_n(&listening, __ATOMIC_SEQ_CST) && watch_fd(listen_fd, EPOLLIN, 0) != 0)
        cf_log_error("CF0507", "cannot watch the listening socket: %s", strerror(errno));
    if (fd < 0)
        return -1;
    if (!peer_allowed(&sa)) {
        close(fd);
        return -1;
    }
    prepare_connection(fd, &sa);
    return fd;
}

/* 1 when fd has something to read right now (without waiting). */
static int readable_now(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
}

/* A request struct for this thread; NULL when out of memory. */
static FCGX_Request *new_request(void)
{
    FCGX_Request *fcgx = malloc(sizeof *fcgx);
    /* No listening socket: see the comment at the top. */
    if (fcgx == NULL || FCGX_InitRequest(fcgx, -1, 0) != 0) {
        free(fcgx);
        cf_log_error("CF0501", "cannot initialise a FastCGI request");
        return NULL;
    }
    return fcgx;
}

static void *connection_main(void *arg)
{
    pthread_setname_np(pthread_self(), "cf-conn"); /* top -H, ps -L */
    const cf_server_config *cfg = arg;
    cf_runner *runner = cfg->app->runner;
    int carry_fd = runner ? cf_runner_carry_fd(runner) : -1;
    cf_runner_be_carrier();
    FCGX_Request *fcgx = new_request();
    if (fcgx == NULL)
        return NULL;
    for (;;) {
        struct epoll_event ev;
        int n = epoll_wait(epoll_fd, &ev, 1, -1);
        if (n < 0 && errno != EINTR) {
            cf_log_error("CF0508", "epoll_wait: %s", strerror(errno));
            break;
        }
        if (n <= 0)
            continue;
        int fd = (int)(uint32_t)ev.data.u64, taken = 0;
        if (fd == carry_fd) {
            cf_prediction *p = cf_runner_carry_take(runner);
            /* re-armed after the take: the next one is another thread's */
            if (watch_fd(carry_fd, EPOLLIN, 0) != 0)
                cf_log_error("CF0510", "cannot watch parked requests: %s", strerror(errno));
            cf_runner_carry_pending(runner, p);
            continue;
        }
        if (fd != cfg->listen_fd) {
            serve_connection(cfg, fcgx, fd, ev.data.u64 & CF_SERVED, &taken);
        } else if ((fd = take_connection(cfg->listen_fd)) >= 0) {
            /* A web server sends its request right after connecting; one
             * that has not yet waits in the set like an idle kept one. */
            if (readable_now(fd))
                serve_connection(cfg, fcgx, fd, 0, &taken);
            else
                watch_connection(fd, 0);
        }
        /* what this thread's own run handed to it (runner_carry.c) */
        if (runner)
            cf_runner_carry_pending(runner, NULL);
        while (taken && (fcgx = new_request()) == NULL) {
            struct timespec ts = {0, 100 * 1000 * 1000}; /* out of memory: wait for some */
            nanosleep(&ts, NULL);
        }
    }
    FCGX_Free(fcgx, 1);
    free(fcgx);
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
    load_web_server_addrs();
    cf_plain_http_init(cfg->listen_fd);
    /* Non-blocking: when another process sharing the socket (spawn-fcgi
     * -F) takes the connection first, accept says EAGAIN instead of
     * blocking a thread. */
    int fl = fcntl(cfg->listen_fd, F_GETFL);
    if (fl < 0 || fcntl(cfg->listen_fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return cf_error_set(err, CF_EIO, "cannot make the listening socket non-blocking: %s",
                            strerror(errno));
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0)
        return cf_error_set(err, CF_EIO, "epoll_create1: %s", strerror(errno));
    __atomic_store_n(&listening, 1, __ATOMIC_SEQ_CST);
    if (watch_fd(cfg->listen_fd, EPOLLIN, 0) != 0)
        return cf_error_set(err, CF_EIO, "cannot watch the listening socket: %s",
                            strerror(errno));
    if (cfg->app->runner && watch_fd(cf_runner_carry_fd(cfg->app->runner), EPOLLIN, 0) != 0)
        return cf_error_set(err, CF_EIO, "cannot watch parked requests: %s", strerror(errno));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* Handlers are shallow; a small stack keeps many threads cheap. */
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < cfg->threads; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, connection_main, (void *)cfg) != 0) {
            pthread_attr_destroy(&attr);
            return cf_error_set(err, CF_EIO, "cannot start connection thread %d", i);
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
    /* Out of the set first, so no thread is woken for it again; then
     * shutdown() refuses what waits in the backlog, as before. Kept
     * connections are still answered until the process exits. */
    __atomic_store_n(&listening, 0, __ATOMIC_SEQ_CST);
    if (epoll_fd >= 0)
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, cfg->listen_fd, NULL);
    /* Connections the web server already made wait in the backlog: take
     * them and let the threads answer them, instead of resetting them with
     * the shutdown() below (a 502 during a graceful stop). */
    int flags = fcntl(cfg->listen_fd, F_GETFL);
    if (flags >= 0 && epoll_fd >= 0 && fcntl(cfg->listen_fd, F_SETFL, flags | O_NONBLOCK) == 0) {
        for (;;) {
            struct sockaddr_storage sa;
            socklen_t len = sizeof sa;
            int fd = accept4(cfg->listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
            if (fd < 0)
                break;
            if (!peer_allowed(&sa)) {
                close(fd);
                continue;
            }
            prepare_connection(fd, &sa);
            watch_connection(fd, 0);
        }
    }
    shutdown(cfg->listen_fd, SHUT_RDWR);
}
