/* check.c - `cog-fcgi check`: validates a project against the host it will run on.
 *
 * Cog builds an image from cog.yaml; we run on a host someone else set up.
 * This command answers "would it work here?" before nginx sends traffic: it
 * loads cog.yaml, asks the project's interpreter (as a subprocess: the front
 * never runs Python) which versions of the requested distributions are
 * installed, asks dpkg about system packages and, for a GPU model, asks
 * nvidia-smi and torch whether CUDA will work. Each finding is one check
 * (ok / warn / error) with a how-to-fix; any error means exit status 1.
 *
 * Versions, specifiers, requirement lines and markers are parsed by the pure
 * functions of requirement.c (unit-tested in tests/unit/test_check.c); the
 * model's source and its virtualenv are read by check_source.c; this file runs
 * the subprocesses and prints the report.
 */
#include "check.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check_internal.h"
#include "cogyaml.h"

/* ------------------------------------------------------------------ */
/* Running helpers: the interpreter, dpkg-query, nvidia-smi            */

/* See check_internal.h. */
int cf_check_run(char *const argv[], int merge_stderr, double timeout_s, char **out,
                       int *wstatus, cf_error *err)
{
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    int fa_ready = 0;
    pid_t pid = -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        rc = cf_error_set(err, CF_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    fa_ready = 1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    if (merge_stderr)
        posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    if (e != 0) {
        pid = -1;
        rc = e == ENOENT ? CF_ENOTFOUND
                         : cf_error_set(err, CF_EIO, "cannot run %s: %s", argv[0], strerror(e));
        goto out;
    }
    close(fds[1]);
    fds[1] = -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double deadline = (double)now.tv_sec + now.tv_nsec / 1e9 + timeout_s;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = deadline - ((double)now.tv_sec + now.tv_nsec / 1e9);
        if (left <= 0) {
            kill(pid, SIGKILL);
            rc = cf_error_set(err, CF_EIO, "%s did not finish in %.0f s", argv[0], timeout_s);
            goto out;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r <= 0)
            continue; /* EINTR or the deadline: the loop decides */
        if (cap - len < 4096) {
            if (cap >= 4u << 20) {
                kill(pid, SIGKILL);
                rc = cf_error_set(err, CF_EIO, "%s wrote more than 4 MiB", argv[0]);
                goto out;
            }
            char *g = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (g == NULL) {
                kill(pid, SIGKILL);
                rc = cf_error_set(err, CF_ENOMEM, "out of memory");
                goto out;
            }
            buf = g;
        }
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (buf == NULL && (buf = malloc(1)) == NULL) {
        rc = cf_error_set(err, CF_ENOMEM, "out of memory");
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    rc = CF_OK;
out:
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (fa_ready)
        posix_spawn_file_actions_destroy(&fa);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(buf);
    return rc;
}

/* What the interpreter reports, as JSON on the saved stdout: anything an
 * import prints goes to stderr instead. sys.path is the worker's: the
 * project, then $PYTHONPATH, then site (see predictor/worker/py_interp.c). */
static const char py_probe[] =
    "import json, os, sys\n"
    "out = os.fdopen(os.dup(1), 'w')\n"
    "os.dup2(2, 1)\n"
    "r = {'executable': sys.executable, 'version': '%d.%d.%d' % sys.version_info[:3],\n"
    "     'platform': sys.platform, 'packages': {}}\n"
    "extra = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]\n"
    "sys.path[0:0] = [sys.argv[1]] + extra\n"
    "try:\n"
    "    import importlib.metadata as md\n"
    "except BaseException:\n"
    "    md = None\n"
    "for name in sys.argv[3:]:\n"
    "    v = None\n"
    "    try:\n"
    "        v = md.version(name)\n"
    "    except BaseException:\n"
    "        pass\n"
    "    r['packages'][name] = v\n"
    "if sys.argv[2] == '1':\n"
    "    t = {}\n"
    "    try:\n"
    "        import torch\n"
    "        t['version'] = torch.__version__\n"
    "        t['cuda'] = torch.version.cuda\n"
    "        t['available'] = bool(torch.cuda.is_available())\n"
    "        n = torch.cuda.device_count() if t['available'] else 0\n"
    "        t['devices'] = [torch.cuda.get_device_name(i) for i in range(n)]\n"
    "    except BaseException as e:\n"
    "        t['error'] = '%s: %s' % (type(e).__name__, e)\n"
    "    r['torch'] = t\n"
    "out.write(json.dumps(r))\n"
    "out.flush()\n";


/* ------------------------------------------------------------------ */
/* The report                                                          */


typedef struct requirement_entry {
    cf_requirement req;
    char origin[PATH_MAX + 32]; /* "python_packages" or "requirements.txt:3" */
} requirement_entry;

/* Adds one check. status is "ok", "warn" or "error"; fix may be NULL. */
void cf_check_add(cf_checker *c, const char *status, const char *name, const char *fix,
                  const char *fmt, ...)
{
    char detail[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (status[0] == 'e')
        c->errors++;
    else if (status[0] == 'w')
        c->warnings++;
    else
        c->oks++;
    json_array_append_new(c->checks,
                          json_pack("{s:s, s:s, s:s, s:s?}", "name", name, "status", status,
                                    "detail", detail, "fix", fix));
}

/* Checks that the file of a "file.py:Class" reference exists. */
static void check_ref(cf_checker *c, const char *key, const char *ref)
{
    char file[PATH_MAX], path[2 * PATH_MAX + 2], fix[PATH_MAX + 64];
    snprintf(file, sizeof file, "%s", ref);
    char *colon = strchr(file, ':');
    if (colon == NULL) {
        cf_check_add(c, "error", key, "write it as \"predict.py:Predictor\" (file:class or file:function)",
            "%s: \"%s\" names no class or function", key, ref);
        return;
    }
    *colon = '\0';
    snprintf(path, sizeof path, "%s/%s", c->project, file);
    if (access(path, R_OK) != 0) {
        snprintf(fix, sizeof fix, "create %s or correct `%s:` in cog.yaml", file, key);
        cf_check_add(c, "error", key, fix, "%s: %s: %s", ref, file, strerror(errno));
        return;
    }
    cf_check_add(c, "ok", key, NULL, "%s (%s exists)", ref, file);
}

/* Picks the interpreter as `serve` would: --venv, PROJECT/.venv,
 * $COG_FCGI_PYTHON, else Debian's /usr/bin/python3. 0 or -1 (reported). */
static int choose_python(cf_checker *c, const char *venv)
{
    char dir[PATH_MAX + 8];
    if (venv == NULL) {
        snprintf(dir, sizeof dir, "%s/.venv", c->project);
        if (access(dir, F_OK) == 0)
            venv = dir;
    }
    if (venv != NULL) {
        snprintf(c->python, sizeof c->python, "%s/bin/python", venv);
        c->venv = 1;
        if (access(c->python, X_OK) != 0) {
            cf_check_add(c, "error", "python", "create it with /usr/bin/python3 -m venv --system-site-packages PATH",
                "virtualenv %s has no bin/python: %s", venv, strerror(errno));
            return -1;
        }
        return 0;
    }
    const char *env = getenv("COG_FCGI_PYTHON");
    snprintf(c->python, sizeof c->python, "%s", env && *env ? env : "/usr/bin/python3");
    return 0;
}

/* Runs the probe with every requirement's name; sets c->py. */
static void probe_python(cf_checker *c, const requirement_entry *reqs, size_t n, int gpu)
{
    char **argv = calloc(n + 8, sizeof *argv);
    char *text = NULL;
    int ws = 0;
    cf_error err;
    cf_error_clear(&err);
    if (argv == NULL) {
        cf_check_add(c, "error", "python", NULL, "out of memory");
        return;
    }
    size_t a = 0;
    argv[a++] = c->python;
    argv[a++] = "-I"; /* as the worker: no PYTHON* variables, no user site */
    argv[a++] = "-c";
    argv[a++] = (char *)py_probe;
    argv[a++] = c->project;
    argv[a++] = gpu ? "1" : "0";
    for (size_t i = 0; i < n; i++)
        argv[a++] = (char *)reqs[i].req.name;
    int rc = cf_check_run(argv, 0, PY_PROBE_TIMEOUT, &text, &ws, &err);
    json_error_t jerr;
    if (rc == CF_ENOTFOUND) {
        cf_check_add(c, "error", "python", "install python3 or pass --venv PATH", "%s: not found",
            c->python);
    } else if (rc != CF_OK) {
        cf_check_add(c, "error", "python", NULL, "%s: %s", c->python, err.msg);
    } else if ((c->py = json_loads(text, 0, &jerr)) == NULL || !json_is_object(c->py)) {
        json_decref(c->py);
        c->py = NULL;
        cf_check_add(c, "error", "python", "run it by hand to see why it fails",
            "%s did not answer (exit status %d)", c->python,
            WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws));
    }
    free(text);
    free(argv);
}

/* "3.11.2" -> major, minor. 0 or -1. */
static int major_minor(const char *v, int *major, int *minor)
{
    return v != NULL && sscanf(v, "%d.%d", major, minor) == 2 ? 0 : -1;
}

/* build.python_version against the interpreter, and the interpreter
 * against the libpython the worker embeds. */
static void check_python_version(cf_checker *c, const cf_cogyaml *y)
{
    const char *have = json_string_value(json_object_get(c->py, "version"));
    int hmaj, hmin, wmaj, wmin, emaj, emin;
    char fix[256];
    if (major_minor(have, &hmaj, &hmin) < 0) {
        cf_check_add(c, "error", "python", NULL, "%s reported no version", c->python);
        return;
    }
    if (major_minor(CF_PYTHON_VERSION, &emaj, &emin) == 0 && (emaj != hmaj || emin != hmin)) {
        snprintf(fix, sizeof fix, "use a virtualenv made by Python %d.%d: "
                 "/usr/bin/python3 -m venv --system-site-packages PATH", emaj, emin);
        cf_check_add(c, "error", "python", fix,
            "%s is Python %s but the worker embeds Python %d.%d: compiled packages will not load",
            c->python, have, emaj, emin);
    } else {
        cf_check_add(c, "ok", "python", NULL, "%s is Python %s", c->python, have);
    }
    if (y->python_version == NULL) {
        cf_check_add(c, "ok", "python_version", NULL, "not set in cog.yaml; the model runs on Python %d.%d",
            hmaj, hmin);
    } else if (major_minor(y->python_version, &wmaj, &wmin) < 0) {
        cf_check_add(c, "error", "python_version", "write it as \"3.11\"",
            "build.python_version \"%s\" is not a Python version", y->python_version);
    } else if (wmaj != hmaj || wmin != hmin) {
        snprintf(fix, sizeof fix, "test the model on Python %d.%d and set build.python_version: "
                 "\"%d.%d\" in cog.yaml", hmaj, hmin, hmaj, hmin);
        cf_check_add(c, "warn", "python_version", fix,
            "cog.yaml asks for Python %s but this host runs models on Python %s (serve warns "
            "too): the model or its packages may not import", y->python_version, have);
    } else {
        cf_check_add(c, "ok", "python_version", NULL, "cog.yaml asks for %s, the interpreter is %s",
            y->python_version, have);
    }
}

/* How to install a requirement, for the interpreter in use. */
static void install_hint(const cf_checker *c, const cf_requirement *r, int missing, char *buf,
                         size_t len)
{
    if (c->venv)
        snprintf(buf, len, "%s -m pip install '%s%s'", c->python, r->written, r->specs);
    else if (missing)
        snprintf(buf, len, "apt-get install python3-%s, or use a virtualenv (--venv PATH) "
                 "and pip install '%s%s'", r->name, r->written, r->specs);
    else
        snprintf(buf, len, "use a virtualenv (--venv PATH, with --system-site-packages) and "
                 "pip install '%s%s' in it", r->written, r->specs);
}

static void check_requirement(cf_checker *c, const requirement_entry *e)
{
    const cf_requirement *r = &e->req;
    char name[160], fix[PATH_MAX + 1024];
    snprintf(name, sizeof name, "package %s", r->written);
    const char *pyver = json_string_value(json_object_get(c->py, "version"));
    const char *plat = json_string_value(json_object_get(c->py, "platform"));
    int applies = 1;
    if (r->marker[0]) {
        applies = cf_marker_eval(r->marker, pyver ? pyver : "", plat ? plat : "linux");
        if (applies == 0) {
            cf_check_add(c, "ok", name, NULL, "not needed here (%s; marker: %s)", e->origin, r->marker);
            return;
        }
    }
    json_t *v = json_object_get(json_object_get(c->py, "packages"), r->name);
    const char *have = json_string_value(v); /* borrowed */
    if (have == NULL) {
        install_hint(c, r, 1, fix, sizeof fix);
        if (applies < 0)
            cf_check_add(c, "warn", name, fix, "not installed (%s); its marker \"%s\" was not evaluated, "
                "it may not be needed", e->origin, r->marker);
        else
            cf_check_add(c, "error", name, fix, "not installed (%s)", e->origin);
        return;
    }
    if (r->is_url || r->specs[0] == '\0') {
        cf_check_add(c, "ok", name, NULL, "%s is installed (%s%s)", have, e->origin,
            r->is_url ? "; a URL requirement, version not checked" : "");
        return;
    }
    cf_error err;
    cf_error_clear(&err);
    int sat = cf_version_satisfies(have, r->specs, &err);
    if (sat == 1) {
        cf_check_add(c, "ok", name, NULL, "%s satisfies %s (%s)", have, r->specs, e->origin);
    } else if (sat == 2) {
        install_hint(c, r, 0, fix, sizeof fix);
        cf_check_add(c, "warn", name, fix, "%s is a pre-release build (Debian packages snapshots so); "
            "pip would not count it for %s, the release it precedes would (%s)", have, r->specs,
            e->origin);
    } else if (sat == 0) {
        install_hint(c, r, 0, fix, sizeof fix);
        cf_check_add(c, "error", name, fix, "%s is installed but %s asks for %s", have, e->origin,
            r->specs);
    } else {
        cf_check_add(c, "warn", name, NULL, "%s is installed; not compared with %s: %s", have, r->specs,
            err.msg);
    }
}

/* Appends a parsed requirement; grows *reqs. 0 or -1 on no memory. */
static int push_requirement(requirement_entry **reqs, size_t *n, size_t *cap,
                            const cf_requirement *r, const char *origin)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        requirement_entry *g = realloc(*reqs, ncap * sizeof *g);
        if (g == NULL)
            return -1;
        *reqs = g;
        *cap = ncap;
    }
    (*reqs)[*n].req = *r;
    snprintf((*reqs)[*n].origin, sizeof (*reqs)[*n].origin, "%s", origin);
    (*n)++;
    return 0;
}

