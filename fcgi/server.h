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
/* Serves until SIGTERM, SIGINT, SIGQUIT or POST /shutdown. Returns 0. */
int cf_server_run(const cf_server_config *cfg, cf_error *err);
/* Asks cf_server_run to return (safe from any thread). */
void cf_server_request_shutdown(void);

#endif
