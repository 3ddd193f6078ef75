/* requirement.c - PEP 440 versions, specifiers, PEP 508 requirement lines and markers for `check`.
 *
 * Pure functions, unit-tested in tests/unit/test_check.c; check.c runs the
 * subprocesses and uses these to judge what they report.
 */
#include "requirement.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

/* ------------------------------------------------------------------ */
/* Versions (PEP 440 subset)                                           */

/* Reads an optional separator, then digits (absent: 0). */
static long suffix_number(const char **s)
{
    const char *p = *s;
    if (*p == '.' || *p == '-' || *p == '_')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0;
    char *end;
    long n = strtol(p, &end, 10);
    *s = end;
    return n;
}

int cf_version_parse(const char *s, cf_version *v)
{
    /* Longer spellings first: "alpha" before "a", "preview" before "pre". */
    static const struct { const char *word; int slot; int kind; } words[] = {
        {"alpha", 0, 0}, {"a", 0, 0}, {"beta", 0, 1}, {"b", 0, 1}, {"preview", 0, 2},
        {"pre", 0, 2}, {"rc", 0, 2}, {"c", 0, 2}, {"post", 1, 0}, {"rev", 1, 0},
        {"r", 1, 0}, {"dev", 2, 0},
    };
    memset(v, 0, sizeof *v);
    v->pre_kind = -1;
    v->post = -1;
    v->dev = -1;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == 'v' || *s == 'V')
        s++;
    char *end;
    if (isdigit((unsigned char)*s)) {
        long n = strtol(s, &end, 10);
        if (*end == '!') {
            v->epoch = n;
            s = end + 1;
        }
    }
    if (!isdigit((unsigned char)*s))
        return CF_EINVAL;
    for (;;) {
        long n = strtol(s, &end, 10);
        if (v->nrelease < CF_VERSION_PARTS)
            v->release[v->nrelease++] = n;
        s = end;
        if (*s != '.' || !isdigit((unsigned char)s[1]))
            break;
        s++;
    }
    /* Suffixes in PEP 440 order; whatever follows (a local "+...", junk) is
     * not part of the public version and is ignored. */
    int next_slot = 0;
    for (;;) {
        const char *p = s;
        if (*p == '-' && isdigit((unsigned char)p[1]) && next_slot <= 1) {
            v->post = strtol(p + 1, &end, 10); /* "1.0-1" is an implicit post */
            s = end;
            next_slot = 2;
            continue;
        }
        if (*p == '.' || *p == '-' || *p == '_')
            p++;
        size_t i;
        for (i = 0; i < sizeof words / sizeof words[0]; i++) {
            size_t wl = strlen(words[i].word);
            if (strncasecmp(p, words[i].word, wl) == 0 && !isalpha((unsigned char)p[wl]))
                break;
        }
        if (i == sizeof words / sizeof words[0] || words[i].slot < next_slot)
            break;
        p += strlen(words[i].word);
        long n = suffix_number(&p);
        if (words[i].slot == 0) {
            v->pre_kind = words[i].kind;
            v->pre = n;
        } else if (words[i].slot == 1) {
            v->post = n;
        } else {
            v->dev = n;
        }
        next_slot = words[i].slot + 1;
        s = p;
    }
    return CF_OK;
}

static int cmp_long(long a, long b)
{
    return (a > b) - (a < b);
}

int cf_version_cmp(const cf_version *a, const cf_version *b)
{
    int c = cmp_long(a->epoch, b->epoch);
    int n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;
    for (int i = 0; c == 0 && i < n; i++)
        c = cmp_long(i < a->nrelease ? a->release[i] : 0, i < b->nrelease ? b->release[i] : 0);
    if (c != 0)
        return c;
    /* A bare .devN sorts before every pre-release of its release; no
     * pre-release sorts after all of them. */
    long ak = a->pre_kind, bk = b->pre_kind;
    if (ak < 0)
        ak = a->post < 0 && a->dev >= 0 ? -1 : 3;
    if (bk < 0)
        bk = b->post < 0 && b->dev >= 0 ? -1 : 3;
    if ((c = cmp_long(ak, bk)) != 0)
        return c;
    if (a->pre_kind >= 0 && (c = cmp_long(a->pre, b->pre)) != 0)
        return c;
    if ((c = cmp_long(a->post, b->post)) != 0)
        return c;
    return cmp_long(a->dev < 0 ? LONG_MAX : a->dev, b->dev < 0 ? LONG_MAX : b->dev);
}

