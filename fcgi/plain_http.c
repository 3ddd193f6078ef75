/* plain_http.c - a plain HTTP request on the FastCGI port gets a 400 page that says what to do.
 *
 * The first thing a `docker run -p 5000:5000` user types is `curl localhost:5000/...`. A
 * FastCGI responder that reads those bytes as a record header sees garbage and hangs up:
 * "Empty reply from server", nothing in the log. A FastCGI record always starts with the
 * version byte 1, an HTTP request with a method in capitals, so one peek tells them apart.
 */
#include "plain_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static char pass_target[192] = "HOST:PORT";
static int hint_logged;

void cf_plain_http_init(int listen_fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getsockname(listen_fd, (struct sockaddr *)&sa, &len) != 0)
        return;
    char host[INET6_ADDRSTRLEN];
    if (sa.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&sa;
        if (len > offsetof(struct sockaddr_un, sun_path) && un->sun_path[0])
            snprintf(pass_target, sizeof pass_target, "unix:%s", un->sun_path);
    } else if (sa.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(pass_target, sizeof pass_target, "%s:%u",
                 in->sin_addr.s_addr == htonl(INADDR_ANY) ? "127.0.0.1" : host,
                 ntohs(in->sin_port));
    } else if (sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(pass_target, sizeof pass_target, "[%s]:%u",
                 IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ? "::1" : host, ntohs(in6->sin6_port));
    }
}

int cf_plain_http_detect(int fd)
{
    char head[8];
    ssize_t n = recv(fd, head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
    if (n < 2 || head[0] == 1)
        return 0;
    for (ssize_t i = 0; i < n; i++) {
        if (head[i] == ' ')
            return i > 0;
        if (head[i] < 'A' || head[i] > 'Z')
            return 0;
    }
    return 0;
}

void cf_plain_http_page(const char *pass, char *buf, size_t len)
{
    snprintf(buf, len,
             "This port speaks FastCGI, not HTTP.\n"
             "\n"
             "cog-fcgi answers web servers (nginx, Apache), not browsers or curl. Put nginx in\n"
             "front of it: in a server {} block of nginx's config,\n"
             "\n"
             "    location / {\n"
             "        include /etc/nginx/fastcgi_params;\n"
             "        fastcgi_pass %s;\n"
             "    }\n"
             "\n"
             "then send your requests to nginx's port. To try a model without a web server:\n"
             "cog-fcgi predict PROJECT_DIR -i name=value (or `make demo PROJECT=DIR` in the\n"
             "source tree, which starts nginx in front on http://127.0.0.1:8080).\n",
             pass);
}

void cf_plain_http_answer(int fd)
{
    char request[256] = "";
    char body[1024], head[256];
    ssize_t n = recv(fd, request, sizeof request - 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        request[strcspn(request, "\r\n")] = '\0';
    else
        request[0] = '\0';
    cf_plain_http_page(pass_target, body, sizeof body);
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.0 400 Bad Request\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %zu\r\n"
                      "Connection: close\r\n"
                      "\r\n", strlen(body));
    if (!__atomic_exchange_n(&hint_logged, 1, __ATOMIC_SEQ_CST))
        cf_log_warn("CF0509", "a plain HTTP request (\"%.100s\") came to the FastCGI port and got "
                    "400: this port speaks FastCGI. Put nginx in front (location / { include "
                    "/etc/nginx/fastcgi_params; fastcgi_pass %s; }) and send requests there "
                    "(said once)", request, pass_target);
    /* Read what the client sent (up to a point) before closing: closing a socket with
     * unread bytes resets it, and the client would see the reset, not the page. */
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl)
        send(fd, body, strlen(body), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 16; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            break;
        ssize_t r = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            break;
    }
    close(fd);
}
