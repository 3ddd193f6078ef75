/* listen.c - creating the listening socket nginx or Apache connect to. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int open_unix(const cf_listen_opts *opts, const char *path, cf_error *err)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return cf_error_set(err, CF_EINVAL, "socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return cf_error_set(err, CF_EINVAL, "%s exists and is not a socket", path);
        unlink(path); /* a stale socket of an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cf_error_set(err, CF_EIO, "socket: %s", strerror(errno));
    /* Create it with no permissions for others, then chmod: no window where
     * the socket is more open than asked. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0) {
        int e = errno;
        close(fd);
        return cf_error_set(err, CF_EIO, "bind %s: %s", path, strerror(e));
    }
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    if (opts->owner) {
        struct passwd *pw = getpwnam(opts->owner);
        if (pw == NULL) {
            close(fd);
            return cf_error_set(err, CF_EINVAL, "unknown user %s for --socket-owner", opts->owner);
        }
        uid = pw->pw_uid;
    }
    if (opts->group) {
        struct group *gr = getgrnam(opts->group);
        if (gr == NULL) {
            close(fd);
            return cf_error_set(err, CF_EINVAL, "unknown group %s for --socket-group", opts->group);
        }
        gid = gr->gr_gid;
    }
    if ((opts->owner || opts->group) && chown(path, uid, gid) != 0) {
        int e = errno;
        close(fd);
        return cf_error_set(err, CF_EIO, "chown %s: %s", path, strerror(e));
    }
    if (chmod(path, opts->socket_mode) != 0) {
        int e = errno;
        close(fd);
        return cf_error_set(err, CF_EIO, "chmod %s: %s", path, strerror(e));
    }
    if (listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        return cf_error_set(err, CF_EIO, "listen %s: %s", path, strerror(e));
    }
    return fd;
}

static int open_tcp(const char *address, cf_error *err)
{
    char host[256];
    const char *colon = strrchr(address, ':');
    if (colon == NULL)
        return cf_error_set(err, CF_EINVAL, "--listen %s: expected unix:PATH or HOST:PORT", address);
    size_t hl = (size_t)(colon - address);
    if (hl >= sizeof host)
        return cf_error_set(err, CF_EINVAL, "--listen %s: host too long", address);
    memcpy(host, address, hl);
    host[hl] = '\0';
    /* [::1]:9000 */
    char *h = host;
    if (h[0] == '[' && hl > 1 && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int g = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
    if (g != 0)
        return cf_error_set(err, CF_EINVAL, "--listen %s: %s", address, gai_strerror(g));
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(res);
        return cf_error_set(err, CF_EIO, "socket: %s", strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        return cf_error_set(err, CF_EIO, "cannot listen on %s: %s", address, strerror(e));
    }
    freeaddrinfo(res);
    return fd;
}

/* systemd socket activation: LISTEN_PID is us and LISTEN_FDS >= 1 puts the
 * socket on fd 3. The variables are removed so the worker does not see them. */
static int systemd_socket(void)
{
    const char *pid = getenv("LISTEN_PID");
    const char *fds = getenv("LISTEN_FDS");
    if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() || atoi(fds) < 1)
        return -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    fcntl(3, F_SETFD, FD_CLOEXEC);
    return 3;
}

int cf_listen_open(const cf_listen_opts *opts, cf_error *err)
{
    int activated = systemd_socket();
    if (activated >= 0 && opts->address == NULL)
        return activated;
    if (opts->address == NULL) {
        int type;
        socklen_t len = sizeof type;
        if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
            return cf_error_set(err, CF_EINVAL,
                                "no --listen given and fd 0 is not a socket: start me from a "
                                "FastCGI spawner (spawn-fcgi, mod_fcgid) or pass --listen");
        return 0;
    }
    if (strncmp(opts->address, "unix:", 5) == 0)
        return open_unix(opts, opts->address + 5, err);
    if (opts->address[0] == '/')
        return open_unix(opts, opts->address, err);
    return open_tcp(opts->address, err);
}

void cf_listen_remove(const cf_listen_opts *opts)
{
    if (opts->address == NULL)
        return;
    if (strncmp(opts->address, "unix:", 5) == 0)
        unlink(opts->address + 5);
    else if (opts->address[0] == '/')
        unlink(opts->address);
}
