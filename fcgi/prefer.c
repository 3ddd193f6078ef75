/* prefer.c - RFC 7240 Prefer parsing and Cancel-After durations. */
#include "prefer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

/* The next preference's token (token [= value] *( ; param ) up to a comma):
 * its start, or NULL at the end; *len its length, *cursor just after it. */
static const char *pref_token(const char **cursor, size_t *len)
{
    const char *p = *cursor;
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (*p == '\0')
        return NULL;
    const char *start = p;
    while (*p && *p != ',' && *p != ';' && *p != '=' && *p != ' ' && *p != '\t')
        p++;
    *len = (size_t)(p - start);
    *cursor = p;
    return start;
}

/* Skips the rest of a preference (its value and parameters), minding quoted strings. */
static const char *pref_skip(const char *p)
{
    int quoted = 0;
    while (*p && (quoted || *p != ',')) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '\\' && quoted && p[1])
            p++;
        p++;
    }
    return p;
}

int cf_prefer_respond_async(const char *prefer)
{
    const char *p = prefer, *tok;
    size_t len;
    while (p && (tok = pref_token(&p, &len)) != NULL) {
        if (len == 13 && strncasecmp(tok, "respond-async", 13) == 0)
            return 1;
        p = pref_skip(p);
    }
    return 0;
}

int cf_parse_duration(const char *text, double *seconds)
{
    if (text == NULL)
        return CF_EINVAL;
    while (isspace((unsigned char)*text))
        text++;
    if (*text == '\0')
        return CF_EINVAL;
    double total = 0;
    const char *p = text;
    while (*p && !isspace((unsigned char)*p)) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0)
            return CF_EINVAL;
        p = end;
        double unit = 1;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 0.001;
            p += 2;
        } else if (*p == 's') {
            p++;
        } else if (*p == 'm') {
            unit = 60;
            p++;
        } else if (*p == 'h') {
            unit = 3600;
            p++;
        } else if (*p != '\0' && !isspace((unsigned char)*p)) {
            return CF_EINVAL;
        }
        total += v * unit;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '\0')
        return CF_EINVAL;
    *seconds = total;
    return CF_OK;
}

int cf_prefer_wait(const char *prefer, double *seconds)
{
    const char *p = prefer, *tok;
    size_t len;
    while (p && (tok = pref_token(&p, &len)) != NULL) {
        if (len == 4 && strncasecmp(tok, "wait", 4) == 0) {
            while (*p == ' ' || *p == '\t')
                p++;
            *seconds = 60; /* Replicate's default */
            if (*p == '=') {
                p++;
                while (*p == ' ' || *p == '\t' || *p == '"')
                    p++;
                char *end;
                double v = strtod(p, &end);
                if (end != p && v >= 0)
                    *seconds = v;
            }
            return 1;
        }
        p = pref_skip(p);
    }
    return 0;
}
