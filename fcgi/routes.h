/* routes.h - maps a request to its handler, Cog's routes and ours. */
#ifndef CF_ROUTES_H
#define CF_ROUTES_H

#include "app.h"
#include "http.h"

/* Answers req completely (every path, every error). */
void cf_route_request(cf_app *app, cf_request *req);

#endif
