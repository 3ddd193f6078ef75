/* fetch_policy.c - parsing fetch rules and deciding which hosts and addresses URLs may reach. */
#include "fetch_policy.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The denials every policy has, whatever the flags say: addresses that reach
 * the host itself or a cloud provider's metadata service (which hands out
 * the machine's credentials to whoever asks). */
static const struct {
    const char *rule;
    const char *why;
} builtin_table[] = {
    {"0.0.0.0/8", "\"this host\" network"},
    {"::/128", "unspecified address"},
    {"169.254.0.0/16", "link-local/cloud metadata"},
    {"fe80::/10", "link-local/cloud metadata"},
    {"fd00:ec2::254", "AWS cloud metadata"},
    {"100.100.100.200", "Alibaba cloud metadata"},
    {"metadata.google.internal", "GCP cloud metadata"},
};
#define N_BUILTIN (sizeof builtin_table / sizeof builtin_table[0])

/* Parsed once; read-only after. */
static cf_fetch_rule builtin[N_BUILTIN];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

/* The process's policy, set once at start-up (see the header). */
static cf_fetch_policy default_policy = {.max_bytes = CF_FETCH_DEFAULT_MAX_BYTES,
                                         .timeout_s = CF_FETCH_DEFAULT_TIMEOUT_S,
                                         .min_rate = CF_FETCH_DEFAULT_MIN_RATE,
                                         .min_rate_window_s = CF_FETCH_DEFAULT_MIN_RATE_WINDOW_S};

void cf_fetch_policy_init(cf_fetch_policy *p)
{
    memset(p, 0, sizeof *p);
    p->max_bytes = CF_FETCH_DEFAULT_MAX_BYTES;
    p->timeout_s = CF_FETCH_DEFAULT_TIMEOUT_S;
    p->min_rate = CF_FETCH_DEFAULT_MIN_RATE;
    p->min_rate_window_s = CF_FETCH_DEFAULT_MIN_RATE_WINDOW_S;
}

void cf_fetch_policy_cleanup(cf_fetch_policy *p)
{
    if (p == NULL)
        return;
    free(p->rules);
    memset(p, 0, sizeof *p);
}

/* An address as 16 bytes, IPv4 as ::ffff:a.b.c.d. 0, or -1 when s is not an
 * address. IPv6 may come in brackets. */
static int parse_ip(const char *s, unsigned char out[16], int *is_v4)
{
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *is_v4 = 1;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        *is_v4 = 0;
        return 0;
    }
    return -1;
}

static void mask(unsigned char a[16], int prefix)
{
    for (int i = 0; i < 16; i++) {
        int bits = prefix - i * 8;
        if (bits >= 8)
            continue;
        a[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
    }
}

static int in_net(const unsigned char ip[16], const cf_fetch_rule *r)
{
    unsigned char a[16];
    memcpy(a, ip, 16);
    mask(a, r->prefix);
    return memcmp(a, r->net, 16) == 0;
}

/* A host pattern: labels of letters, digits, '-' and '_' joined by dots,
 * optionally after "*.". Lowercases it into out. 0 or -1. */
static int parse_host_pattern(const char *s, char *out, size_t len)
{
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n >= len || n > 255)
        return -1;
    size_t start = strncmp(s, "*.", 2) == 0 ? 2 : 0;
    if (start >= n)
        return -1;
    char prev = '.';
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (i >= start) {
            if (c == '.' ? prev == '.' : !(isalnum((unsigned char)c) || c == '-' || c == '_'))
                return -1;
            prev = c;
        }
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

/* Parses text into *r (allow and builtin are the caller's). On failure
 * returns CF_EINVAL with the reason (no flag name) in err. */
static int parse_rule(const char *text, cf_fetch_rule *r, cf_error *err)
{
    char addr[300];
    memset(r, 0, sizeof *r);
    if (strlen(text) >= sizeof r->text)
        return cf_error_set(err, CF_EINVAL, "too long");
    snprintf(r->text, sizeof r->text, "%s", text);
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen >= sizeof addr)
        return cf_error_set(err, CF_EINVAL, "not a network, an address or a host name");
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    int is_v4 = 0;
    if (parse_ip(addr, r->net, &is_v4) == 0) {
        int max = is_v4 ? 32 : 128;
        int prefix = max;
        if (slash) {
            char *end;
            long v = strtol(slash + 1, &end, 10);
            if (slash[1] == '\0' || !isdigit((unsigned char)slash[1]) || *end != '\0' || v < 0 ||
                v > max)
                return cf_error_set(err, CF_EINVAL, "the prefix length must be 0 to %d", max);
            prefix = (int)v;
        }
        r->prefix = is_v4 ? 96 + prefix : prefix;
        mask(r->net, r->prefix);
        return CF_OK;
    }
    if (slash)
        return cf_error_set(err, CF_EINVAL, "not a network (ADDRESS/PREFIX)");
    r->is_host = 1;
    if (parse_host_pattern(text, r->text, sizeof r->text) != 0)
        return cf_error_set(err, CF_EINVAL,
                            "not a network, an address or a host name (NAME or *.NAME)");
    return CF_OK;
}