/* Does v's release start with prefix's release (zero-padded), same epoch? */
static int release_prefix(const cf_version *v, const cf_version *prefix, int n)
{
    if (v->epoch != prefix->epoch)
        return 0;
    for (int i = 0; i < n; i++)
        if ((i < v->nrelease ? v->release[i] : 0) != prefix->release[i])
            return 0;
    return 1;
}

/* Splits "op version" (spaces already removed). 0 or CF_EINVAL. */
static int split_clause(const char *clause, char op[4], const char **ver)
{
    static const char *ops[] = {"===", "~=", "==", "!=", "<=", ">=", "<", ">"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i]);
        if (strncmp(clause, ops[i], n) == 0) {
            memcpy(op, ops[i], n + 1);
            *ver = clause + n;
            return **ver ? CF_OK : CF_EINVAL;
        }
    }
    return CF_EINVAL;
}

/* One clause against a parsed version (installed text for ===). 1, 0 or
 * CF_EINVAL. */
static int clause_holds(const cf_version *have, const char *have_text, const char *clause,
                        cf_error *err)
{
    char op[4];
    const char *want_text;
    if (split_clause(clause, op, &want_text) != CF_OK)
        return cf_error_set(err, CF_EINVAL, "cannot read the version specifier \"%s\"", clause);
    if (strcmp(op, "===") == 0)
        return strcasecmp(have_text, want_text) == 0;
    cf_version want;
    if (cf_version_parse(want_text, &want) != CF_OK)
        return cf_error_set(err, CF_EINVAL, "cannot read the version in \"%s\"", clause);
    size_t wl = strlen(want_text);
    int wildcard = wl >= 2 && strcmp(want_text + wl - 2, ".*") == 0;
    if (wildcard && (strcmp(op, "==") == 0 || strcmp(op, "!=") == 0)) {
        int match = release_prefix(have, &want, want.nrelease);
        return op[0] == '=' ? match : !match;
    }
    if (wildcard)
        return cf_error_set(err, CF_EINVAL, "\"%s\": .* only goes with == and !=", clause);
    int c = cf_version_cmp(have, &want);
    if (strcmp(op, "==") == 0)
        return c == 0;
    if (strcmp(op, "!=") == 0)
        return c != 0;
    if (strcmp(op, "<=") == 0)
        return c <= 0;
    if (strcmp(op, ">=") == 0)
        return c >= 0;
    if (strcmp(op, "<") == 0)
        return c < 0;
    if (strcmp(op, ">") == 0)
        return c > 0;
    /* ~=1.4.2 means >=1.4.2 and ==1.4.* */
    if (want.nrelease < 2)
        return cf_error_set(err, CF_EINVAL, "\"%s\": ~= needs at least two numbers", clause);
    return c >= 0 && release_prefix(have, &want, want.nrelease - 1);
}

/* Every comma-separated clause of specs against have. 1, 0 or CF_EINVAL. */
static int all_clauses(const cf_version *have, const char *have_text, const char *specs,
                       cf_error *err)
{
    char buf[256];
    const char *p = specs;
    while (*p) {
        size_t n = 0;
        while (*p && *p != ',') {
            if (!isspace((unsigned char)*p) && n + 1 < sizeof buf)
                buf[n++] = *p;
            p++;
        }
        buf[n] = '\0';
        if (*p == ',')
            p++;
        if (n == 0)
            continue;
        int r = clause_holds(have, have_text, buf, err);
        if (r != 1)
            return r;
    }
    return 1;
}

