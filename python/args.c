/*
 * Argument conversion: the fast parser and the converters of the
 * arguments more than one kind takes.
 */
#include "args.h"

#include <errno.h>
#include <math.h>

/* ---------------------------------------------------------------- parsing */

static int
count_params(const char *const *params)
{
    int n = 0;

    while (params[n]) {
        n++;
    }
    return n;
}

int
sysv_parse(const char *fname, const char *const *params, int nrequired,
           PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           PyObject **out)
{
    int nparams = count_params(params);
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    Py_ssize_t i;
    int j;

    if (nargs > nparams) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes at most %d argument%s (%zd given)", fname,
                     nparams, nparams == 1 ? "" : "s", nargs + nkw);
        return -1;
    }
    for (i = 0; i < nargs; i++) {
        out[i] = args[i];
    }

    for (i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);

        for (j = 0; j < nparams; j++) {
            if (PyUnicode_CompareWithASCIIString(name, params[j]) == 0) {
                break;
            }
        }
        if (j == nparams) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument "
                         "'%U'",
                         fname, name);
            return -1;
        }
        if (j < nargs) {
            PyErr_Format(PyExc_TypeError,
                         "argument for %s() given by name ('%s') "
                         "and position (%d)",
                         fname, params[j], j + 1);
            return -1;
        }
        out[j] = args[nargs + i];
    }

    for (j = (int)nargs; j < nrequired; j++) {
        if (!out[j]) {
            PyErr_Format(PyExc_TypeError,
                         "%s() missing required argument '%s' "
                         "(pos %d)",
                         fname, params[j], j + 1);
            return -1;
        }
    }
    return 0;
}

int
sysv_parse_key_flags(PyObject *args, PyObject *kwds, PyObject **key,
                     int *flags)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *f;
    long v;
    int overflow;

    if ((kwds && PyDict_GET_SIZE(kwds)) || n < 1 || n > 2) {
        return 0;
    }
    if (n == 2) {
        f = PyTuple_GET_ITEM(args, 1);
        if (!PyLong_CheckExact(f)) {
            return 0;
        }
        /* An exact int raises nothing here: too big is overflow. */
        v = PyLong_AsLongAndOverflow(f, &overflow);
        if (overflow || v < INT_MIN || v > INT_MAX) {
            return 0;
        }
        *flags = (int)v;
    }
    *key = PyTuple_GET_ITEM(args, 0);
    return 1;
}

int
sysv_parse_key(PyObject *obj, int flags, key_t *key,
               enum ipcore_key_choice *choice)
{
    long long k;
    int overflow;

    if ((flags & IPC_EXCL) && !(flags & IPC_CREAT)) {
        PyErr_SetString(PyExc_ValueError,
                        "IPC_EXCL must be combined with IPC_CREAT");
        return -1;
    }
    if (obj == Py_None) {
        if (!(flags & IPC_EXCL)) {
            PyErr_SetString(PyExc_ValueError,
                            "Key can only be None if IPC_EXCL is "
                            "set");
            return -1;
        }
        *key = IPC_PRIVATE;
        *choice = IPCORE_KEY_RANDOM;
        return 0;
    }
    if (!PyLong_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "Key must be an integer or None");
        return -1;
    }
    k = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (k == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || k < IPCORE_KEY_MIN || k > IPCORE_KEY_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "Key must be between KEY_MIN (%lld) and KEY_MAX "
                     "(%lld)",
                     IPCORE_KEY_MIN, IPCORE_KEY_MAX);
        return -1;
    }
    *key = (key_t)k;
    *choice = IPCORE_KEY_GIVEN;
    return 0;
}

/* Timeouts longer than this (about 3,000 years) are taken as forever. */
#define FOREVER_SECONDS 1e11

int
sysv_parse_timeout(PyObject *obj, struct timespec *ts,
                   const struct timespec **timeout)
{
    double seconds;

    if (obj == NULL || obj == Py_None) {
        *timeout = NULL;
        return 0;
    }
    if (PyFloat_Check(obj)) {
        seconds = PyFloat_AS_DOUBLE(obj);
    } else if (PyLong_Check(obj)) {
        seconds = PyLong_AsDouble(obj);
        if (seconds == -1.0 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                return -1;
            }
            /* Larger than any double: negative ones are refused
             * below, positive ones wait forever. */
            PyErr_Clear();
            int neg = PyObject_RichCompareBool(obj, Py_False, Py_LT);

            if (neg < 0) {
                return -1;
            }
            seconds = neg ? -1.0 : HUGE_VAL;
        }
    } else {
        goto bad;
    }
    if (!(seconds >= 0.0)) { /* negative or NaN */
        goto bad;
    }
    if (seconds > FOREVER_SECONDS) {
        *timeout = NULL;
        return 0;
    }
    *ts = ipcore_timespec_from_seconds(seconds);
    *timeout = ts;
    return 0;

bad:
    PyErr_SetString(PyExc_TypeError,
                    "The timeout must be None or a non-negative number");
    return -1;
}

int
sysv_parse_int(PyObject *obj, const char *what, int *out)
{
    long v = PyLong_AsLong(obj);

    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (v < INT_MIN || v > INT_MAX) {
        PyErr_Format(PyExc_OverflowError, "%s is out of range", what);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int
sysv_parse_size(PyObject *obj, const char *what, Py_ssize_t *out)
{
    Py_ssize_t n = PyNumber_AsSsize_t(obj, PyExc_OverflowError);

    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (n < 0) {
        PyErr_Format(PyExc_ValueError, "The %s cannot be negative", what);
        return -1;
    }
    *out = n;
    return 0;
}

PyObject *
sysv_frozen_tuple(PyObject *obj, const char *message)
{
    if (PyTuple_Check(obj)) {
        return Py_NewRef(obj);
    }
    if (!Py_TYPE(obj)->tp_iter && !PySequence_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, message);
        return NULL;
    }
    return PySequence_Tuple(obj);
}

int
sysv_data_get(PyObject *obj, sysv_data *data)
{
    data->has_view = false;
    if (PyBytes_Check(obj)) {
        data->buf = PyBytes_AS_STRING(obj);
        data->len = PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyUnicode_Check(obj)) {
        data->buf = PyUnicode_AsUTF8AndSize(obj, &data->len);
        return data->buf ? 0 : -1;
    }
    if (PyObject_GetBuffer(obj, &data->view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    data->has_view = true;
    data->buf = data->view.buf;
    data->len = data->view.len;
    return 0;
}
