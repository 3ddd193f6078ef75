/* request_fields.c - check PredictionRequest's own fields (datetimes, webhook URL, events) as pydantic 1 does.
 *
 * Cog's PredictionRequest declares id, created_at, context,
 * output_file_prefix, webhook and webhook_events_filter beside input;
 * FastAPI reports their errors with pydantic 1's wording (COG-API.md
 * section 10). The value validators shared with the Input model live in
 * validate.c.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "request_fields.h"

#include <math.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* ---- datetimes (pydantic.datetime_parse) ---- */

static int cf_dt_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Howard Hinnant's civil_from_days: days since 1970-01-01 to y-m-d. */
static void cf_dt_civil(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* isoformat(); tz_min is the offset in minutes, or INT32_MIN for none. */
static int cf_dt_format(char *out, size_t outlen, int y, int mo, int d, int h, int mi, int s, int us,
                        int tz_min)
{
    char frac[16] = "";
    char tz[16] = "";
    if (us != 0) {
        snprintf(frac, sizeof(frac), ".%06d", us);
    }
    if (tz_min != INT32_MIN) {
        int a = abs(tz_min);
        snprintf(tz, sizeof(tz), "%c%02d:%02d", tz_min < 0 ? '-' : '+', a / 60, a % 60);
    }
    int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", y, mo, d, h, mi, s, frac, tz);
    return n < 0 || (size_t)n >= outlen ? CF_EINVAL : CF_OK;
}

/* from_unix_seconds: seconds, or milliseconds (and smaller units) when
 * larger than 2e10, as a UTC datetime. */
static int cf_dt_from_number(double seconds, char *out, size_t outlen)
{
    if (isnan(seconds)) {
        return CF_EINVAL;
    }
    if (seconds > 3e20) {
        return cf_dt_format(out, outlen, 9999, 12, 31, 23, 59, 59, 999999, INT32_MIN);
    }
    if (seconds < -3e20) {
        return cf_dt_format(out, outlen, 1, 1, 1, 0, 0, 0, 0, INT32_MIN);
    }
    while (fabs(seconds) > 2e10) {
        seconds /= 1000;
    }
    long long total_us = (long long)nearbyint(seconds * 1e6);
    long long day_us = 86400LL * 1000000LL;
    long long days = total_us / day_us;
    long long rem = total_us % day_us;
    if (rem < 0) {
        rem += day_us;
        days--;
    }
    int y, mo, d;
    cf_dt_civil(days, &y, &mo, &d);
    long long secs = rem / 1000000;
    return cf_dt_format(out, outlen, y, mo, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                        (int)(rem % 1000000), 0);
}

static int cf_dt_group(const char *s, const PCRE2_SIZE *ov, int g, char *buf, size_t n)
{
    if (ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] - ov[2 * g] >= n) {
        return 0;
    }
    size_t len = ov[2 * g + 1] - ov[2 * g];
    memcpy(buf, s + ov[2 * g], len);
    buf[len] = '\0';
    return 1;
}

