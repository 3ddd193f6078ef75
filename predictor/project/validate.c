/* validate.c - check and coerce a prediction request the way Cog's pydantic 1 models do.
 *
 * Cog 0.15.5 builds a pydantic 1 model from predict()'s signature and FastAPI
 * reports its errors; clients depend on the exact wording (COG-API.md
 * section 10). This file reproduces pydantic 1's validators for the types
 * Cog allows (str, int, float, bool, Path/File, Secret, List, Optional,
 * choices) from the OpenAPI schema the worker derived; request_fields.c
 * checks the request-level fields of PredictionRequest with the helpers
 * shared here. Where cog-fcgi differs on purpose (section 16: 2.5 is not an
 * int) the comment says so.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "datauri.h"

/* ---- Python number and string formatting (repr() of a float: predictor/common/pyfloat.c) ---- */


/* Python's str.strip() for the ASCII whitespace it strips. */
void cf_pylike_strip(const char **s, size_t *len)
{
    while (*len > 0 && (isspace((unsigned char)**s) || (**s >= 0x1c && **s <= 0x1f))) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 &&
           (isspace((unsigned char)(*s)[*len - 1]) || ((*s)[*len - 1] >= 0x1c && (*s)[*len - 1] <= 0x1f))) {
        (*len)--;
    }
}

/* Copies a digit run with Python's single underscores between digits into
 * out (without them). Returns the characters consumed, 0 if none. */
static size_t cf_pylike_digits(const char *s, size_t len, char *out, size_t *o, size_t cap)
{
    size_t i = 0;
    while (i < len) {
        if (isdigit((unsigned char)s[i])) {
            if (*o + 1 >= cap) {
                return 0;
            }
            out[(*o)++] = s[i++];
        } else if (s[i] == '_' && i > 0 && i + 1 < len && isdigit((unsigned char)s[i + 1])) {
            i++;
        } else {
            break;
        }
    }
    return i;
}

/* float(str): 0 and *out for a finite number, -1 for text Python refuses or
 * for inf/nan (which JSON cannot carry). */
int cf_pylike_parse_float(const char *s, size_t len, double *out)
{
    char buf[512];
    size_t o = 0;
    size_t i = 0;

    cf_pylike_strip(&s, &len);
    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    if (s[i] == '+' || s[i] == '-') {
        buf[o++] = s[i++];
    }
    size_t int_digits = cf_pylike_digits(s + i, len - i, buf, &o, sizeof(buf));
    i += int_digits;
    size_t frac_digits = 0;
    if (i < len && s[i] == '.') {
        buf[o++] = s[i++];
        frac_digits = cf_pylike_digits(s + i, len - i, buf, &o, sizeof(buf));
        i += frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0) {
        return -1;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        buf[o++] = s[i++];
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            buf[o++] = s[i++];
        }
        size_t exp_digits = cf_pylike_digits(s + i, len - i, buf, &o, sizeof(buf));
        if (exp_digits == 0) {
            return -1;
        }
        i += exp_digits;
    }
    if (i != len) {
        return -1;
    }
    buf[o] = '\0';
    double d = strtod(buf, NULL);
    if (!isfinite(d)) {
        return -1;
    }
    *out = d;
    return 0;
}

/* int(str) for values that fit in 64 bits: 0 and *out, or -1. */
static int cf_pylike_parse_int(const char *s, size_t len, long long *out)
{
    char buf[64];
    size_t o = 0;
    size_t i = 0;

    cf_pylike_strip(&s, &len);
    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    if (s[i] == '+' || s[i] == '-') {
        buf[o++] = s[i++];
    }
    size_t n = cf_pylike_digits(s + i, len - i, buf, &o, sizeof(buf));
    if (n == 0 || i + n != len) {
        return -1;
    }
    buf[o] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Python's repr() of a str, for enumeration messages: single quotes unless
 * the text holds a single quote and no double quote. Malloc'd. */
char *cf_pylike_str_repr(const char *s)
{
    size_t len = strlen(s);
    char quote = (strchr(s, '\'') != NULL && strchr(s, '"') == NULL) ? '"' : '\'';
    char *out = malloc(len * 4 + 3);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    out[o++] = quote;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)quote) {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = quote;
    out[o] = '\0';
    return out;
}

/* ---- error reporting ---- */