/* Reads build.python_requirements (relative to the project): one
 * requirement per line, "\" continuations, pip options skipped with a
 * warning. Problems are reported as checks. */
static void read_requirements_file(cf_checker *c, const char *rel, requirement_entry **reqs,
                                   size_t *n, size_t *cap)
{
    char path[2 * PATH_MAX + 2], origin[PATH_MAX + 32];
    if (rel[0] == '/')
        snprintf(path, sizeof path, "%s", rel);
    else
        snprintf(path, sizeof path, "%s/%s", c->project, rel);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cf_check_add(c, "error", "python_requirements", "create it or correct build.python_requirements",
            "%s: %s", rel, strerror(errno));
        return;
    }
    char *line = NULL, logical[4096];
    size_t linecap = 0, used = 0;
    int lineno = 0, start = 0, count = 0;
    ssize_t got;
    while ((got = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (used == 0)
            start = lineno;
        int more = got > 0 && line[got - 1] == '\\';
        if (more)
            line[--got] = '\0';
        if (used + (size_t)got + 1 < sizeof logical) {
            memcpy(logical + used, line, (size_t)got);
            used += (size_t)got;
        }
        logical[used] = '\0';
        if (more)
            continue;
        used = 0;
        snprintf(origin, sizeof origin, "%s:%d", rel, start);
        const char *p = logical;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (*p == '-') {
            cf_check_add(c, "warn", "python_requirements", NULL,
                "%s: \"%s\" is a pip option, not checked", origin, p);
            continue;
        }
        /* Per-requirement options (--hash=...) are pip's business. */
        char *opt = strstr(logical, " --");
        if (opt != NULL)
            *opt = '\0';
        cf_requirement r;
        cf_error err;
        cf_error_clear(&err);
        if (cf_requirement_parse(p, &r, &err) != CF_OK) {
            cf_check_add(c, "warn", "python_requirements", NULL, "%s: %s, not checked", origin, err.msg);
            continue;
        }
        if (push_requirement(reqs, n, cap, &r, origin) < 0)
            break;
        count++;
    }
    free(line);
    fclose(f);
    cf_check_add(c, "ok", "python_requirements", NULL, "%s: %d requirement%s", rel, count,
        count == 1 ? "" : "s");
}

