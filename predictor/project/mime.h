/* mime.h - file name <-> MIME type, as Python's mimetypes answers on Debian. */
#ifndef CF_MIME_H
#define CF_MIME_H

/* The type Cog gives an output file of this name or path: Python's
 * mimetypes.guess_type(filename)[0] on a Debian image with /etc/mime.types
 * (plus Cog's image/webp), for the common extensions in the table. Unknown or
 * missing extensions give "application/octet-stream" (COG-API.md section 16:
 * Cog says "None"). Never NULL; the string is static. */
const char *cf_mime_from_name(const char *filename);

/* Like cf_mime_from_name but NULL when the type is unknown. */
const char *cf_mime_guess(const char *filename);

/* The extension Python's mimetypes.guess_extension(mime) gives, with its dot
 * (".txt" for "text/plain", ".jpg" for "image/jpeg"), or NULL if unknown.
 * mime may carry parameters ("text/plain;charset=utf-8") and any case.
 * Used to name files decoded from data URIs: "file" + extension. Static. */
const char *cf_ext_from_mime(const char *mime);

#endif
