/* server.h - the FastCGI connection threads and the signal thread. */
#ifndef CF_SERVER_H
#define CF_SERVER_H

#include "app.h"
#include "error.h"
#include "http.h"

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
/* Moves req, being answered on this connection thread, to the heap, for a
 * handler that answers it later from any thread (a parked prediction):
 * the copy owns the request and its FastCGI struct, req is marked
 * detached. NULL when out of memory (req is unchanged). */
cf_request *cf_server_detach(cf_request *req);
/* Ends a detached request (after its answer was written, or with none):
 * releases it, keeps its connection if the web server asked to, and frees
 * the copy. */
void cf_server_finish_detached(cf_request *req);
/* Asks cf_server_run to return (safe from any thread). */
void cf_server_request_shutdown(void);

#endif
