/* handlers.h - the handler of each route. Each answers the request fully. */
#ifndef CF_HANDLERS_H
#define CF_HANDLERS_H

#include "app.h"
#include "http.h"

void cf_handle_index(cf_app *app, cf_request *req);
void cf_handle_health(cf_app *app, cf_request *req);
void cf_handle_openapi(cf_app *app, cf_request *req);
void cf_handle_shutdown(cf_app *app, cf_request *req);
/* POST /predictions (put_id NULL) and PUT /predictions/{id}; trainings too. */
void cf_handle_predict(cf_app *app, cf_request *req, int training, const char *put_id);
void cf_handle_get(cf_app *app, cf_request *req, const char *id);
void cf_handle_cancel(cf_app *app, cf_request *req, const char *id);

#endif