int cf_version_satisfies(const char *version, const char *specs, cf_error *err)
{
    cf_version have;
    if (cf_version_parse(version, &have) != CF_OK)
        return cf_error_set(err, CF_EINVAL, "the installed version \"%s\" is not a PEP 440 version",
                            version);
    int r = all_clauses(&have, version, specs, err);
    if (r != 0 || (have.pre_kind < 0 && have.dev < 0))
        return r;
    /* Debian packages snapshots as pre-releases (torch 1.13.0a0+git...):
     * tell "fails only because of that" apart from a real mismatch. */
    have.pre_kind = -1;
    have.dev = -1;
    return all_clauses(&have, version, specs, err) == 1 ? 2 : 0;
}

void cf_check_normalize_name(const char *in, char *out, size_t len)
{
    size_t n = 0;
    int in_run = 0;
    if (len == 0)
        return;
    for (; *in && n + 1 < len; in++) {
        if (*in == '-' || *in == '_' || *in == '.') {
            if (!in_run)
                out[n++] = '-';
            in_run = 1;
        } else {
            out[n++] = (char)tolower((unsigned char)*in);
            in_run = 0;
        }
    }
    out[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Requirement lines (PEP 508 subset)                                  */

static void trim_copy(char *dst, size_t len, const char *begin, const char *end)
{
    while (begin < end && isspace((unsigned char)*begin))
        begin++;
    while (end > begin && isspace((unsigned char)end[-1]))
        end--;
    size_t n = (size_t)(end - begin) < len - 1 ? (size_t)(end - begin) : len - 1;
    memcpy(dst, begin, n);
    dst[n] = '\0';
}

int cf_requirement_parse(const char *line, cf_requirement *req, cf_error *err)
{
    memset(req, 0, sizeof *req);
    const char *end = line + strlen(line);
    /* A comment starts at '#' at the beginning or after white space. */
    for (const char *h = line; *h; h++)
        if (*h == '#' && (h == line || isspace((unsigned char)h[-1]))) {
            end = h;
            break;
        }
    const char *p = line;
    while (p < end && isspace((unsigned char)*p))
        p++;
    const char *name = p;
    while (p < end && (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
        p++;
    if (p == name || !isalnum((unsigned char)*name))
        return cf_error_set(err, CF_EINVAL, "\"%.*s\" does not start with a package name",
                            (int)(end - line), line);
    trim_copy(req->written, sizeof req->written, name, p);
    cf_check_normalize_name(req->written, req->name, sizeof req->name);
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL)
            return cf_error_set(err, CF_EINVAL, "%s: unclosed [extras]", req->written);
        p = close + 1;
    }
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *spec_end = semi ? semi : end;
    if (semi)
        trim_copy(req->marker, sizeof req->marker, semi + 1, end);
    while (p < spec_end && isspace((unsigned char)*p))
        p++;
    if (p < spec_end && *p == '@') {
        req->is_url = 1;
        return CF_OK;
    }
    /* Specifiers, without spaces or the old "name (>=1.0)" parentheses. */
    size_t n = 0;
    for (; p < spec_end; p++) {
        if (isspace((unsigned char)*p) || *p == '(' || *p == ')')
            continue;
        if (n + 1 >= sizeof req->specs)
            return cf_error_set(err, CF_EINVAL, "%s: version specifier too long", req->written);
        req->specs[n++] = *p;
    }
    req->specs[n] = '\0';
    /* Check the specifier's syntax now, against a dummy version. */
    if (n > 0) {
        cf_version dummy;
        cf_version_parse("0", &dummy);
        cf_error e;
        cf_error_clear(&e);
        if (all_clauses(&dummy, "0", req->specs, &e) < 0)
            return cf_error_set(err, CF_EINVAL, "%s: %s", req->written, e.msg);
    }
    return CF_OK;
}

/* ------------------------------------------------------------------ */
/* Environment markers                                                 */

typedef struct marker_ctx {
    const char *s;
    const char *vars[8][2]; /* name, value */
} marker_ctx;

static void mk_space(marker_ctx *m)
{
    while (isspace((unsigned char)*m->s))
        m->s++;
}

/* Consumes keyword w when it is next, as a whole word. */
static int mk_word(marker_ctx *m, const char *w)
{
    mk_space(m);
    size_t n = strlen(w);
    if (strncmp(m->s, w, n) != 0 || isalnum((unsigned char)m->s[n]) || m->s[n] == '_')
        return 0;
    m->s += n;
    return 1;
}

/* A quoted string or a known variable; is_var set for variables. 0 or -1. */
static int mk_value(marker_ctx *m, char *buf, size_t len, int *is_var)
{
    mk_space(m);
    *is_var = 0;
    if (*m->s == '"' || *m->s == '\'') {
        const char *close = strchr(m->s + 1, *m->s);
        if (close == NULL)
            return -1;
        trim_copy(buf, len, m->s + 1, close);
        m->s = close + 1;
        return 0;
    }
    const char *b = m->s;
    while (isalnum((unsigned char)*m->s) || *m->s == '_' || *m->s == '.')
        m->s++;
    for (size_t i = 0; i < sizeof m->vars / sizeof m->vars[0] && m->vars[i][0]; i++)
        if (strlen(m->vars[i][0]) == (size_t)(m->s - b) &&
            strncmp(m->vars[i][0], b, (size_t)(m->s - b)) == 0) {
            snprintf(buf, len, "%s", m->vars[i][1]);
            *is_var = 1;
            return 0;
        }
    return -1; /* extra, unknown variables, parentheses */
}

static int mk_comparison(marker_ctx *m)
{
    char lhs[128], rhs[128], op[8] = "";
    int lvar, rvar;
    if (mk_value(m, lhs, sizeof lhs, &lvar) < 0)
        return -1;
    mk_space(m);
    if (mk_word(m, "not")) {
        if (!mk_word(m, "in"))
            return -1;
        strcpy(op, "not in");
    } else if (mk_word(m, "in")) {
        strcpy(op, "in");
    } else {
        size_t n = strspn(m->s, "=!<>~");
        if (n == 0 || n > 3)
            return -1;
        memcpy(op, m->s, n);
        op[n] = '\0';
        m->s += n;
    }
    if (mk_value(m, rhs, sizeof rhs, &rvar) < 0 || !(lvar || rvar))
        return -1;
    if (strcmp(op, "in") == 0 || strcmp(op, "not in") == 0)
        return (strstr(rhs, lhs) != NULL) == (op[0] == 'i');
    cf_version a, b;
    if (cf_version_parse(lhs, &a) == CF_OK && cf_version_parse(rhs, &b) == CF_OK) {
        char clause[160];
        snprintf(clause, sizeof clause, "%s%s", op, rhs);
        int r = clause_holds(&a, lhs, clause, NULL);
        return r < 0 ? -1 : r;
    }
    if (strcmp(op, "==") == 0)
        return strcmp(lhs, rhs) == 0;
    if (strcmp(op, "!=") == 0)
        return strcmp(lhs, rhs) != 0;
    return -1;
}

static int mk_and(marker_ctx *m)
{
    int r = mk_comparison(m);
    while (r >= 0 && mk_word(m, "and")) {
        int q = mk_comparison(m);
        r = q < 0 ? -1 : (r && q);
    }
    return r;
}

int cf_marker_eval(const char *marker, const char *python_full_version, const char *sys_platform)
{
    char py[32];
    snprintf(py, sizeof py, "%s", python_full_version);
    char *dot = strchr(py, '.');
    if (dot && (dot = strchr(dot + 1, '.')) != NULL)
        *dot = '\0';
    static struct utsname uts;
    if (uts.machine[0] == '\0')
        uname(&uts);
    int is_linux = strcmp(sys_platform, "linux") == 0;
    marker_ctx m = {.s = marker,
                    .vars = {{"python_version", py},
                             {"python_full_version", python_full_version},
                             {"sys_platform", sys_platform},
                             {"platform_system", is_linux ? "Linux" : sys_platform},
                             {"os_name", "posix"},
                             {"implementation_name", "cpython"},
                             {"platform_python_implementation", "CPython"},
                             {"platform_machine", uts.machine}}};
    int r = mk_and(&m);
    while (r >= 0 && mk_word(&m, "or")) {
        int q = mk_and(&m);
        r = q < 0 ? -1 : (r || q);
    }
    mk_space(&m);
    return r < 0 || *m.s != '\0' ? -1 : r;
}