/* system_packages: each must be installed (dpkg), at the version given
 * as "name=version" if one is. */
static void check_system_packages(cf_checker *c, char **pkgs)
{
    for (size_t i = 0; pkgs != NULL && pkgs[i] != NULL; i++) {
        char pkg[256], name[300], fix[600];
        snprintf(pkg, sizeof pkg, "%s", pkgs[i]);
        char *want = strchr(pkg, '=');
        if (want != NULL)
            *want++ = '\0';
        snprintf(name, sizeof name, "system package %s", pkg);
        snprintf(fix, sizeof fix, "apt-get install %s", pkgs[i]);
        char *argv[] = {"dpkg-query", "-W", "-f=${Status}\t${Version}", pkg, NULL};
        char *text = NULL;
        int ws = 0;
        cf_error err;
        cf_error_clear(&err);
        int rc = cf_check_run(argv, 0, 30, &text, &ws, &err);
        if (rc == CF_ENOTFOUND) {
            cf_check_add(c, "warn", "system_packages", NULL,
                "dpkg-query not found (not a Debian host): system packages not checked");
            return;
        }
        if (rc != CF_OK) {
            cf_check_add(c, "warn", name, NULL, "not checked: %s", err.msg);
            continue;
        }
        char *tab = strchr(text, '\t');
        const char *version = tab ? tab + 1 : "";
        if (tab)
            *tab = '\0';
        size_t sl = strlen(text);
        /* "install ok installed"; "deinstall ok config-files" is gone */
        int installed = WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && sl >= 12 &&
                        strcmp(text + sl - 12, "ok installed") == 0;
        if (!installed)
            cf_check_add(c, "error", name, fix, "not installed%s%s%s", sl ? " (dpkg: " : "", text,
                sl ? ")" : "");
        else if (want != NULL && strcmp(version, want) != 0)
            cf_check_add(c, "error", name, fix, "%s is installed, cog.yaml asks for %s", version, want);
        else
            cf_check_add(c, "ok", name, NULL, "%s is installed", version);
        free(text);
    }
}