/* pydantic 1's datetime_re, matched with re.match. */
static int cf_dt_from_iso(const char *s, size_t len, char *out, size_t outlen)
{
    static const char pattern[] = "(\\d{4})-(\\d{1,2})-(\\d{1,2})[T ](\\d{1,2}):(\\d{1,2})"
                                  "(?::(\\d{1,2})(?:\\.(\\d{1,6})\\d{0,6})?)?"
                                  "(Z|[+-]\\d{2}(?::?\\d{2})?)?$";
    int errcode;
    PCRE2_SIZE erroff;
    int rc = CF_EINVAL;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
    pcre2_match_data *md = re != NULL ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    if (md == NULL || pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED, md, NULL) < 0) {
        goto cleanup;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    char g[8][16];
    int v[7] = {0};
    for (int i = 0; i < 6; i++) {
        if (cf_dt_group(s, ov, i + 1, g[i], sizeof(g[i]))) {
            v[i] = atoi(g[i]);
        }
    }
    if (cf_dt_group(s, ov, 7, g[6], sizeof(g[6]))) {
        /* ljust(6, '0'): ".5" is 500000 microseconds */
        size_t n = strlen(g[6]);
        while (n < 6) {
            g[6][n++] = '0';
        }
        g[6][n] = '\0';
        v[6] = atoi(g[6]);
    }
    int tz = INT32_MIN;
    if (cf_dt_group(s, ov, 8, g[7], sizeof(g[7]))) {
        if (strcmp(g[7], "Z") == 0) {
            tz = 0;
        } else {
            size_t n = strlen(g[7]);
            int mins = n > 3 ? atoi(g[7] + n - 2) : 0;
            char hh[3] = {g[7][1], g[7][2], '\0'};
            tz = 60 * atoi(hh) + mins;
            if (g[7][0] == '-') {
                tz = -tz;
            }
            if (abs(tz) >= 24 * 60) {
                goto cleanup;
            }
        }
    }
    if (v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > cf_dt_days_in_month(v[0], v[1]) ||
        v[3] > 23 || v[4] > 59 || v[5] > 59) {
        goto cleanup;
    }
    rc = cf_dt_format(out, outlen, v[0], v[1], v[2], v[3], v[4], v[5], v[6], tz);

cleanup:
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

int cf_normalize_datetime(const char *in, char *out, size_t outlen)
{
    double d;
    if (in == NULL) {
        return CF_EINVAL;
    }
    size_t len = strlen(in);
    /* parse_datetime tries float(value) first: "1700000000" is a unix time. */
    if (cf_pylike_parse_float(in, len, &d) == 0) {
        return cf_dt_from_number(d, out, outlen);
    }
    return cf_dt_from_iso(in, len, out, outlen);
}

int cf_normalize_datetime_json(const json_t *value, char *out, size_t outlen)
{
    if (json_is_string(value)) {
        if (strlen(json_string_value(value)) != json_string_length(value)) {
            return CF_EINVAL;
        }
        return cf_normalize_datetime(json_string_value(value), out, outlen);
    }
    if (json_is_boolean(value)) {
        return cf_dt_from_number(json_is_true(value) ? 1.0 : 0.0, out, outlen);
    }
    if (json_is_number(value)) {
        return cf_dt_from_number(json_number_value(value), out, outlen);
    }
    return CF_EINVAL;
}

/* ---- URLs (pydantic AnyUrl, for webhook) ---- */

static int cf_url_fullmatch(const char *pattern, const char *s, size_t len, int *failed)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &errcode, &erroff, NULL);
    pcre2_match_data *md = re != NULL ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    int rc = -1;
    if (md == NULL) {
        *failed = 1;
    } else {
        rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL);
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

/* The domain checks of AnyUrl.validate_host: ASCII labels, else
 * international ones. */
static int cf_url_domain_ok(const char *host, size_t len, int *failed)
{
    static const char ascii_re[] = "(?:[_0-9a-z](?:[-_0-9a-z]{0,61}[_0-9a-z])?\\.)*?"
                                   "[_0-9a-z](?:[-_0-9a-z]{0,61}[_0-9a-z])?(?:\\.[a-z]{2,63})?\\.?";
    static const char int_re[] =
        "(?:[_0-9a-\\x{40000}](?:[-_0-9a-\\x{40000}]{0,61}[_0-9a-\\x{40000}])?\\.)*?"
        "[_0-9a-\\x{40000}](?:[-_0-9a-\\x{40000}]{0,61}[_0-9a-\\x{40000}])?"
        "(?:(?:\\.[^\\W\\d_]{2,63})|(?:\\.(?:xn--)[_0-9a-z-]{2,63}))?\\.?";
    return cf_url_fullmatch(ascii_re, host, len, failed) || cf_url_fullmatch(int_re, host, len, failed);
}

