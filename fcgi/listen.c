/* listen.c - creating the listening socket nginx or Apache connect to. */
#include "listen.h"

#include <ctype.h>
#include <limits.h>

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

#include "log.h"

/* Creates the directory the socket goes in (and its parents) when missing, mode 0755, so
 * that `--listen unix:/run/cog-fcgi/cog.sock` works on a fresh host. */
static int make_socket_dir(const char *path, cf_error *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return CF_OK;
    *slash = '\0';
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? CF_OK
                                   : cf_error_set(err, CF_EINVAL, "%s is not a directory: the "
                                                  "socket %s cannot go there", dir, path);
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            return cf_error_set(err, CF_EIO, "cannot create the socket's directory %s: %s (create "
                                "it as root: install -d -m 0755 -o $(id -un) %s; or listen "
                                "elsewhere, e.g. --listen unix:/tmp/cog-fcgi.sock)",
                                dir, strerror(e), dir);
        }
        if (c == '\0')
            break;
        *p = c;
    }
    cf_log_info("CF0015", "created the socket's directory %s", dir);
    return CF_OK;
}

static int open_unix(const cf_listen_opts *opts, const char *path, cf_error *err)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path)
        return cf_error_set(err, CF_EINVAL, "socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    if (make_socket_dir(path, err) != CF_OK)
        return err->code;
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

/* ------------------------------------------------------------------ */
/* The start-up line, and whether the web server can open the socket   */

/* The user nginx or Apache runs its workers as: the `user` line of /etc/nginx/nginx.conf
 * when there is one, else the first of www-data (Debian's nginx and Apache), nginx, apache,
 * nobody that exists. Fills name and origin ("as /etc/nginx/nginx.conf says"); NULL if none. */
static struct passwd *web_server_user(char *name, size_t len, const char **origin)
{
    /* COG_FCGI_WEB_USER names it outright (empty: no check), for a web server that runs as
     * another user than the system nginx's (make demo's, a container's). */
    const char *env = getenv("COG_FCGI_WEB_USER");
    if (env != NULL) {
        struct passwd *pw = *env ? getpwnam(env) : NULL;
        if (pw) {
            snprintf(name, len, "%s", env);
            *origin = "COG_FCGI_WEB_USER";
        }
        return pw;
    }
    FILE *f = fopen("/etc/nginx/nginx.conf", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        char user[128];
        if (strncmp(p, "user", 4) == 0 && isspace((unsigned char)p[4]) &&
            sscanf(p + 4, " %127[^; \t\n]", user) == 1) {
            fclose(f);
            struct passwd *pw = getpwnam(user);
            if (pw) {
                snprintf(name, len, "%s", user);
                *origin = "the user /etc/nginx/nginx.conf names";
                return pw;
            }
            f = NULL;
            break;
        }
    }
    if (f)
        fclose(f);
    static const char *const users[] = {"www-data", "nginx", "apache", "nobody"};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        struct passwd *pw = getpwnam(users[i]);
        if (pw) {
            snprintf(name, len, "%s", users[i]);
            *origin = i == 0 ? "the user nginx and Apache run as on Debian"
                             : "the user web servers commonly run as here";
            return pw;
        }
    }
    return NULL;
}

/* 1 when a process with uid and groups may do what `want` (a mode bit for others: 1 = x,
 * 2 = w) to st. */
static int permits(const struct stat *st, uid_t uid, const gid_t *groups, int ngroups, mode_t want)
{
    if (uid == 0)
        return 1;
    if (st->st_uid == uid)
        return ((st->st_mode >> 6) & want) == want;
    for (int i = 0; i < ngroups; i++)
        if (groups[i] == st->st_gid)
            return ((st->st_mode >> 3) & want) == want;
    return (st->st_mode & want) == want;
}

/* Why the web server's user cannot connect to the socket at path, in why; 0 when it can. */
static int unreachable(const char *path, const struct passwd *pw, char *why, size_t len)
{
    gid_t groups[64];
    int ngroups = 64;
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
        ngroups = 64;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    struct stat st;
    /* every directory on the way needs search (x) permission */
    for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (stat(dir, &st) == 0 && !permits(&st, pw->pw_uid, groups, ngroups, 1)) {
            snprintf(why, len, "the directory %s (mode %04o) does not let it through: chmod o+x "
                     "%s, or put the socket elsewhere (e.g. /run/cog-fcgi/cog.sock)", dir,
                     (unsigned)(st.st_mode & 07777), dir);
            return 1;
        }
        *p = '/';
    }
    if (stat(path, &st) == 0 && !permits(&st, pw->pw_uid, groups, ngroups, 2)) {
        struct group *gr = getgrgid(pw->pw_gid);
        snprintf(why, len, "the socket is not writable by it: give --socket-group %s "
                 "--socket-mode 0660", gr ? gr->gr_name : pw->pw_name);
        return 1;
    }
    return 0;
}

void cf_listen_report(const cf_listen_opts *opts, int fd, const char *project)
{
    const char *path = NULL;
    if (opts->address && strncmp(opts->address, "unix:", 5) == 0)
        path = opts->address + 5;
    else if (opts->address && opts->address[0] == '/')
        path = opts->address;
    if (opts->address == NULL) {
        int type = 0;
        socklen_t len = sizeof type;
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
        cf_log_info("CF0004", "serving %s over FastCGI on the socket inherited as fd %d "
                    "(from the spawner or systemd; not HTTP: a web server connects to it)",
                    project, fd);
        return;
    }
    if (path == NULL) {
        cf_log_info("CF0004", "serving %s over FastCGI on %s (TCP; not HTTP: point nginx's "
                    "fastcgi_pass at it)", project, opts->address);
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        cf_log_info("CF0004", "serving %s over FastCGI on unix:%s", project, path);
        return;
    }
    struct passwd *owner = getpwuid(st.st_uid);
    struct group *group = getgrgid(st.st_gid);
    char owner_name[64], group_name[64];
    snprintf(owner_name, sizeof owner_name, "%s", owner ? owner->pw_name : "?");
    snprintf(group_name, sizeof group_name, "%s", group ? group->gr_name : "?");
    cf_log_info("CF0004", "serving %s over FastCGI on unix:%s (owner %s, group %s, mode %04o)",
                project, path, owner_name, group_name, (unsigned)(st.st_mode & 07777));
    char user[128], why[3 * PATH_MAX];
    const char *origin = "";
    struct passwd *pw = web_server_user(user, sizeof user, &origin);
    if (pw == NULL || !unreachable(path, pw, why, sizeof why))
        return;
    struct group *wg = getgrgid(pw->pw_gid);
    cf_log_warn("CF0016", "nginx or Apache running as %s (group %s: %s) cannot open unix:%s: "
                "%s. Until then they answer 502 (nginx's log: connect() ... (13: Permission "
                "denied))", user, wg ? wg->gr_name : "?", origin, path, why);
}
