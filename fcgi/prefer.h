/* prefer.h - reading the Prefer and Cancel-After request headers. */
#ifndef CF_PREFER_H
#define CF_PREFER_H

/* 1 when an RFC 7240 Prefer header value asks for respond-async (any case,
 * among other preferences and parameters), else 0. NULL gives 0. */
int cf_prefer_respond_async(const char *prefer);

/* 1 when the Prefer header asks to wait (Replicate's "wait" or "wait=N"):
 * *seconds receives N, or 60 when no number is given. Else 0. */
int cf_prefer_wait(const char *prefer, double *seconds);

/* Parses a duration such as "30s", "5m", "1h30m", "250ms" or "2.5" (seconds)
 * into seconds. Returns 0 on success, CF_EINVAL if malformed. */
int cf_parse_duration(const char *text, double *seconds);

#endif