void cf_v_oom(cf_vctx *c)
{
    if (!c->failed) {
        cf_error_set(c->err, CF_ENOMEM, "out of memory validating the input");
        c->failed = 1;
        c->code = CF_ENOMEM;
    }
}

/* Appends {"loc":loc+[extra],"msg","type"(,"ctx")} to the details; ctx is
 * stolen. Always returns NULL so validators can `return cf_v_error(...)`. */
json_t *cf_v_error(cf_vctx *c, const json_t *loc, const char *msg, const char *type, json_t *ctx)
{
    json_t *item = json_pack("{s:o,s:s,s:s}", "loc", json_copy((json_t *)loc), "msg", msg, "type", type);
    if (item != NULL && ctx != NULL) {
        if (json_object_set_new(item, "ctx", ctx) != 0) {
            json_decref(item);
            item = NULL;
        }
        ctx = NULL;
    }
    json_decref(ctx);
    if (item == NULL || json_array_append_new(c->details, item) != 0) {
        cf_v_oom(c);
    }
    return NULL;
}

/* loc + [name] or loc + [index], a new array. */
json_t *cf_v_loc_key(const json_t *loc, const char *name)
{
    json_t *l = json_copy((json_t *)loc);
    if (l != NULL && json_array_append_new(l, json_string(name)) != 0) {
        json_decref(l);
        l = NULL;
    }
    return l;
}

static json_t *cf_v_loc_index(const json_t *loc, size_t index)
{
    json_t *l = json_copy((json_t *)loc);
    if (l != NULL && json_array_append_new(l, json_integer((json_int_t)index)) != 0) {
        json_decref(l);
        l = NULL;
    }
    return l;
}

/* ---- scalar coercions (pydantic.validators) ---- */

/* int_validator; a number with a fraction is refused (section 16). */
static json_t *cf_v_int(cf_vctx *c, const json_t *v, const json_t *loc)
{
    long long i;
    if (json_is_integer(v)) {
        return json_integer(json_integer_value(v));
    }
    if (json_is_boolean(v)) {
        return json_integer(json_is_true(v));
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (isfinite(d) && d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            return json_integer((json_int_t)d);
        }
    } else if (json_is_string(v) && cf_pylike_parse_int(json_string_value(v), json_string_length(v), &i) == 0) {
        return json_integer(i);
    }
    return cf_v_error(c, loc, "value is not a valid integer", "type_error.integer", NULL);
}

/* float_validator. */
static json_t *cf_v_float(cf_vctx *c, const json_t *v, const json_t *loc)
{
    double d;
    if (json_is_real(v)) {
        return json_real(json_real_value(v));
    }
    if (json_is_integer(v)) {
        return json_real((double)json_integer_value(v));
    }
    if (json_is_boolean(v)) {
        return json_real(json_is_true(v) ? 1.0 : 0.0);
    }
    if (json_is_string(v) && cf_pylike_parse_float(json_string_value(v), json_string_length(v), &d) == 0) {
        return json_real(d);
    }
    return cf_v_error(c, loc, "value is not a valid float", "type_error.float", NULL);
}

/* bool_validator: true/false, 0/1 (also 0.0/1.0, equal in Python), and the
 * strings of BOOL_TRUE/BOOL_FALSE in any case. */
static json_t *cf_v_bool(cf_vctx *c, const json_t *v, const json_t *loc)
{
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    if (json_is_boolean(v)) {
        return json_boolean(json_is_true(v));
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (d == 1.0 || d == 0.0) {
            return json_boolean(d == 1.0);
        }
    } else if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
            if (strcasecmp(s, yes[i]) == 0) {
                return json_true();
            }
            if (strcasecmp(s, no[i]) == 0) {
                return json_false();
            }
        }
    }
    return cf_v_error(c, loc, "value could not be parsed to a boolean", "type_error.bool", NULL);
}

/* str_validator: strings, and numbers through Python's str(). */
json_t *cf_v_str(cf_vctx *c, const json_t *v, const json_t *loc)
{
    char buf[40];
    if (json_is_string(v)) {
        return json_stringn(json_string_value(v), json_string_length(v));
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return json_string(buf);
    }
    if (json_is_real(v)) {
        return json_string(cf_pylike_float_repr(json_real_value(v), buf, sizeof(buf)));
    }
    if (json_is_boolean(v)) {
        return json_string(json_is_true(v) ? "True" : "False");
    }
    return cf_v_error(c, loc, "str type expected", "type_error.str", NULL);
}

