/* server.h - the FastCGI accept threads and the signal thread. */
#ifndef CF_SERVER_H
#define CF_SERVER_H

#include "app.h"
#include "error.h"

typedef struct cf_server_config {
    int listen_fd;
    int threads;
    cf_app *app;
} cf_server_config;

/* Blocks async signals (call before any thread starts). */
void cf_server_block_signals(void);
/* Starts the accept threads; they serve until cf_server_stop_accepting. */
int cf_server_start(const cf_server_config *cfg, cf_error *err);
/* Waits for SIGTERM, SIGINT, SIGQUIT, SIGHUP or SIGUSR1 and returns it. */
int cf_server_wait_signal(void);
/* Waits up to seconds for the requests being answered to finish. 1 if
 * they all did. */
int cf_server_wait_idle(double seconds);
/* Makes the accept threads stop taking new connections. */
void cf_server_stop_accepting(const cf_server_config *cfg);
/* Asks cf_server_run to return (safe from any thread). */
void cf_server_request_shutdown(void);

#endif
