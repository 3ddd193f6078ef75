/* py_interp.c - starting the embedded interpreter and turning exceptions into cf_error. */
#include "py.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The cog package travels next to the binary (build/python/cog) or, once
 * installed, in <prefix>/lib/cog-fcgi/python. Fills out with the directory
 * that holds cog/__init__.py; returns 0 or CF_ENOTFOUND. */
static int find_cog_dir(char *out, size_t size, cf_error *err)
{
    static const char *const rel[] = {"python", "../lib/cog-fcgi/python"};
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return cf_error_set(err, CF_ENOTFOUND, "cannot read /proc/self/exe");
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char probe[PATH_MAX + 64];
        snprintf(probe, sizeof probe, "%s/%s/cog/__init__.py", exe, rel[i]);
        if (access(probe, R_OK) == 0) {
            snprintf(out, size, "%s/%s", exe, rel[i]);
            return 0;
        }
    }
    return cf_error_set(err, CF_ENOTFOUND, "the cog package is not in %s/python "
                        "nor in %s/../lib/cog-fcgi/python", exe, exe);
}

int cf_py_error_take(cf_error *err, int code, const char *what)
{
    PyObject *type = NULL, *value = NULL, *tb = NULL;
    PyObject *text = NULL;
    const char *msg = NULL;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL)
        text = PyObject_Str(value);
    if (text != NULL)
        msg = PyUnicode_AsUTF8(text);
    PyErr_Clear(); /* anything str() itself raised */
    cf_error_set(err, code, "%s: %s: %s", what,
                 type != NULL ? ((PyTypeObject *)type)->tp_name : "unknown error",
                 msg != NULL ? msg : "?");
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return code;
}

/* sys.path.insert(pos, dir) */
static int path_insert(PyObject *path, Py_ssize_t pos, const char *dir, cf_error *err)
{
    PyObject *s = PyUnicode_DecodeFSDefault(dir);
    if (s == NULL || PyList_Insert(path, pos, s) < 0) {
        Py_XDECREF(s);
        return cf_py_error_take(err, CF_ENOMEM, "sys.path");
    }
    Py_DECREF(s);
    return 0;
}

/* sys.path = [project, cog dir, $PYTHONPATH..., <site paths>]. The isolated
 * config ignores PYTHONPATH, so the project's own setting is honoured here. */
static int set_sys_path(const char *project, const char *cog_dir, cf_error *err)
{
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    if (path == NULL || !PyList_Check(path))
        return cf_error_set(err, CF_EINVAL, "sys.path is missing");
    if (path_insert(path, 0, project, err) < 0 || path_insert(path, 1, cog_dir, err) < 0)
        return err->code;
    const char *env = getenv("PYTHONPATH");
    if (env == NULL || env[0] == '\0')
        return 0;
    char *copy = strdup(env);
    if (copy == NULL)
        return cf_error_set(err, CF_ENOMEM, "out of memory");
    Py_ssize_t pos = 2;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save)) {
        if (path_insert(path, pos++, tok, err) < 0) {
            free(copy);
            return err->code;
        }
    }
    free(copy);
    return 0;
}

/* Extension modules (numpy, torch) are built for one minor version: a
 * worker linked against another libpython would crash in odd places. */
static int check_version(cf_error *err)
{
    unsigned long runtime = (unsigned long)Py_Version >> 16;
    unsigned long built = (unsigned long)PY_VERSION_HEX >> 16;
    if (runtime != built)
        return cf_error_set(err, CF_EINVAL, "libpython is %lu.%lu but cog-fcgi-worker was "
                            "built for %lu.%lu", runtime >> 8, runtime & 0xff, built >> 8,
                            built & 0xff);
    return 0;
}

static int status_error(PyStatus status, cf_error *err)
{
    return cf_error_set(err, CF_EINVAL, "Python initialisation failed: %s%s%s",
                        status.func != NULL ? status.func : "",
                        status.func != NULL ? ": " : "",
                        status.err_msg != NULL ? status.err_msg : "?");
}

int cf_py_init(const char *python_exe, const char *project, cf_error *err)
{
    PyPreConfig pre;
    PyConfig config;
    PyStatus status;
    char cog_dir[PATH_MAX + 64];
    int rc = 0;

    if (find_cog_dir(cog_dir, sizeof cog_dir, err) < 0)
        return err->code;

    /* UTF-8 mode: the front sends UTF-8 and logs are read as UTF-8,
     * whatever locale the worker was started with. */
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    status = Py_PreInitialize(&pre);
    if (PyStatus_Exception(status))
        return status_error(status, err);

    /* Isolated (no PYTHON* variables, no user site, no cwd on sys.path) but
     * with site enabled so Debian's dist-packages (torch, numpy) import.
     * program_name/executable decide prefix and venv detection: never set
     * home. Python must not own SIGINT and friends: the worker ignores
     * SIGINT, and the cancel handler for SIGUSR1 is installed from Python. */
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 1;
    config.user_site_directory = 0;
    config.install_signal_handlers = 0;
    config.buffered_stdio = 0;
    config.parse_argv = 0;
    config.write_bytecode = 0;
    status = PyConfig_SetBytesString(&config, &config.program_name, python_exe);
    if (!PyStatus_Exception(status))
        status = PyConfig_SetBytesString(&config, &config.executable, python_exe);
    if (!PyStatus_Exception(status)) {
        char *argv[] = {(char *)python_exe, NULL};
        status = PyConfig_SetBytesArgv(&config, 1, argv);
    }
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(status)) {
        rc = status_error(status, err);
        goto cleanup;
    }
    if (check_version(err) < 0 || set_sys_path(project, cog_dir, err) < 0) {
        rc = err->code;
        goto cleanup;
    }
    cf_log_info("CF0201", "python %s ready, cog package from %s", Py_GetVersion(), cog_dir);
cleanup:
    PyConfig_Clear(&config);
    return rc;
}

/* Calls stream.flush() on sys.<name>, ignoring any error (a closed pipe). */
/* The stream last seen as sys.stdout or sys.stderr (a strong reference, so
 * that no other object can take its address) and whether flushing it does
 * nothing: cog._logs's wrapper of the worker's own unbuffered stream says
 * so (cf_unbuffered). A flush costs thousands of instructions through
 * the wrapper, and one happens before every frame. */
struct known_stream {
    PyObject *stream;
    int unbuffered;
};

static void flush_stream(const char *name, struct known_stream *known)
{
    PyObject *stream = PySys_GetObject(name); /* borrowed */
    if (stream == NULL || stream == Py_None)
        return;
    if (stream != known->stream) {
        Py_XDECREF(known->stream);
        Py_INCREF(stream);
        known->stream = stream;
        PyObject *flag = PyObject_GetAttrString(stream, "cf_unbuffered");
        known->unbuffered = flag != NULL && PyObject_IsTrue(flag) == 1;
        Py_XDECREF(flag);
        PyErr_Clear();
    }
    if (known->unbuffered)
        return;
    PyObject *r = PyObject_CallMethod(stream, "flush", NULL);
    if (r == NULL)
        PyErr_Clear();
    Py_XDECREF(r);
}

void cf_py_flush(void)
{
    static struct known_stream out, err;
    assert(PyGILState_Check());
    flush_stream("stdout", &out);
    flush_stream("stderr", &err);
    fflush(NULL);
}