static void builtin_parse(void)
{
    for (size_t i = 0; i < N_BUILTIN; i++) {
        cf_error err;
        int rc = parse_rule(builtin_table[i].rule, &builtin[i], &err);
        assert(rc == CF_OK); /* constants, checked by the unit tests */
        (void)rc;
        builtin[i].builtin = 1;
        builtin[i].why = builtin_table[i].why;
    }
}

int cf_fetch_policy_add(cf_fetch_policy *p, int allow, const char *rule, cf_error *err)
{
    cf_fetch_rule r;
    cf_error why;
    if (parse_rule(rule, &r, &why) != CF_OK)
        return cf_error_set(err, CF_EINVAL, "--fetch-%s %s: %s", allow ? "allow" : "deny", rule,
                            why.msg);
    r.allow = allow;
    cf_fetch_rule *grown = realloc(p->rules, (p->n_rules + 1) * sizeof *grown);
    if (grown == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory for a fetch rule");
    p->rules = grown;
    p->rules[p->n_rules++] = r;
    if (allow)
        p->allow_list = 1;
    return CF_OK;
}

/* How a rule ranks against another that matches with the same
 * specificity: a user's denial, then an allowance, then a built-in denial. */
static int rank(const cf_fetch_rule *r)
{
    return r->allow ? 1 : r->builtin ? 0 : 2;
}

/* How specific a host pattern is: an exact name beats every *.suffix, a
 * longer suffix beats a shorter one. -1 when it does not match name. */
static int host_specificity(const cf_fetch_rule *r, const char *name)
{
    if (strncmp(r->text, "*.", 2) != 0)
        return strcmp(r->text, name) == 0 ? 1000 : -1;
    const char *suffix = r->text + 1; /* ".example.com" */
    size_t ns = strlen(name), ls = strlen(suffix);
    if (ns <= ls || strcmp(name + ns - ls, suffix) != 0)
        return -1;
    return (int)ls;
}

/* Whether candidate (with specificity s) beats the best so far. */
static int beats(const cf_fetch_rule *candidate, int s, const cf_fetch_rule *best, int best_s)
{
    return best == NULL || s > best_s || (s == best_s && rank(candidate) > rank(best));
}

/* The rule that decides name (lowercase, no trailing dot), or NULL. */
static const cf_fetch_rule *decide_host(const cf_fetch_policy *p, const char *name)
{
    const cf_fetch_rule *best = NULL;
    int best_s = -1;
    for (size_t i = 0; i < N_BUILTIN + p->n_rules; i++) {
        const cf_fetch_rule *r = i < N_BUILTIN ? &builtin[i] : &p->rules[i - N_BUILTIN];
        if (!r->is_host)
            continue;
        int s = host_specificity(r, name);
        if (s >= 0 && beats(r, s, best, best_s)) {
            best = r;
            best_s = s;
        }
    }
    return best;
}

/* The rule that decides ip, or NULL. */
static const cf_fetch_rule *decide_addr(const cf_fetch_policy *p, const unsigned char ip[16])
{
    const cf_fetch_rule *best = NULL;
    for (size_t i = 0; i < N_BUILTIN + p->n_rules; i++) {
        const cf_fetch_rule *r = i < N_BUILTIN ? &builtin[i] : &p->rules[i - N_BUILTIN];
        if (!r->is_host && in_net(ip, r) && beats(r, r->prefix, best, best ? best->prefix : -1))
            best = r;
    }
    return best;
}

/* "(link-local/cloud metadata)" or "(--fetch-deny 10.0.0.0/8)". */
static void rule_label(const cf_fetch_rule *r, char *out, size_t len)
{
    if (r->builtin)
        snprintf(out, len, "%s", r->why);
    else
        snprintf(out, len, "--fetch-%s %s", r->allow ? "allow" : "deny", r->text);
}

/* ip as text: IPv4-mapped addresses in dotted form. */
static void ip_text(const unsigned char ip[16], char *out, size_t len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip, mapped, 12) == 0)
        inet_ntop(AF_INET, ip + 12, out, (socklen_t)len);
    else
        inet_ntop(AF_INET6, ip, out, (socklen_t)len);
}