/* ---- constraints ---- */

/* The limit as pydantic shows it: an int for integer fields when whole. */
static json_t *cf_v_limit(double limit, int as_int, char *msg_num, size_t n)
{
    if (as_int && limit == trunc(limit) && fabs(limit) < 9e18) {
        snprintf(msg_num, n, "%lld", (long long)limit);
        return json_integer((json_int_t)limit);
    }
    cf_pylike_float_repr(limit, msg_num, n);
    return json_real(limit);
}

/* number_size_validator: gt/ge first, then lt/le; the first failure only. */
static int cf_v_number_bounds(cf_vctx *c, const json_t *schema, const json_t *value, int as_int,
                              const json_t *loc)
{
    static const struct {
        const char *key;
        int lower;
        int inclusive;
        const char *words;
        const char *type;
    } rules[] = {
        {"exclusiveMinimum", 1, 0, "greater than", "value_error.number.not_gt"},
        {"minimum", 1, 1, "greater than or equal to", "value_error.number.not_ge"},
        {"exclusiveMaximum", 0, 0, "less than", "value_error.number.not_lt"},
        {"maximum", 0, 1, "less than or equal to", "value_error.number.not_le"},
    };
    double v = json_number_value(value);
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const json_t *lim = json_object_get(schema, rules[i].key);
        if (!json_is_number(lim)) {
            continue;
        }
        double l = json_number_value(lim);
        int ok = rules[i].lower ? (rules[i].inclusive ? v >= l : v > l)
                                : (rules[i].inclusive ? v <= l : v < l);
        if (!ok) {
            char num[40];
            char msg[128];
            json_t *jl = cf_v_limit(l, as_int, num, sizeof(num));
            snprintf(msg, sizeof(msg), "ensure this value is %s %s", rules[i].words, num);
            cf_v_error(c, loc, msg, rules[i].type, json_pack("{s:o}", "limit_value", jl));
            return -1;
        }
    }
    return 0;
}

size_t cf_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    }
    return n;
}

