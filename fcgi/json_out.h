/* json_out.h - compact JSON text as Cog's server writes it. */
#ifndef CF_JSON_OUT_H
#define CF_JSON_OUT_H

#include <jansson.h>

/* Serialises v compactly (no spaces, object keys in insertion order, UTF-8
 * kept as is) with floats as Python's repr writes them: 0.1, not jansson's
 * 0.10000000000000001, and 1.0 for a whole float. Returns a malloc'd string
 * or NULL when out of memory. */
char *cf_json_dumps(const json_t *v);

#endif