/* The host as a rule sees it: no brackets, no IPv6 zone, lowercase, no
 * trailing dot. -1 when it does not fit. */
static int normalise_host(const char *host, char *out, size_t len)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    const char *zone = memchr(host, '%', n);
    if (zone)
        n = (size_t)(zone - host);
    if (n > 0 && host[n - 1] == '.')
        n--;
    if (n >= len)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)host[i]);
    out[n] = '\0';
    return 0;
}

/* The connected-to address as 16 bytes. 0, or -1 for another family. */
static int sockaddr_ip(const struct sockaddr *sa, socklen_t len, unsigned char out[16])
{
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &in.sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        memcpy(out, &in6.sin6_addr, 16);
        return 0;
    }
    return -1;
}

int cf_fetch_policy_check(const cf_fetch_policy *p, const char *host, const struct sockaddr *addr,
                          socklen_t addr_len, cf_error *err)
{
    char name[1024] = "", label[300], shown[INET6_ADDRSTRLEN];
    unsigned char ip[16];
    int have_ip = 0, is_v4;
    pthread_once(&builtin_once, builtin_parse);
    /* No rule could match a longer name, and none may be skipped. */
    if (host && normalise_host(host, name, sizeof name) != 0)
        return cf_error_set(err, CF_EFETCH, "the host name is too long for the fetch policy");
    int literal = name[0] && parse_ip(name, ip, &is_v4) == 0;
    if (addr) {
        if (sockaddr_ip(addr, addr_len, ip) != 0)
            return cf_error_set(err, CF_EFETCH, "the fetch policy allows only IPv4 and IPv6");
        have_ip = 1;
    } else {
        have_ip = literal;
    }
    /* A literal address is no name: only network rules apply to it. */
    const cf_fetch_rule *by_host = name[0] && !literal ? decide_host(p, name) : NULL;
    if (by_host && !by_host->allow) {
        rule_label(by_host, label, sizeof label);
        return cf_error_set(err, CF_EFETCH, "host %s is denied by the fetch policy (%s)", name,
                            label);
    }
    const cf_fetch_rule *by_addr = have_ip ? decide_addr(p, ip) : NULL;
    if (have_ip)
        ip_text(ip, shown, sizeof shown);
    if (by_addr && !by_addr->allow) {
        rule_label(by_addr, label, sizeof label);
        return cf_error_set(err, CF_EFETCH, "address %s is denied by the fetch policy (%s)", shown,
                            label);
    }
    if (!p->allow_list || (by_host && by_host->allow) || (by_addr && by_addr->allow))
        return CF_OK;
    if (!have_ip)
        return CF_OK; /* the address may still be allowed: decided at connect */
    if (name[0] && !literal)
        return cf_error_set(err, CF_EFETCH,
                            "host %s (address %s) is not allowed by the fetch policy (no "
                            "--fetch-allow rule matches)",
                            name, shown);
    return cf_error_set(err, CF_EFETCH,
                        "address %s is not allowed by the fetch policy (no --fetch-allow rule "
                        "matches)",
                        shown);
}

void cf_fetch_policy_set_default(cf_fetch_policy *p)
{
    cf_fetch_policy_cleanup(&default_policy);
    default_policy = *p;
    memset(p, 0, sizeof *p);
}

const cf_fetch_policy *cf_fetch_policy_get_default(void)
{
    return &default_policy;
}
