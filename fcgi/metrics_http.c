/* metrics_http.c - GET /metrics through FastCGI, and the --metrics HOST:PORT listener. */
#include "metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"

#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The model label: the project directory's last name, as the runner's counters have it. */
static const char *model_name(const char *project)
{
    const char *slash = project ? strrchr(project, '/') : NULL;
    return slash && slash[1] ? slash + 1 : project ? project : "";
}

void cf_handle_metrics(cf_app *app, cf_request *req)
{
    size_t len = 0;
    char *text = app->metrics_fcgi ? cf_runner_metrics_text(app->runner, &len) : NULL;
    if (text && app->queue &&
        cf_queue_metrics_text(app->queue, model_name(app->project_dir), &text, &len) != CF_OK) {
        free(text);
        text = NULL;
    }
    if (text == NULL) {
        cf_respond_detail(req, 404, "Not Found");
        return;
    }
    cf_respond_raw(req, 200, PROM_TYPE, text, len, NULL);
    free(text);
}

struct listener {
    int fd;
    cf_runner *r;
};

/* Writes all of buf; gives up on an error (the scraper went away). */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

/* One connection: reads the request head (2 s at most), answers, closes. */
static void serve_one(int fd, cf_runner *r)
{
    char head[4096];
    size_t got = 0;
    while (got < sizeof head - 1 && strstr(head, "\r\n\r\n") == NULL) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 2000) <= 0)
            return;
        ssize_t n = recv(fd, head + got, sizeof head - 1 - got, 0);
        if (n <= 0)
            return;
        got += (size_t)n;
        head[got] = '\0';
    }
    size_t len = 0;
    char *text = NULL;
    int is_metrics = strncmp(head, "GET /metrics ", 13) == 0 ||
                     strncmp(head, "GET /metrics?", 13) == 0;
    if (is_metrics)
        text = cf_runner_metrics_text(r, &len);
    char hdr[256];
    if (text) {
        int h = snprintf(hdr, sizeof hdr, "HTTP/1.0 200 OK\r\nContent-Type: " PROM_TYPE
                         "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", len);
        write_all(fd, hdr, (size_t)h);
        write_all(fd, text, len);
        free(text);
    } else {
        const char *nf = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
                         "Content-Length: 10\r\nConnection: close\r\n\r\nNot Found\n";
        write_all(fd, nf, strlen(nf));
    }
}

static void *listener_main(void *arg)
{
    struct listener *l = arg;
    for (;;) {
        int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
                if (errno == EMFILE || errno == ENFILE)
                    usleep(100 * 1000);
                continue;
            }
            cf_log_error("CF0902", "metrics listener: accept failed: %s", strerror(errno));
            return NULL;
        }
        serve_one(c, l->r);
        close(c);
    }
}

int cf_metrics_listen(const char *hostport, cf_runner *r, cf_error *err)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || colon == hostport || colon[1] == '\0' ||
        (size_t)(colon - hostport) >= sizeof host)
        return cf_error_set(err, CF_EINVAL, "--metrics: expected off, on or HOST:PORT, got \"%s\"",
                            hostport);
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9100 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int e = getaddrinfo(host, colon + 1, &hints, &ai);
    if (e != 0)
        return cf_error_set(err, CF_EINVAL, "--metrics %s: %s", hostport, gai_strerror(e));
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return cf_error_set(err, CF_EIO, "--metrics %s: cannot listen: %s", hostport,
                            strerror(saved));
    }
    freeaddrinfo(ai);
    struct listener *l = malloc(sizeof *l);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (l == NULL || (*l = (struct listener){fd, r}, pthread_create(&t, &attr, listener_main, l)) != 0) {
        pthread_attr_destroy(&attr);
        free(l);
        close(fd);
        return cf_error_set(err, CF_EIO, "--metrics: cannot start the listener thread");
    }
    pthread_attr_destroy(&attr);
    cf_log_info("CF0903", "metrics on http://%s/metrics", hostport);
    return CF_OK;
}