/* constr_length_validator then the regex (re.match: anchored at the start only). */
static int cf_v_string_constraints(cf_vctx *c, const json_t *schema, const json_t *value, const json_t *loc)
{
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    size_t chars = cf_utf8_chars(s, len);
    const json_t *min = json_object_get(schema, "minLength");
    const json_t *max = json_object_get(schema, "maxLength");
    const json_t *pattern = json_object_get(schema, "pattern");
    char msg[160];

    if (json_is_integer(min) && (json_int_t)chars < json_integer_value(min)) {
        snprintf(msg, sizeof(msg), "ensure this value has at least %" JSON_INTEGER_FORMAT " characters",
                 json_integer_value(min));
        cf_v_error(c, loc, msg, "value_error.any_str.min_length",
                   json_pack("{s:I}", "limit_value", json_integer_value(min)));
        return -1;
    }
    if (json_is_integer(max) && (json_int_t)chars > json_integer_value(max)) {
        snprintf(msg, sizeof(msg), "ensure this value has at most %" JSON_INTEGER_FORMAT " characters",
                 json_integer_value(max));
        cf_v_error(c, loc, msg, "value_error.any_str.max_length",
                   json_pack("{s:I}", "limit_value", json_integer_value(max)));
        return -1;
    }
    if (!json_is_string(pattern)) {
        return 0;
    }
    int errcode;
    PCRE2_SIZE erroff;
    /* Python's re: Unicode-aware \d \w \s for str patterns. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)json_string_value(pattern), json_string_length(pattern),
                                   PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
    if (re == NULL) {
        PCRE2_UCHAR why[120];
        pcre2_get_error_message(errcode, why, sizeof(why));
        cf_error_set(c->err, CF_EPROTO, "input pattern %s cannot be compiled: %s",
                     json_string_value(pattern), (const char *)why);
        c->failed = 1;
        c->code = CF_EPROTO;
        return -1;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = md == NULL ? PCRE2_ERROR_NOMEMORY
                        : pcre2_match(re, (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (rc == PCRE2_ERROR_NOMEMORY) {
        cf_v_oom(c);
        return -1;
    }
    if (rc < 0) {
        char *m = NULL;
        if (asprintf(&m, "string does not match regex \"%s\"", json_string_value(pattern)) < 0) {
            cf_v_oom(c);
            return -1;
        }
        cf_v_error(c, loc, m, "value_error.str.regex",
                   json_pack("{s:s}", "pattern", json_string_value(pattern)));
        free(m);
        return -1;
    }
    return 0;
}

/* ---- files ---- */

/* Cog's File/Path validate: urllib.parse's scheme, then data: checked now
 * (decoding errors are 422s, as Cog's are), http(s) kept for the download,
 * anything else refused. */
static json_t *cf_v_file(cf_vctx *c, const json_t *v, const json_t *loc)
{
    if (!json_is_string(v)) {
        /* Cog crashes here (500); a 422 says what is wrong. */
        return cf_v_error(c, loc, "str type expected", "type_error.str", NULL);
    }
    const char *url = json_string_value(v);
    while (*url != '\0' && (unsigned char)*url <= ' ') {
        url++;
    }
    char scheme[64] = "";
    size_t i = strcspn(url, ":");
    if (url[i] == ':' && i > 0 && i < sizeof(scheme) && isalpha((unsigned char)url[0])) {
        size_t k = 0;
        for (; k < i; k++) {
            unsigned char ch = (unsigned char)url[k];
            if (ch == '\t' || ch == '\n' || ch == '\r') {
                break; /* urlsplit drops these; too odd to bother */
            }
            if (!isalnum(ch) && ch != '+' && ch != '-' && ch != '.') {
                break;
            }
            scheme[k] = (char)tolower(ch);
        }
        scheme[k == i ? k : 0] = '\0';
    }
    if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0 || strcmp(scheme, "s3") == 0 ||
        strcmp(scheme, "cog-fcgi-form") == 0) {
        return json_incref((json_t *)v); /* s3://: fetched by the front (fcgi/s3.c); cog-fcgi-form: a multipart part (fcgi/multipart.h) */
    }
    if (strcmp(scheme, "data") == 0) {
        /* Checked, not decoded: files.c decodes it once, into its file. */
        cf_error derr;
        const char *whole = json_string_value(v);
        int rc = cf_datauri_check(url, json_string_length(v) - (size_t)(url - whole), &derr);
        if (rc == CF_ENOMEM) {
            cf_v_oom(c);
            return NULL;
        }
        if (rc != CF_OK) {
            return cf_v_error(c, loc, derr.msg, "value_error", NULL);
        }
        return json_incref((json_t *)v);
    }
    char *msg = NULL;
    if (asprintf(&msg, "'%s' is not a valid URL scheme. 'data', 'http', or 'https' is supported.", scheme) < 0) {
        cf_v_oom(c);
        return NULL;
    }
    cf_v_error(c, loc, msg, "value_error", NULL);
    free(msg);
    return NULL;
}

/* ---- schemas ---- */

/* Follows "$ref" or a one-element allOf of one to the component. */
static const json_t *cf_v_resolve(const cf_vctx *c, const json_t *schema)
{
    for (int hops = 0; hops < 8 && schema != NULL; hops++) {
        const json_t *ref = json_object_get(schema, "$ref");
        const json_t *all = json_object_get(schema, "allOf");
        if (!json_is_string(ref) && json_is_array(all) && json_array_size(all) == 1) {
            ref = json_object_get(json_array_get(all, 0), "$ref");
        }
        if (!json_is_string(ref)) {
            return schema;
        }
        const char *name = strrchr(json_string_value(ref), '/');
        name = name != NULL ? name + 1 : json_string_value(ref);
        const json_t *target = json_object_get(c->components, name);
        if (target == NULL) {
            target = json_object_get(json_object_get(c->components, "schemas"), name);
        }
        if (target == NULL) {
            return schema;
        }
        schema = target;
    }
    return schema;
}

/* head followed by the members as Python prints them, comma-separated: the
 * "permitted: 'a', 'b'" of pydantic's enum and Literal errors. Malloc'd, or
 * NULL when memory is gone. */
