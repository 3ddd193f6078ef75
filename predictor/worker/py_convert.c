/* py_convert.c - json_t <-> PyObject: the one place the two value models meet. */
#include "py.h"

#include <assert.h>
#include <math.h>

/* Deeper nesting than this is refused rather than risking the C stack
 * (a self-referencing list would otherwise recurse for ever). */
#define CF_PY_MAX_DEPTH 512

static PyObject *from_json(const json_t *value, int depth, cf_error *err);
static json_t *to_json(PyObject *obj, int depth, cf_error *err);

/* Clears whatever Python exception a failed API call left, recording it. */
static void take_exception(cf_error *err, const char *what)
{
    if (PyErr_Occurred() != NULL)
        cf_py_error_take(err, CF_EINVAL, what);
    else
        cf_error_set(err, CF_ENOMEM, "%s", what);
}

static PyObject *object_from_json(const json_t *value, int depth, cf_error *err)
{
    PyObject *dict = PyDict_New();
    PyObject *item = NULL;
    const char *key;
    json_t *child; /* borrowed */

    if (dict == NULL) {
        take_exception(err, "cannot make a dict");
        goto fail;
    }
    json_object_foreach((json_t *)value, key, child) {
        item = from_json(child, depth + 1, err);
        if (item == NULL)
            goto fail;
        /* not PyDict_SetItemString: it interns every key, a lookup in the
         * interpreter's table per key per frame */
        PyObject *k = PyUnicode_FromString(key);
        if (k == NULL || PyDict_SetItem(dict, k, item) < 0) {
            Py_XDECREF(k);
            take_exception(err, "cannot fill a dict");
            goto fail;
        }
        Py_DECREF(k);
        Py_CLEAR(item);
    }
    return dict;
fail:
    Py_XDECREF(item);
    Py_XDECREF(dict);
    return NULL;
}

static PyObject *array_from_json(const json_t *value, int depth, cf_error *err)
{
    size_t n = json_array_size(value);
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        take_exception(err, "cannot make a list");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        PyObject *item = from_json(json_array_get(value, i), depth + 1, err);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item); /* steals item */
    }
    return list;
}

static PyObject *from_json(const json_t *value, int depth, cf_error *err)
{
    PyObject *obj = NULL;

    if (depth > CF_PY_MAX_DEPTH) {
        cf_error_set(err, CF_EINVAL, "JSON value nested too deeply");
        return NULL;
    }
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return object_from_json(value, depth, err);
    case JSON_ARRAY:
        return array_from_json(value, depth, err);
    case JSON_STRING:
        obj = PyUnicode_DecodeUTF8(json_string_value(value),
                                   (Py_ssize_t)json_string_length(value), "strict");
        break;
    case JSON_INTEGER:
        obj = PyLong_FromLongLong((long long)json_integer_value(value));
        break;
    case JSON_REAL:
        obj = PyFloat_FromDouble(json_real_value(value));
        break;
    case JSON_TRUE:
        obj = Py_NewRef(Py_True);
        break;
    case JSON_FALSE:
        obj = Py_NewRef(Py_False);
        break;
    case JSON_NULL:
        obj = Py_NewRef(Py_None);
        break;
    }
    if (obj == NULL)
        take_exception(err, "cannot convert a JSON value to Python");
    return obj;
}

PyObject *cf_py_from_json(const json_t *value, cf_error *err)
{
    assert(PyGILState_Check());
    assert(value != NULL);
    return from_json(value, 0, err);
}

static json_t *dict_to_json(PyObject *dict, int depth, cf_error *err)
{
    json_t *out = json_object();
    PyObject *key; /* borrowed */
    PyObject *val; /* borrowed */
    Py_ssize_t pos = 0;

    if (out == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory for a JSON object");
        return NULL;
    }
    while (PyDict_Next(dict, &pos, &key, &val)) {
        if (!PyUnicode_Check(key)) {
            cf_error_set(err, CF_EINVAL, "JSON object keys must be str, not %s",
                         Py_TYPE(key)->tp_name);
            goto fail;
        }
        Py_ssize_t klen = 0;
        const char *k = PyUnicode_AsUTF8AndSize(key, &klen);
        if (k == NULL) {
            take_exception(err, "cannot encode a dict key");
            goto fail;
        }
        json_t *child = to_json(val, depth + 1, err);
        if (child == NULL)
            goto fail;
        if (json_object_setn_new(out, k, (size_t)klen, child) < 0) {
            cf_error_set(err, CF_EINVAL, "cannot set JSON key %s", k);
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *seq_to_json(PyObject *seq, int depth, cf_error *err)
{
    json_t *out = json_array();
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq); /* borrowed */

    if (out == NULL) {
        cf_error_set(err, CF_ENOMEM, "out of memory for a JSON array");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        json_t *child = to_json(items[i], depth + 1, err);
        if (child == NULL || json_array_append_new(out, child) < 0) {
            if (child != NULL)
                cf_error_set(err, CF_ENOMEM, "out of memory for a JSON array");
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *long_to_json(PyObject *obj, cf_error *err)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow != 0) {
        cf_error_set(err, CF_EINVAL, "integer out of the 64-bit range");
        return NULL;
    }
    if (v == -1 && PyErr_Occurred() != NULL) {
        take_exception(err, "cannot read an int");
        return NULL;
    }
    return json_integer((json_int_t)v);
}

static json_t *to_json(PyObject *obj, int depth, cf_error *err)
{
    json_t *out = NULL;

    if (depth > CF_PY_MAX_DEPTH)
        goto too_deep;
    if (obj == Py_None) {
        out = json_null();
    } else if (PyBool_Check(obj)) { /* before PyLong: bool is an int subclass */
        out = json_boolean(obj == Py_True);
    } else if (PyLong_Check(obj)) {
        return long_to_json(obj, err);
    } else if (PyFloat_Check(obj)) {
        double d = PyFloat_AS_DOUBLE(obj);
        if (!isfinite(d)) {
            cf_error_set(err, CF_EINVAL, "float %g has no JSON form", d);
            return NULL;
        }
        out = json_real(d);
    } else if (PyUnicode_Check(obj)) {
        Py_ssize_t len = 0;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &len);
        if (s == NULL) {
            take_exception(err, "cannot encode a str as UTF-8");
            return NULL;
        }
        out = json_stringn(s, (size_t)len);
    } else if (PyDict_Check(obj)) {
        return dict_to_json(obj, depth, err);
    } else if (PyList_Check(obj) || PyTuple_Check(obj)) {
        PyObject *seq = PySequence_Fast(obj, "not a sequence");
        if (seq == NULL) {
            take_exception(err, "cannot read a sequence");
            return NULL;
        }
        out = seq_to_json(seq, depth, err);
        Py_DECREF(seq);
        return out;
    } else {
        cf_error_set(err, CF_EINVAL, "cannot encode a %s as JSON", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (out == NULL)
        cf_error_set(err, CF_ENOMEM, "out of memory for a JSON value");
    return out;
too_deep:
    cf_error_set(err, CF_EINVAL, "value nested too deeply for JSON");
    return NULL;
}

json_t *cf_py_to_json(PyObject *obj, cf_error *err)
{
    assert(PyGILState_Check());
    assert(obj != NULL);
    return to_json(obj, 0, err);
}