/* build.gpu: a driver (nvidia-smi), the CUDA version it supports, and a
 * torch built for a CUDA no newer than that which sees a device. */
static void check_gpu(cf_checker *c)
{
    const char *no_gpu_fix = "install the NVIDIA driver and check that `nvidia-smi` lists the "
                             "GPU, or set build.gpu: false if the model runs on the CPU";
    char *query[] = {"nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader",
                     NULL};
    char *plain[] = {"nvidia-smi", NULL};
    char *text = NULL, driver_cuda[32] = "";
    int ws = 0, gpus = 0;
    cf_error err;
    cf_error_clear(&err);
    int rc = cf_check_run(query, 1, 30, &text, &ws, &err);
    if (rc == CF_ENOTFOUND) {
        cf_check_add(c, "error", "gpu", no_gpu_fix, "build.gpu is true but this host has no NVIDIA "
            "driver (nvidia-smi not found): no CUDA device is visible, the model would fail "
            "or run on the CPU");
    } else if (rc != CF_OK) {
        cf_check_add(c, "error", "gpu", no_gpu_fix, "nvidia-smi: %s", err.msg);
    } else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        char *nl = strchr(text, '\n');
        if (nl)
            *nl = '\0';
        cf_check_add(c, "error", "gpu", no_gpu_fix, "build.gpu is true but nvidia-smi fails: %s", text);
    } else {
        char first[256] = "";
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            if (gpus++ == 0)
                snprintf(first, sizeof first, "%s", line);
        free(text);
        text = NULL;
        if (cf_check_run(plain, 1, 30, &text, &ws, &err) == CF_OK) {
            const char *cv = strstr(text, "CUDA Version:");
            if (cv)
                sscanf(cv + 13, " %31[0-9.]", driver_cuda);
        }
        if (gpus == 0)
            cf_check_add(c, "error", "gpu", no_gpu_fix, "nvidia-smi lists no GPU");
        else
            cf_check_add(c, "ok", "gpu", NULL, "%d GPU%s (driver, name: %s), driver supports CUDA %s",
                gpus, gpus == 1 ? "" : "s", first, driver_cuda[0] ? driver_cuda : "(unknown)");
    }
    free(text);

    json_t *t = json_object_get(c->py, "torch"); /* borrowed */
    const char *terr = json_string_value(json_object_get(t, "error"));
    const char *tver = json_string_value(json_object_get(t, "version"));
    const char *tcuda = json_string_value(json_object_get(t, "cuda"));
    char fix[512];
    if (driver_cuda[0])
        snprintf(fix, sizeof fix, "install a torch built for CUDA %s or older, e.g. pip install "
                 "torch --index-url https://download.pytorch.org/whl/cu121 (cuXYZ <= %s)",
                 driver_cuda, driver_cuda);
    else
        snprintf(fix, sizeof fix, "install a torch built for CUDA no newer than the driver's "
                 "(`nvidia-smi` shows it), e.g. pip install torch --index-url "
                 "https://download.pytorch.org/whl/cu121");
    if (c->py == NULL)
        return;
    if (terr != NULL && strncmp(terr, "ModuleNotFoundError", 19) == 0) {
        cf_check_add(c, "warn", "torch", NULL, "torch is not installed: CUDA use by the model not checked");
        return;
    }
    if (terr != NULL) {
        cf_check_add(c, "error", "torch", "run `python -c 'import torch'` to see why",
            "import torch fails: %s", terr);
        return;
    }
    if (tcuda == NULL) {
        cf_check_add(c, "error", "torch cuda", fix, "torch %s is built without CUDA (a CPU-only build): "
            "the model cannot use a GPU", tver ? tver : "?");
        return;
    }
    cf_version tv, dv;
    if (driver_cuda[0] && cf_version_parse(tcuda, &tv) == CF_OK &&
        cf_version_parse(driver_cuda, &dv) == CF_OK && cf_version_cmp(&tv, &dv) > 0) {
        cf_check_add(c, "error", "torch cuda", fix, "torch %s is built for CUDA %s but the driver "
            "supports CUDA %s at most", tver ? tver : "?", tcuda, driver_cuda);
        return;
    }
    if (!json_is_true(json_object_get(t, "available"))) {
        cf_check_add(c, "error", "torch cuda", "check /dev/nvidia* permissions for the service's user "
            "and CUDA_VISIBLE_DEVICES", "torch %s (CUDA %s) sees no CUDA device "
            "(torch.cuda.is_available() is False)", tver ? tver : "?", tcuda);
        return;
    }
    json_t *devs = json_object_get(t, "devices");
    cf_check_add(c, "ok", "torch cuda", NULL, "torch %s (CUDA %s) sees %zu device%s: %s",
        tver ? tver : "?", tcuda, json_array_size(devs), json_array_size(devs) == 1 ? "" : "s",
        json_string_value(json_array_get(devs, 0)) ?: "?");
}

