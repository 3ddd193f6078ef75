/* py_runtime.c - the bridge to cog._runtime and the _cogfcgi module it sends frames with.
 *
 * The Python side (predictor/python/cog/_runtime.py) does what only Python
 * can: introspect the signature, call setup()/predict(), check and encode the
 * output. C sends the frames: ready and done from the serve loop, output and
 * metric frames from _cogfcgi.send() as the model produces them.
 */
#include "py.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "worker_logs.h"
#include "log.h"

static int ipc_fd = -1;
static PyObject *runtime_mod = NULL; /* cog._runtime, strong, kept for the process */

/* _cogfcgi.send(msg: dict) -> None: one frame to the front, now. Raises
 * ValueError for a value with no JSON form and OSError if the socket broke. */
static PyObject *cogfcgi_send(PyObject *self, PyObject *msg)
{
    cf_error err;
    int rc;
    (void)self;

    cf_error_clear(&err);
    if (!PyDict_Check(msg)) {
        PyErr_SetString(PyExc_TypeError, "send() takes a dict");
        return NULL;
    }
    json_t *frame = cf_py_to_json(msg, &err);
    if (frame == NULL) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    rc = cf_worker_send(ipc_fd, frame, &err); /* after the logs printed before it */
    Py_END_ALLOW_THREADS
    json_decref(frame);
    if (rc < 0) {
        PyErr_Format(PyExc_OSError, "cannot send to cog-fcgi: %s", err.msg);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* _cogfcgi.recv() -> dict | None: the next frame from the front, None at
 * EOF. For the event loop of a concurrent predictor (it calls this when
 * the socket is readable: a frame arrives whole, so this does not wait
 * long). The GIL is released while reading. Raises OSError on a broken
 * or malformed stream. */
static PyObject *cogfcgi_recv(PyObject *self, PyObject *unused)
{
    cf_error err;
    json_t *msg;
    (void)self;
    (void)unused;

    cf_error_clear(&err);
    Py_BEGIN_ALLOW_THREADS
    msg = cf_ipc_recv(ipc_fd, &err);
    Py_END_ALLOW_THREADS
    if (msg == NULL) {
        if (err.code == CF_EIO && strcmp(err.msg, "eof") == 0)
            Py_RETURN_NONE;
        PyErr_Format(PyExc_OSError, "cannot read from cog-fcgi: %s", err.msg);
        return NULL;
    }
    PyObject *out = cf_py_from_json(msg, &err);
    json_decref(msg);
    if (out == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, err.msg);
    return out;
}

/* _cogfcgi.ipc_fd() -> int: the socket to the front, for loop.add_reader. */
static PyObject *cogfcgi_ipc_fd(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(ipc_fd);
}

/* _cogfcgi.flush_logs(): sends what the model printed so far (the capture pipe) to the
 * front as log frames now. Called before os._exit, which would otherwise end the process
 * before the capture thread forwarded the last lines. */
static PyObject *cogfcgi_flush_logs(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    cf_worker_logs_flush();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef cogfcgi_methods[] = {
    {"flush_logs", cogfcgi_flush_logs, METH_NOARGS, "Send the model's captured output now."},
    {"send", cogfcgi_send, METH_O, "Send one IPC frame (a dict) to the cog-fcgi front."},
    {"recv", cogfcgi_recv, METH_NOARGS, "Receive one IPC frame from the front (None at EOF)."},
    {"ipc_fd", cogfcgi_ipc_fd, METH_NOARGS, "The socket to the front."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cogfcgi_module = {
    PyModuleDef_HEAD_INIT, "_cogfcgi", "cog-fcgi worker internals.", -1, cogfcgi_methods,
    NULL, NULL, NULL, NULL,
};

static PyObject *cogfcgi_init(void) { return PyModule_Create(&cogfcgi_module); }

int cf_py_runtime_register(int fd)
{
    ipc_fd = fd;
    if (PyImport_AppendInittab("_cogfcgi", cogfcgi_init) < 0)
        return CF_ENOMEM;
    return 0;
}

/* A str for s, or None for NULL. New reference or NULL with an exception. */
static PyObject *str_or_none(const char *s)
{
    if (s == NULL)
        return Py_NewRef(Py_None);
    return PyUnicode_DecodeFSDefault(s);
}

/* Result of calling cog._runtime.<name>(args...) as JSON; NULL with err. */
static json_t *call_runtime(const char *name, PyObject *args, cf_error *err)
{
    PyObject *fn = NULL;
    PyObject *res = NULL;
    json_t *out = NULL;

    fn = PyObject_GetAttrString(runtime_mod, name);
    if (fn == NULL) {
        cf_py_error_take(err, CF_EINVAL, "cog._runtime");
        goto cleanup;
    }
    res = PyObject_CallObject(fn, args);
    if (res == NULL) {
        cf_py_error_take(err, CF_EINVAL, name);
        goto cleanup;
    }
    out = cf_py_to_json(res, err);
cleanup:
    Py_XDECREF(res);
    Py_XDECREF(fn);
    return out;
}

json_t *cf_py_runtime_start(const char *project, const char *predict_ref,
                            const char *train_ref, cf_error *err)
{
    PyObject *args = NULL;
    json_t *ready = NULL;

    assert(PyGILState_Check());
    runtime_mod = PyImport_ImportModule("cog._runtime");
    if (runtime_mod == NULL) {
        cf_py_error_take(err, CF_EINVAL, "import cog._runtime");
        goto cleanup;
    }
    args = Py_BuildValue("(NNN)", str_or_none(project), str_or_none(predict_ref),
                         str_or_none(train_ref));
    if (args == NULL) {
        cf_py_error_take(err, CF_ENOMEM, "start arguments");
        goto cleanup;
    }
    ready = call_runtime("start", args, err);
cleanup:
    Py_XDECREF(args);
    return ready;
}

json_t *cf_py_runtime_handle(const json_t *msg, cf_error *err)
{
    PyObject *pymsg = NULL;
    PyObject *args = NULL;
    json_t *done = NULL;

    assert(PyGILState_Check());
    if (runtime_mod == NULL) {
        cf_error_set(err, CF_EINVAL, "the runtime was not started");
        return NULL;
    }
    pymsg = cf_py_from_json(msg, err);
    if (pymsg == NULL)
        goto cleanup;
    args = PyTuple_Pack(1, pymsg);
    if (args == NULL) {
        cf_py_error_take(err, CF_ENOMEM, "handle arguments");
        goto cleanup;
    }
    done = call_runtime("handle", args, err);
cleanup:
    Py_XDECREF(args);
    Py_XDECREF(pymsg);
    return done;
}

int cf_py_runtime_serve(cf_error *err)
{
    PyObject *fn = NULL;
    PyObject *res = NULL;
    int rc = 0;

    assert(PyGILState_Check());
    fn = runtime_mod ? PyObject_GetAttrString(runtime_mod, "serve") : NULL;
    if (fn == NULL) {
        rc = cf_py_error_take(err, CF_EINVAL, "cog._runtime.serve");
        goto cleanup;
    }
    res = PyObject_CallNoArgs(fn);
    if (res == NULL)
        rc = cf_py_error_take(err, CF_EINVAL, "serve");
cleanup:
    Py_XDECREF(res);
    Py_XDECREF(fn);
    return rc;
}

json_t *cf_py_runtime_healthcheck(cf_error *err)
{
    assert(PyGILState_Check());
    if (runtime_mod == NULL) {
        cf_error_set(err, CF_EINVAL, "the runtime was not started");
        return NULL;
    }
    return call_runtime("healthcheck", NULL, err);
}

/* Sets NAME=value in the process and in os.environ (a snapshot Python
 * took at start). 0, or CF_ENOMEM with err. */
static int set_env(const char *name, const char *value, cf_error *err)
{
    PyObject *os = NULL;
    PyObject *environ_obj = NULL;
    PyObject *v = NULL;
    int rc = 0;

    os = PyImport_ImportModule("os");
    environ_obj = os ? PyObject_GetAttrString(os, "environ") : NULL;
    v = environ_obj ? PyUnicode_DecodeFSDefault(value) : NULL;
    if (v == NULL || PyMapping_SetItemString(environ_obj, name, v) < 0)
        rc = cf_py_error_take(err, CF_ENOMEM, "os.environ");
    Py_XDECREF(v);
    Py_XDECREF(environ_obj);
    Py_XDECREF(os);
    return rc;
}

int cf_py_runtime_standby(int fd, cf_error *err)
{
    assert(PyGILState_Check());
    runtime_mod = PyImport_ImportModule("cog._runtime");
    if (runtime_mod == NULL)
        return cf_py_error_take(err, CF_EINVAL, "import cog._runtime");
    json_t *frame = json_pack("{s:s}", "type", "standby");
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = frame ? cf_worker_send(fd, frame, err) : CF_ENOMEM;
    Py_END_ALLOW_THREADS
    json_decref(frame);
    if (rc < 0)
        return rc;
    json_t *msg;
    Py_BEGIN_ALLOW_THREADS
    msg = cf_ipc_recv(fd, err);
    Py_END_ALLOW_THREADS
    if (msg == NULL) {
        if (err->code == CF_EIO && strcmp(err->msg, "eof") == 0) {
            cf_error_clear(err);
            return 1;
        }
        return err->code;
    }
    const char *name;
    json_t *value;
    json_object_foreach(json_object_get(msg, "env"), name, value) {
        if (json_is_string(value) && (rc = set_env(name, json_string_value(value), err)) != 0)
            break;
    }
    json_decref(msg);
    return rc;
}