/* AnyUrl.validate for webhook; appends at most one error. */
static void cf_v_url(cf_vctx *c, const json_t *value, const json_t *loc)
{
    static const char url_re[] =
        "(?:([a-z][a-z0-9+\\-.]+)://)?"
        "(?:([^\\s:/]*)(?::([^\\s/]*))?@)?"
        "(?:((?:\\d{1,3}\\.){3}\\d{1,3})(?=$|[/:#?])|(\\[[A-F0-9]*:[A-F0-9:]+\\])(?=$|[/:#?])|([^\\s/:?#]+))?"
        "(?::(\\d+))?"
        "(/[^\\s?#]*)?"
        "(?:\\?([^\\s#]*))?"
        "(?:#([^\\s#]*))?";
    json_t *str = cf_v_str(c, value, loc);
    pcre2_code *re = NULL;
    pcre2_match_data *md = NULL;
    if (str == NULL) {
        return;
    }
    const char *s = json_string_value(str);
    size_t len = json_string_length(str);
    cf_pylike_strip(&s, &len);
    size_t chars = cf_utf8_chars(s, len);
    if (chars < 1) {
        cf_v_error(c, loc, "ensure this value has at least 1 characters", "value_error.any_str.min_length",
                   json_pack("{s:i}", "limit_value", 1));
        goto cleanup;
    }
    if (chars > 65536) {
        cf_v_error(c, loc, "ensure this value has at most 65536 characters", "value_error.any_str.max_length",
                   json_pack("{s:i}", "limit_value", 65536));
        goto cleanup;
    }
    int errcode;
    PCRE2_SIZE erroff;
    re = pcre2_compile((PCRE2_SPTR)url_re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS,
                       &errcode, &erroff, NULL);
    md = re != NULL ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    if (md == NULL || pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED, md, NULL) < 0) {
        cf_v_oom(c); /* the pattern matches any text: only memory can fail */
        goto cleanup;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (ov[2] == PCRE2_UNSET) {
        cf_v_error(c, loc, "invalid or missing URL scheme", "value_error.url.scheme", NULL);
        goto cleanup;
    }
    if (ov[14] != PCRE2_UNSET) {
        size_t plen = ov[15] - ov[14];
        const char *port = s + ov[14];
        while (plen > 1 && *port == '0') {
            port++;
            plen--;
        }
        if (plen > 5 || (plen == 5 && strncmp(port, "65535", 5) > 0)) {
            cf_v_error(c, loc, "URL port invalid, port cannot exceed 65535", "value_error.url.port", NULL);
            goto cleanup;
        }
    }
    if (ov[1] != len) {
        char *extra = strndup(s + ov[1], len - ov[1]);
        char *rep = extra != NULL ? cf_pylike_str_repr(extra) : NULL;
        char *msg = NULL;
        if (rep == NULL || asprintf(&msg, "URL invalid, extra characters found after valid URL: %s", rep) < 0) {
            cf_v_oom(c);
        } else {
            cf_v_error(c, loc, msg, "value_error.url.extra", json_pack("{s:s}", "extra", extra));
        }
        free(msg);
        free(rep);
        free(extra);
        goto cleanup;
    }
    int host_group = 0;
    for (int g = 4; g <= 6; g++) {
        if (ov[2 * g] != PCRE2_UNSET && ov[2 * g + 1] > ov[2 * g]) {
            host_group = g;
            break;
        }
    }
    int failed = 0;
    if (host_group == 0 ||
        (host_group == 6 && !cf_url_domain_ok(s + ov[12], ov[13] - ov[12], &failed))) {
        if (failed) {
            cf_v_oom(c);
        } else {
            cf_v_error(c, loc, "URL host invalid", "value_error.url.host", NULL);
        }
    }

cleanup:
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    json_decref(str);
}

/* ---- PredictionRequest's own fields ---- */

