/* requirement.h - PEP 440 versions, specifiers, PEP 508 requirement lines and markers. */
#ifndef CF_REQUIREMENT_H
#define CF_REQUIREMENT_H

#include <stddef.h>

#include "error.h"

/* A PEP 440 version, public part only: a local segment ("+git...",
 * "+dfsg") is dropped, since Debian and source builds add one. */
#define CF_VERSION_PARTS 8
typedef struct cf_version {
    long epoch;
    long release[CF_VERSION_PARTS];
    int nrelease;
    int pre_kind;  /* -1 none, 0 a, 1 b, 2 rc */
    long pre;
    long post;     /* -1 none */
    long dev;      /* -1 none */
} cf_version;

/* Parses "1.2.3", "v2.0rc1", "1.13.0a0+gitabc", "1!2.0.post1.dev3" into *v.
 * 0, or CF_EINVAL when s does not start with a release number. */
int cf_version_parse(const char *s, cf_version *v);

/* <0, 0, >0 as a sorts before, equal to or after b (PEP 440 order). */
int cf_version_cmp(const cf_version *a, const cf_version *b);

/* Does version satisfy specs ("", ">=1,<2", "==1.4.*", "~=1.4", "!=1.5")?
 * 1 yes; 0 no; 2 only if a pre-release counts as its final release (Debian's
 * torch 1.13.0a0 for ">=1.13"); CF_EINVAL, with err set, when a clause or the
 * version cannot be parsed. */
int cf_version_satisfies(const char *version, const char *specs, cf_error *err);

/* PEP 503 name normalisation: lowercase, runs of "-_." become one "-". */
void cf_check_normalize_name(const char *in, char *out, size_t len);

/* One requirement line in the PEP 508 subset cog.yaml and requirements.txt
 * use: name[extras] (specs) ; marker. Fields are "" when absent. */
typedef struct cf_requirement {
    char name[128];    /* normalised */
    char written[128]; /* as written, for messages */
    char specs[256];   /* ">=1,<2", no spaces */
    char marker[256];  /* the text after ';', trimmed */
    int is_url;        /* "name @ https://...": presence only */
} cf_requirement;

/* Parses one requirement (comments after " #" already allowed). 0, or
 * CF_EINVAL with err naming what is wrong. */
int cf_requirement_parse(const char *line, cf_requirement *req, cf_error *err);

/* Evaluates an environment marker with and/or over comparisons of
 * python_version, python_full_version, sys_platform, platform_system,
 * os_name and implementation_name. 1 true, 0 false, -1 when it uses
 * anything else (parentheses, extra, unknown variables). */
int cf_marker_eval(const char *marker, const char *python_full_version,
                   const char *sys_platform);

#endif