static void print_text(const cf_checker *c)
{
    printf("cog-fcgi check %s\n", c->project);
    size_t i;
    json_t *ch;
    json_array_foreach(c->checks, i, ch) {
        const char *fix = json_string_value(json_object_get(ch, "fix"));
        printf("%-6s %s: %s\n", json_string_value(json_object_get(ch, "status")),
               json_string_value(json_object_get(ch, "name")),
               json_string_value(json_object_get(ch, "detail")));
        if (fix)
            printf("       fix: %s\n", fix);
    }
    printf("%d ok, %d warning%s, %d error%s: %s\n", c->oks, c->warnings,
           c->warnings == 1 ? "" : "s", c->errors, c->errors == 1 ? "" : "s",
           c->errors ? "this project would break at run time" : "ready to serve");
}

static void print_json(const cf_checker *c)
{
    json_t *doc = json_pack("{s:b, s:s, s:s, s:O, s:O}", "ok", c->errors == 0, "project",
                            c->project, "interpreter", c->python, "checks", c->checks,
                            "python", c->py ? c->py : json_null());
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(doc);
}

static void usage_check(FILE *f)
{
    fprintf(f, "usage: cog-fcgi check [PROJECT_DIR] [--json] [--venv PATH]\n"
               "  would the project (default: the current directory) run on this host? Checks\n"
               "  cog.yaml, the Python version and the virtualenv's origin, that predict.py\n"
               "  compiles (syntax errors with file and line), that the modules it imports and\n"
               "  the programs it runs are here (without importing it: setup() never runs),\n"
               "  python_packages / python_requirements, system_packages and (build.gpu) CUDA;\n"
               "  exit 1 if something would break at run time\n"
               "\n"
               "  --json        the report as JSON\n"
               "  --venv PATH   the virtualenv serve would use (default: PROJECT_DIR/.venv)\n"
               "  -h, --help    this help\n");
}

