/* metrics_http.h - serving GET /metrics: through FastCGI, or on its own listener. */
#ifndef CF_METRICS_HTTP_H
#define CF_METRICS_HTTP_H

#include "app.h"
#include "error.h"
#include "http.h"

/* GET /metrics through the web server: the Prometheus text, or 404 when
 * metrics are off or served on their own listener (app->metrics_fcgi 0). */
void cf_handle_metrics(cf_app *app, cf_request *req);

/* --metrics HOST:PORT: a small HTTP/1.0 listener of its own, for a private
 * scrape network, answering GET /metrics (anything else: 404). Starts a
 * detached thread that lives as long as the process. 0, or CF_EINVAL /
 * CF_EIO with err. */
int cf_metrics_listen(const char *hostport, cf_runner *r, cf_error *err);

#endif