static char *cf_v_permitted_msg(const char *head, const json_t *members)
{
    size_t cap = 128;
    size_t len = 0;
    size_t i;
    const json_t *m;
    char *msg = malloc(cap);
    if (msg == NULL) {
        return NULL;
    }
    len = strlen(head);
    if (len + 1 > cap && (cap = len * 2 + 1, msg = realloc(msg, cap)) == NULL) {
        return NULL;
    }
    memcpy(msg, head, len + 1);
    json_array_foreach(members, i, m) {
        char num[40];
        char *piece = NULL;
        if (json_is_string(m)) {
            piece = cf_pylike_str_repr(json_string_value(m));
        } else if (json_is_integer(m)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(m));
            piece = strdup(num);
        } else if (json_is_real(m)) {
            piece = strdup(cf_pylike_float_repr(json_real_value(m), num, sizeof(num)));
        } else {
            piece = json_dumps(m, JSON_ENCODE_ANY | JSON_COMPACT);
        }
        size_t need = len + (piece ? strlen(piece) : 0) + 3;
        if (piece == NULL || (need > cap && (cap = need * 2, msg = realloc(msg, cap)) == NULL)) {
            free(piece);
            free(msg);
            return NULL;
        }
        len += (size_t)sprintf(msg + len, "%s%s", i > 0 ? ", " : "", piece);
        free(piece);
    }
    return msg;
}

/* typing.Literal[...] (kind "literal"): the value must be one of the members
 * as it is, no coercion (a number equal to an integer member matches it, as
 * Python's == does); the member is what predict() gets. pydantic 1 says
 * "unexpected value; permitted: 'a', 'b'" (value_error.const). */
static json_t *cf_v_literal(cf_vctx *c, const json_t *schema, const json_t *v, const json_t *loc)
{
    const json_t *members = json_object_get(schema, "enum");
    size_t i;
    const json_t *m;
    json_array_foreach(members, i, m) {
        if (json_equal(m, v) || (json_is_number(m) && json_is_number(v) &&
                                 json_number_value(m) == json_number_value(v))) {
            json_t *out = json_deep_copy(m);
            if (out == NULL) {
                cf_v_oom(c);
            }
            return out;
        }
    }
    char *msg = cf_v_permitted_msg("unexpected value; permitted: ", members);
    if (msg == NULL) {
        cf_v_oom(c);
        return NULL;
    }
    cf_v_error(c, loc, msg, "value_error.const",
               json_pack("{s:O, s:O}", "given", (json_t *)v, "permitted", (json_t *)members));
    free(msg);
    return NULL;
}

/* Choices: an IntEnum coerces with int_validator first, a str Enum takes
 * the value as it is; then the value must be a member. */
static json_t *cf_v_enum(cf_vctx *c, const json_t *schema, const json_t *v, const json_t *loc)
{
    const json_t *members = json_object_get(schema, "enum");
    const char *type = json_string_value(json_object_get(schema, "type"));
    json_t *val = NULL;

    if (type != NULL && strcmp(type, "integer") == 0) {
        val = cf_v_int(c, v, loc);
    } else if (type != NULL && strcmp(type, "number") == 0) {
        val = cf_v_float(c, v, loc);
    } else {
        val = json_deep_copy(v);
        if (val == NULL) {
            cf_v_oom(c);
        }
    }
    if (val == NULL) {
        return NULL;
    }
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m) {
        if (json_equal(m, val) ||
            (json_is_number(m) && json_is_number(val) && json_number_value(m) == json_number_value(val))) {
            return val;
        }
    }
    json_decref(val);

    /* "value is not a valid enumeration member; permitted: 'a', 'b'" */
    char *msg = cf_v_permitted_msg("value is not a valid enumeration member; permitted: ", members);
    if (msg == NULL) {
        cf_v_oom(c);
        return NULL;
    }
    cf_v_error(c, loc, msg, "type_error.enum", json_pack("{s:O}", "enum_values", (json_t *)members));
    free(msg);
    return NULL;
}

/* A value that may be null: allowed when the schema says nullable. */
json_t *cf_v_nullable(cf_vctx *c, const json_t *schema, const json_t *v, const json_t *loc,
                      const char *kind, int allow_null)
{
    if (json_is_null(v)) {
        if (allow_null || json_is_true(json_object_get(schema, "nullable"))) {
            return json_null();
        }
        return cf_v_error(c, loc, "none is not an allowed value", "type_error.none.not_allowed", NULL);
    }
    return cf_v_value(c, schema, v, loc, kind);
}

