/* datauri.h - RFC 2397 data: URIs, decoded the way Python's urllib does for Cog. */
#ifndef CF_DATAURI_H
#define CF_DATAURI_H

#include <stddef.h>

#include "error.h"

/* Decodes a data: URI (scheme in any case) as urllib.request.urlopen does:
 * the payload after the first ',' (a "#..." included) is
 * percent-decoded, then base64-decoded when the media type ends in
 * ";base64" (leniently, like base64.decodebytes: characters outside the
 * alphabet are skipped, data after the padding is ignored, a missing pad is
 * an error).
 * On success returns 0 with *mime_out = the bare lowercased type/subtype
 * ("text/plain" when absent or malformed, as email's get_content_type()
 * gives), *data_out = the bytes (NUL-terminated for convenience, not counted
 * in *len_out); the caller frees both. mime_out may be NULL.
 * Returns CF_EINVAL with err set for a malformed URI, CF_ENOMEM. */
int cf_datauri_decode(const char *uri, char **mime_out, unsigned char **data_out, size_t *len_out,
                      cf_error *err);

/* Returns a malloc'd "data:<mime>;base64,<...>" (caller frees), or NULL when
 * out of memory. mime NULL means "application/octet-stream". */
char *cf_datauri_encode(const char *mime, const unsigned char *data, size_t len);

/* Standard base64 of len bytes into a malloc'd NUL-terminated string. */
char *cf_base64_encode(const unsigned char *data, size_t len);

#endif
