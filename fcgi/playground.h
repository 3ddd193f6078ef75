/* playground.h - the model's page for browsers: GET / (when HTML is wanted), /docs, /playground/...
 *
 * The page, its script and styles are built into the binary (playground_assets.h).
 * Every URL in them is relative, so under a location prefix (/models/digits/) the
 * page, its assets and its API calls all stay under the prefix.
 */
#ifndef CF_PLAYGROUND_H
#define CF_PLAYGROUND_H

#include "app.h"
#include "http.h"

/* 1 when an Accept header prefers text/html to JSON (a browser's navigation);
 * 0 for NULL, "", "*" "/" "*", application/json, or a tie. */
int cf_playground_wants_page(const char *accept);

/* Answers the request with the page (index.html). */
void cf_playground_page(cf_app *app, cf_request *req);

/* For a path no Cog route matched: when it (or its suffix after a mount prefix) is
 * /docs or /playground/NAME, answers it fully and returns 1; otherwise writes nothing
 * and returns 0. With the playground off it always returns 0. */
int cf_playground_route(cf_app *app, cf_request *req);

#endif