static json_t *cf_v_array(cf_vctx *c, const json_t *schema, const json_t *v, const json_t *loc,
                          const char *kind)
{
    const json_t *items = json_object_get(schema, "items");
    json_t *out = NULL;
    int bad = 0;

    if (!json_is_array(v)) {
        return cf_v_error(c, loc, "value is not a valid list", "type_error.list", NULL);
    }
    out = json_array();
    if (out == NULL) {
        cf_v_oom(c);
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        json_t *iloc = cf_v_loc_index(loc, i);
        if (iloc == NULL) {
            cf_v_oom(c);
            break;
        }
        json_t *iv = items != NULL ? cf_v_nullable(c, items, item, iloc, kind, 0) : json_deep_copy(item);
        json_decref(iloc);
        if (iv == NULL) {
            bad = 1;
        } else if (json_array_append_new(out, iv) != 0) {
            cf_v_oom(c);
        }
        if (c->failed) {
            break;
        }
    }
    if (bad || c->failed) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Union (anyOf): the first member that accepts the value wins; when none
 * does, every member's errors are reported, as pydantic 1 does. */
static json_t *cf_v_union(cf_vctx *c, const json_t *any, const json_t *v, const json_t *loc, const char *kind)
{
    json_t *saved = c->details;
    json_t *all = json_array();
    json_t *tmp = NULL;
    json_t *out = NULL;
    size_t i;
    const json_t *member;

    if (all == NULL) {
        cf_v_oom(c);
        return NULL;
    }
    json_array_foreach(any, i, member) {
        tmp = json_array();
        if (tmp == NULL) {
            cf_v_oom(c);
            break;
        }
        c->details = tmp;
        out = cf_v_nullable(c, member, v, loc, kind, 0);
        c->details = saved;
        if (out != NULL || c->failed) {
            break;
        }
        json_array_extend(all, tmp);
        json_decref(tmp);
        tmp = NULL;
    }
    json_decref(tmp);
    if (out == NULL && !c->failed && json_array_extend(saved, all) != 0) {
        cf_v_oom(c);
    }
    json_decref(all);
    return out;
}

/* One non-null value against a property or item schema. */
json_t *cf_v_value(cf_vctx *c, const json_t *prop, const json_t *v, const json_t *loc, const char *kind)
{
    const json_t *schema = cf_v_resolve(c, prop);
    const char *type = json_string_value(json_object_get(schema, "type"));
    const char *format = json_string_value(json_object_get(schema, "format"));
    const json_t *any = json_object_get(schema, "anyOf");
    json_t *out = NULL;

    if (json_is_array(json_object_get(schema, "enum"))) {
        int literal = kind != NULL && strcmp(kind, "literal") == 0;
        out = literal ? cf_v_literal(c, schema, v, loc) : cf_v_enum(c, schema, v, loc);
    } else if (json_is_array(any)) {
        out = cf_v_union(c, any, v, loc, kind);
    } else if (type == NULL) {
        out = json_deep_copy(v); /* Any */
    } else if (strcmp(type, "array") == 0) {
        out = cf_v_array(c, schema, v, loc, kind);
    } else if (strcmp(type, "string") == 0) {
        int is_file = (kind != NULL && (strcmp(kind, "path") == 0 || strcmp(kind, "file") == 0)) ||
                      (format != NULL && strcmp(format, "uri") == 0);
        if (is_file) {
            out = cf_v_file(c, v, loc);
        } else {
            out = cf_v_str(c, v, loc);
            if (out != NULL && cf_v_string_constraints(c, schema, out, loc) != 0) {
                json_decref(out);
                out = NULL;
            }
        }
    } else if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0) {
        int as_int = strcmp(type, "integer") == 0;
        out = as_int ? cf_v_int(c, v, loc) : cf_v_float(c, v, loc);
        if (out != NULL && cf_v_number_bounds(c, schema, out, as_int, loc) != 0) {
            json_decref(out);
            out = NULL;
        }
    } else if (strcmp(type, "boolean") == 0) {
        out = cf_v_bool(c, v, loc);
    } else if (strcmp(type, "object") == 0) {
        if (!json_is_object(v)) {
            return cf_v_error(c, loc, "value is not a valid dict", "type_error.dict", NULL);
        }
        out = json_deep_copy(v);
    } else {
        out = json_deep_copy(v);
    }
    return out;
}

/* ---- the Input model ---- */

typedef struct cf_v_prop {
    const char *name;
    const json_t *schema;
    json_int_t order;
    size_t index;
} cf_v_prop;

