/* fetch_policy.h - which hosts and networks URL inputs may be fetched from, and how much.
 *
 * A prediction's file inputs may be http(s) URLs that the front downloads.
 * Without a policy anyone who can POST a prediction can make the server
 * fetch http://169.254.169.254/ (the cloud metadata service, with its
 * credentials) or probe the internal network. A policy is a list of rules
 * plus a size and a time limit; http_client.c applies it to the URL's host
 * before a transfer and to every resolved address right before each
 * connect (redirects included), so a denied address is never connected to.
 *
 * A RULE is one of
 *   a network    10.0.0.0/8, fd00::/8, [fe80::]/10
 *   an address   127.0.0.1, ::1 (the same as /32 or /128)
 *   a host name  example.com (that name only), *.example.com (its subdomains,
 *                not example.com itself); case-insensitive, trailing dot ignored
 * IPv4 and IPv4-mapped IPv6 are the same address: ::ffff:169.254.169.254
 * matches 169.254.0.0/16. Host-name rules match the URL's host (also after a
 * redirect), network rules the address actually connected to.
 *
 * Built-in denials, always in force: 0.0.0.0/8 ("this host"),
 * ::/128, link-local 169.254.0.0/16 and fe80::/10 (AWS, GCP, Azure metadata
 * at 169.254.169.254), fd00:ec2::254 (AWS IPv6 metadata), 100.100.100.200
 * (Alibaba metadata), metadata.google.internal. Loopback and private ranges
 * are allowed by default; a host that serves untrusted users should add
 * --fetch-deny 127.0.0.0/8 --fetch-deny ::1 --fetch-deny 10.0.0.0/8
 * --fetch-deny 172.16.0.0/12 --fetch-deny 192.168.0.0/16 --fetch-deny fc00::/7.
 *
 * Precedence. Host names and addresses are decided separately, each by its
 * most specific matching rule: the longest prefix for networks (an IPv4 /n
 * counts as /96+n), an exact name over any *.pattern, a longer *.suffix
 * over a shorter one. On a tie a --fetch-deny wins over a --fetch-allow,
 * which wins over a built-in denial: so --fetch-allow 169.254.169.254 (or
 * 169.254.0.0/16) lifts the built-in denial, but --fetch-allow 0.0.0.0/0
 * does not. A connection is refused when its host's verdict or its
 * address's verdict is deny. When at least one --fetch-allow is given
 * (allow-list mode), a connection must also be allowed by a rule: its host
 * name or its address must have an allow verdict.
 *
 * A proxy (http_proxy, ...) makes the proxy's address the one connected to:
 * its address is then checked, the target's only by name or literal IP.
 */
#ifndef CF_FETCH_POLICY_H
#define CF_FETCH_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

/* Defaults of the limits (--fetch-max-bytes, --fetch-timeout,
 * --fetch-min-rate, --fetch-min-rate-window). The low-speed limit ends a
 * download that trickles (a dead or hostile server) long before the total
 * timeout: less than 1 KiB/s over 30 s gives up. */
#define CF_FETCH_DEFAULT_MAX_BYTES (2ull << 30) /* 2 GiB */
#define CF_FETCH_DEFAULT_TIMEOUT_S 300.0
#define CF_FETCH_DEFAULT_MIN_RATE 1024 /* bytes/s */
#define CF_FETCH_DEFAULT_MIN_RATE_WINDOW_S 30

/* One parsed rule. */
typedef struct cf_fetch_rule {
    int allow;             /* 1: --fetch-allow; 0: a denial */
    int builtin;           /* one of the built-in denials */
    int is_host;           /* a host-name pattern, else a network */
    unsigned char net[16]; /* the network (IPv4 as ::ffff:a.b.c.d), masked */
    int prefix;            /* 0..128 on that scale */
    char text[256];        /* the rule as written; host patterns lowercased */
    const char *why;       /* for a built-in denial: what it protects */
} cf_fetch_rule;

/* Caller-owned: _init, then _add rules, then _cleanup. Read-only (and so
 * thread-safe to check against) once built. */
typedef struct cf_fetch_policy {
    cf_fetch_rule *rules; /* the --fetch-allow/--fetch-deny rules, in order */
    size_t n_rules;
    int allow_list;       /* any --fetch-allow rule: allow-list mode */
    uint64_t max_bytes;   /* largest download; 0: no limit */
    double timeout_s;     /* whole transfer, redirects included; 0: no limit */
    uint64_t min_rate;    /* bytes/s below which a download fails...; 0: no limit */
    long min_rate_window_s; /* ...when it stays below for this many seconds */
} cf_fetch_policy;

/* No user rules, the default limits. The built-in denials apply to every
 * policy and are not stored in it. */
void cf_fetch_policy_init(cf_fetch_policy *p);

/* Frees the rules; p can be _init'ed again. */
void cf_fetch_policy_cleanup(cf_fetch_policy *p);

/* Parses rule and appends it as an allow (allow = 1) or deny rule. Returns
 * 0, CF_EINVAL with "--fetch-deny RULE: why" in err, or CF_ENOMEM. */
int cf_fetch_policy_add(cf_fetch_policy *p, int allow, const char *rule, cf_error *err);

/* Decides a connection. host is the URL's host as in the URL (a name, an
 * IPv4 address or an IPv6 one in brackets; NULL: unknown); addr is the
 * address about to be connected to (NULL: not resolved yet, then only what
 * the host itself decides: its name, or the address a literal host is).
 * Returns 0 when allowed (or not decidable yet), else CF_EFETCH with the
 * reason in err, e.g. "address 169.254.169.254 is denied by the fetch
 * policy (link-local/cloud metadata)". */
int cf_fetch_policy_check(const cf_fetch_policy *p, const char *host, const struct sockaddr *addr,
                          socklen_t addr_len, cf_error *err);

/* Makes *p the process's policy for URL inputs and takes what it owns (*p
 * is zeroed). Call once at start-up, before any thread fetches. */
void cf_fetch_policy_set_default(cf_fetch_policy *p);

/* The process's policy: what _set_default got, else no user rules and the
 * default limits. Borrowed, lives until exit. */
const cf_fetch_policy *cf_fetch_policy_get_default(void);

#endif