int cf_cli_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"venv", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, c;
    const char *venv = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'j') {
            as_json = 1;
        } else if (c == 'E') {
            venv = optarg;
        } else {
            usage_check(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "cog-fcgi: unexpected argument '%s' (one PROJECT_DIR at most)\n",
                argv[optind + 1]);
        usage_check(stderr);
        return 2;
    }
    const char *dir = optind < argc ? argv[optind] : "."; /* as predict: here by default */
    cf_checker ck;
    memset(&ck, 0, sizeof ck);
    ck.checks = json_array();
    cf_cogyaml y;
    memset(&y, 0, sizeof y);
    requirement_entry *reqs = NULL;
    size_t nreq = 0, capreq = 0;
    cf_error err;
    cf_error_clear(&err);
    if (realpath(dir, ck.project) == NULL) {
        snprintf(ck.project, sizeof ck.project, "%s", dir);
        cf_check_add(&ck, "error", "project", NULL, "%s: %s", dir, strerror(errno));
        goto report;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cog.yaml", ck.project);
    if (cf_cogyaml_load(path, &y, &err) != CF_OK) {
        cf_check_add(&ck, "error", "cog.yaml", "correct cog.yaml (Cog's schema: build, predict, train, "
            "concurrency, environment, image)", "%s", err.msg);
        goto report;
    }
    cf_check_add(&ck, "ok", "cog.yaml", NULL, "%s is valid", path);
    if (y.predict == NULL)
        cf_check_add(&ck, "error", "predict", "add predict: \"predict.py:Predictor\" to cog.yaml",
            "cog.yaml has no predict: (or run:) entry: nothing to serve");
    else
        check_ref(&ck, "predict", y.predict);
    if (y.train != NULL)
        check_ref(&ck, "train", y.train);

    for (size_t i = 0; y.python_packages != NULL && y.python_packages[i] != NULL; i++) {
        cf_requirement r;
        if (cf_requirement_parse(y.python_packages[i], &r, &err) != CF_OK)
            cf_check_add(&ck, "warn", "python_packages", NULL, "%s, not checked", err.msg);
        else if (push_requirement(&reqs, &nreq, &capreq, &r, "python_packages") < 0)
            break;
    }
    if (y.python_requirements != NULL)
        read_requirements_file(&ck, y.python_requirements, &reqs, &nreq, &capreq);

    if (choose_python(&ck, venv) == 0) {
        probe_python(&ck, reqs, nreq, y.gpu);
        if (ck.py != NULL) {
            check_python_version(&ck, &y);
            cf_check_venv_origin(&ck);
            cf_check_sources(&ck, &y);
            for (size_t i = 0; i < nreq; i++)
                check_requirement(&ck, &reqs[i]);
        }
    }
    if (ck.py == NULL && nreq > 0)
        cf_check_add(&ck, "error", "python_packages", NULL,
            "%zu requirement%s not checked: no interpreter answered", nreq, nreq == 1 ? "" : "s");
    check_system_packages(&ck, y.system_packages);
    if (y.gpu)
        check_gpu(&ck);
report:
    if (as_json)
        print_json(&ck);
    else
        print_text(&ck);
    int status = ck.errors ? 1 : 0;
    free(reqs);
    json_decref(ck.py);
    json_decref(ck.checks);
    cf_cogyaml_cleanup(&y);
    return status;
}
