/* sse.c - server-sent event framing and the headers streams read. */
#include "sse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cf_sse_accepts(const char *accept)
{
    if (accept == NULL)
        return 0;
    const char *p = accept;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - start);
        int match = len == 17 && strncasecmp(start, "text/event-stream", 17) == 0;
        double q = 1.0;
        /* parameters up to the next comma; only q matters */
        while (*p && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
                continue;
            }
            p++;
        }
        if (match && q > 0)
            return 1;
    }
    return 0;
}

long long cf_sse_last_event_id(const char *header)
{
    if (header == NULL)
        return -1;
    while (*header == ' ' || *header == '\t')
        header++;
    if (!isdigit((unsigned char)*header))
        return -1;
    char *end;
    long long v = strtoll(header, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    return *end == '\0' && v >= 0 ? v : -1;
}

char *cf_sse_format(const char *id, const char *name, const char *data, size_t data_len,
                    size_t *len)
{
    /* worst case: every byte a line break, each a "data: " line */
    size_t lines = 1;
    for (size_t i = 0; i < data_len; i++)
        if (data[i] == '\n' || data[i] == '\r')
            lines++;
    size_t cap = (id ? strlen(id) + 6 : 0) + strlen(name) + 9 + data_len + lines * 7 + 2;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t n = 0;
    if (id)
        n += (size_t)sprintf(buf + n, "id: %s\n", id);
    n += (size_t)sprintf(buf + n, "event: %s\n", name);
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < data_len && data[j] != '\n' && data[j] != '\r')
            j++;
        memcpy(buf + n, "data: ", 6);
        n += 6;
        memcpy(buf + n, data + i, j - i);
        n += j - i;
        buf[n++] = '\n';
        if (j >= data_len)
            break;
        if (data[j] == '\r' && j + 1 < data_len && data[j + 1] == '\n')
            j++;
        i = j + 1;
    }
    buf[n++] = '\n';
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Writes and flushes; -1 once the stream has an error (web server gone). */
static int put_flush(FCGX_Stream *out, const char *s, size_t len)
{
    if (FCGX_PutStr(s, (int)len, out) != (int)len)
        return -1;
    if (FCGX_FFlush(out) != 0 || FCGX_GetError(out) != 0)
        return -1;
    return 0;
}

int cf_sse_begin(FCGX_Stream *out, const char *extra_headers)
{
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "Status: 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n%s\r\n",
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    return put_flush(out, head, (size_t)n);
}

int cf_sse_send(FCGX_Stream *out, const char *id, const char *name, const char *data,
                size_t data_len)
{
    size_t len;
    char *text = cf_sse_format(id, name, data, data_len, &len);
    if (text == NULL)
        return -1;
    int rc = put_flush(out, text, len);
    free(text);
    return rc;
}

int cf_sse_comment(FCGX_Stream *out, const char *text)
{
    char line[256];
    int n = snprintf(line, sizeof line, ": %s\n\n", text);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    return put_flush(out, line, (size_t)n);
}

double cf_sse_keepalive_interval(void)
{
    const char *env = getenv("COG_FCGI_SSE_KEEPALIVE");
    if (env && *env) {
        double v = strtod(env, NULL);
        if (v > 0)
            return v;
    }
    return 15.0;
}
