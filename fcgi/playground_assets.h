/* playground_assets.h - the playground's files, built into the binary.
 *
 * The table itself is generated from web/playground/ by scripts/embed-assets.py
 * (build/gen/playground_assets.c): nothing is read from disk at run time.
 */
#ifndef CF_PLAYGROUND_ASSETS_H
#define CF_PLAYGROUND_ASSETS_H

#include <stddef.h>

typedef struct cf_asset {
    const char *name;  /* file name under web/playground/, e.g. "app.js" */
    const char *type;  /* Content-Type */
    const char *data;  /* the bytes (NUL-terminated, len excludes it) */
    size_t len;
} cf_asset;

extern const cf_asset cf_playground_assets[];
extern const size_t cf_playground_asset_count;

#endif
