/* listen.h - the FastCGI listening socket: unix path, TCP, or inherited fd 0. */
#ifndef CF_LISTEN_H
#define CF_LISTEN_H

#include <sys/types.h>

#include "error.h"

typedef struct cf_listen_opts {
    const char *address;  /* "unix:/path", "host:port", ":port", or NULL for fd 0 */
    mode_t socket_mode;   /* for unix sockets */
    const char *owner;    /* user name or NULL */
    const char *group;    /* group name or NULL */
} cf_listen_opts;

/* Returns the listening fd, or a negative code with err set. */
int cf_listen_open(const cf_listen_opts *opts, cf_error *err);
/* Logs the start-up line (CF0004): the project, "FastCGI", the address, and for a unix
 * socket its path, owner, group and mode; then warns (CF0016) when the user nginx/Apache
 * run as ($COG_FCGI_WEB_USER when set, empty for none; else nginx.conf's `user`, else
 * www-data, nginx, apache or nobody, whichever exists)
 * could not open the socket, naming its group and the fix. */
void cf_listen_report(const cf_listen_opts *opts, int fd, const char *project);
/* Removes a unix socket file created by cf_listen_open. */
void cf_listen_remove(const cf_listen_opts *opts);

#endif
