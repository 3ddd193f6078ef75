/* server.h - the FastCGI connection threads and the signal thread. */
#ifndef CF_SERVER_H
#define CF_SERVER_H

#include "app.h"
#include "error.h"

typedef struct cf_server_config {
    int listen_fd;
    int threads; /* requests answered at once; idle connections hold none */
    cf_app *app;
} cf_server_config;

/* Blocks async signals (call before any thread starts). */
void cf_server_block_signals(void);
/* Starts the threads that accept connections and answer their requests,
 * applying FCGI_WEB_SERVER_ADDRS to TCP peers. Makes listen_fd
 * non-blocking. Kept (FCGI_KEEP_CONN) connections wait in an epoll set,
 * not on a thread, so any number of them can be open. */
int cf_server_start(const cf_server_config *cfg, cf_error *err);
/* Waits for SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGUSR1 and returns it. */
int cf_server_wait_signal(void);
/* Waits up to seconds for the requests being answered to finish. 1 if
 * they all did. */
int cf_server_wait_idle(double seconds);
/* Makes the threads stop taking new connections (kept ones are still
 * answered until the process exits). */
void cf_server_stop_accepting(const cf_server_config *cfg);
/* Asks cf_server_run to return (safe from any thread). */
void cf_server_request_shutdown(void);

#endif