static int cf_v_prop_cmp(const void *a, const void *b)
{
    const cf_v_prop *x = a;
    const cf_v_prop *y = b;
    if (x->order != y->order) {
        return x->order < y->order ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cf_v_is_required(const json_t *input_schema, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(input_schema, "required"), i, r) {
        if (json_is_string(r) && strcmp(json_string_value(r), name) == 0) {
            return 1;
        }
    }
    return 0;
}

int cf_validate_input(const json_t *input_schema, const json_t *components, const json_t *kinds,
                      const json_t *input, json_t **validated, json_t *details, cf_error *err)
{
    cf_vctx c = {components, details, err, 0, CF_OK};
    const json_t *props = json_object_get(input_schema, "properties");
    json_t *out = NULL;
    json_t *base_loc = NULL;
    json_t *loc = NULL;
    cf_v_prop *order = NULL;
    size_t nerr_before = json_array_size(details);
    int rc = CF_OK;

    *validated = NULL;
    if (input == NULL || json_is_null(input)) {
        input = NULL;
    } else if (!json_is_object(input)) {
        json_t *l = json_pack("[ss]", "body", "input");
        if (l == NULL) {
            cf_v_oom(&c);
        } else {
            cf_v_error(&c, l, "value is not a valid dict", "type_error.dict", NULL);
            json_decref(l);
        }
        rc = c.failed ? c.code : cf_error_set(err, CF_EINVAL, "value is not a valid dict");
        goto cleanup;
    }

    if (json_object_size(props) == 0) {
        /* **kwargs: no declared inputs, every key goes through as given. */
        out = json_object_size(input) > 0 ? json_deep_copy(input) : json_object();
        if (out == NULL) {
            rc = cf_error_set(err, CF_ENOMEM, "out of memory validating the input");
        }
        goto cleanup;
    }

    out = json_object();
    base_loc = json_pack("[ss]", "body", "input");
    order = calloc(json_object_size(props), sizeof(*order));
    if (out == NULL || base_loc == NULL || order == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory validating the input");
        goto cleanup;
    }
    size_t n = 0;
    const char *name;
    json_t *schema;
    json_object_foreach((json_t *)props, name, schema) {
        const json_t *xo = json_object_get(schema, "x-order");
        order[n].name = name;
        order[n].schema = schema;
        order[n].order = json_is_integer(xo) ? json_integer_value(xo) : (json_int_t)n;
        order[n].index = n;
        n++;
    }
    qsort(order, n, sizeof(*order), cf_v_prop_cmp);

    for (size_t i = 0; i < n && !c.failed; i++) {
        const json_t *ps = order[i].schema;
        const json_t *given = input != NULL ? json_object_get(input, order[i].name) : NULL;
        const char *kind = json_string_value(json_object_get(kinds, order[i].name));
        int required = cf_v_is_required(input_schema, order[i].name);
        const json_t *def = json_object_get(ps, "default");
        json_t *v = NULL;

        if (kind != NULL && strcmp(kind, "secret") == 0) {
            kind = NULL; /* validated as a string */
        }
        json_decref(loc);
        loc = cf_v_loc_key(base_loc, order[i].name);
        if (loc == NULL) {
            cf_v_oom(&c);
            break;
        }
        if (given == NULL) {
            if (required) {
                cf_v_error(&c, loc, "field required", "value_error.missing", NULL);
                continue;
            }
            /* Defaults are not validated, as in pydantic. */
            v = def != NULL ? json_deep_copy(def) : json_null();
        } else {
            /* A default of None (no "default", not required) allows null. */
            int allow_null = !required && def == NULL;
            v = cf_v_nullable(&c, ps, given, loc, kind, allow_null);
            if (v == NULL) {
                continue;
            }
        }
        if (v == NULL || json_object_set_new(out, order[i].name, v) != 0) {
            cf_v_oom(&c);
        }
    }
    if (c.failed) {
        rc = c.code;
    } else if (json_array_size(details) > nerr_before) {
        rc = cf_error_set(err, CF_EINVAL, "invalid input");
    }

cleanup:
    if (rc == CF_OK) {
        *validated = out;
        out = NULL;
    }
    json_decref(out);
    json_decref(base_loc);
    json_decref(loc);
    free(order);
    return rc;
}
