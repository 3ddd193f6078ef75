/* opt_parse.h - strict parsing of the command line's numbers, durations and sizes.
 *
 * Each function takes the option's name (for the message, e.g. "--queue"),
 * the text, and the bounds; it returns 0 and stores the value, or CF_EINVAL
 * with a message naming the option, what was expected and what was given,
 * e.g. `--queue: expected a whole number from 0 to 1000000, got "x"`.
 * Nothing is skipped: no leading blanks, no sign unless allowed, no trailing
 * text, no hex, no "inf"/"nan", and a value out of range is an error, never
 * clamped.
 */
#ifndef CF_OPT_PARSE_H
#define CF_OPT_PARSE_H

#include <stddef.h>

#include "error.h"

/* A decimal integer in [min, max] ("-" allowed only when min < 0). */
int cf_opt_long(const char *opt, const char *text, long min, long max, long *out, cf_error *err);

/* A duration in seconds in [min, max]: a decimal number ("30", "0.5", ".5")
 * with an optional unit: ms, s, m (minutes), h. */
int cf_opt_seconds(const char *opt, const char *text, double min, double max, double *out,
                   cf_error *err);

/* A size in bytes: a decimal number ("100", "1.5") with an optional binary
 * unit k, M, G, T (either case; "KB", "KiB", "MB", "MiB" ... also read so),
 * or B. The result is a whole number of bytes at most max. */
int cf_opt_size(const char *opt, const char *text, size_t max, size_t *out, cf_error *err);

/* File permission bits in octal, 0 to 07777 ("0660", "660"). */
int cf_opt_mode(const char *opt, const char *text, unsigned *out, cf_error *err);

#endif