int cf_validate_request_fields(const json_t *body, json_t *details, cf_error *err)
{
    static const char *const events[] = {"start", "output", "logs", "completed"};
    cf_vctx c = {NULL, details, err, 0, CF_OK};
    size_t nerr_before = json_array_size(details);
    json_t *loc = NULL;
    const json_t *v;

    /* id */
    v = json_object_get(body, "id");
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        /* pydantic would turn 5 into "5"; an id is a client's name: refuse. */
        loc = json_pack("[ss]", "body", "id");
        loc ? (void)cf_v_error(&c, loc, "str type expected", "type_error.str", NULL) : cf_v_oom(&c);
        json_decref(loc);
    }

    /* created_at */
    v = json_object_get(body, "created_at");
    if (!c.failed && v != NULL && !json_is_null(v)) {
        char buf[40];
        loc = json_pack("[ss]", "body", "created_at");
        if (loc == NULL) {
            cf_v_oom(&c);
        } else if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            cf_v_error(&c, loc, "invalid type; expected datetime, string, bytes, int or float", "type_error",
                       NULL);
        } else if (cf_normalize_datetime_json(v, buf, sizeof(buf)) != CF_OK) {
            cf_v_error(&c, loc, "invalid datetime format", "value_error.datetime", NULL);
        }
        json_decref(loc);
    }

    /* context: Dict[str, str] */
    v = json_object_get(body, "context");
    if (!c.failed && v != NULL && !json_is_null(v)) {
        loc = json_pack("[ss]", "body", "context");
        if (loc == NULL) {
            cf_v_oom(&c);
        } else if (!json_is_object(v)) {
            cf_v_error(&c, loc, "value is not a valid dict", "type_error.dict", NULL);
        } else {
            const char *key;
            json_t *item;
            json_t *str_schema = json_pack("{s:s}", "type", "string");
            json_object_foreach((json_t *)v, key, item) {
                json_t *kloc = cf_v_loc_key(loc, key);
                if (kloc == NULL || str_schema == NULL) {
                    json_decref(kloc);
                    cf_v_oom(&c);
                    break;
                }
                json_decref(cf_v_nullable(&c, str_schema, item, kloc, NULL, 0));
                json_decref(kloc);
            }
            json_decref(str_schema);
        }
        json_decref(loc);
    }

    /* output_file_prefix: Optional[str] */
    v = json_object_get(body, "output_file_prefix");
    if (!c.failed && v != NULL && !json_is_null(v)) {
        loc = json_pack("[ss]", "body", "output_file_prefix");
        if (loc == NULL) {
            cf_v_oom(&c);
        } else {
            json_decref(cf_v_str(&c, v, loc));
        }
        json_decref(loc);
    }

    /* webhook: Optional[AnyUrl] */
    v = json_object_get(body, "webhook");
    if (!c.failed && v != NULL && !json_is_null(v)) {
        loc = json_pack("[ss]", "body", "webhook");
        loc ? cf_v_url(&c, v, loc) : cf_v_oom(&c);
        json_decref(loc);
    }

    /* webhook_events_filter: Optional[List[WebhookEvent]] */
    v = json_object_get(body, "webhook_events_filter");
    if (!c.failed && v != NULL && !json_is_null(v)) {
        json_t *schema = json_pack("{s:s,s:[ssss]}", "type", "string", "enum", events[0], events[1], events[2],
                                   events[3]);
        json_t *list = json_pack("{s:s,s:O}", "type", "array", "items", schema);
        loc = json_pack("[ss]", "body", "webhook_events_filter");
        if (schema == NULL || list == NULL || loc == NULL) {
            cf_v_oom(&c);
        } else {
            json_decref(cf_v_value(&c, list, v, loc, NULL));
        }
        json_decref(schema);
        json_decref(list);
        json_decref(loc);
    }

    if (c.failed) {
        return c.code;
    }
    if (json_array_size(details) > nerr_before) {
        return cf_error_set(err, CF_EINVAL, "invalid request");
    }
    return CF_OK;
}
