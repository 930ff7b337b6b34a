/*
 * Argument conversion and the attributes every kind shares.
 */
#include "sysv_ipc_int.h"

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
sysv_check_flags(int flags)
{
    if ((flags & IPC_EXCL) && !(flags & IPC_CREAT)) {
        PyErr_SetString(PyExc_ValueError,
                        "IPC_EXCL must be combined with IPC_CREAT");
        return -1;
    }
    return 0;
}

int
sysv_parse_key(PyObject *obj, int flags, key_t *key,
               enum ipcore_key_choice *choice)
{
    long long k;
    int overflow;

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

int
sysv_no_delete(PyObject *self, const char *name)
{
    PyErr_Format(PyExc_AttributeError,
                 "cannot delete attribute '%s' of '%s' objects", name,
                 Py_TYPE(self)->tp_name);
    return -1;
}

/* --------------------------------------------------------- shared getters */

PyObject *
sysv_get_key(PyObject *self, void *closure)
{
    return PyLong_FromLong((long)((SysvObject *)self)->key);
}

PyObject *
sysv_get_id(PyObject *self, void *closure)
{
    return PyLong_FromLong((long)((SysvObject *)self)->id);
}

static int
stat_perm(enum ipcore_kind kind, int id, struct ipcore_perm *perm)
{
    int rc;

    switch (kind) {
    case IPCORE_SEM: {
        struct ipcore_sem_info info;

        rc = ipcore_sem_stat(id, &info);
        *perm = info.perm;
        return rc;
    }
    case IPCORE_SHM: {
        struct ipcore_shm_info info;

        rc = ipcore_shm_stat(id, &info);
        *perm = info.perm;
        return rc;
    }
    case IPCORE_MQ: {
        struct ipcore_mq_info info;

        rc = ipcore_mq_stat(id, &info);
        *perm = info.perm;
        return rc;
    }
    }
    return -EINVAL;
}

static const char *const perm_names[] = {
    [SYSV_PERM_UID] = "uid",   [SYSV_PERM_GID] = "gid",
    [SYSV_PERM_CUID] = "cuid", [SYSV_PERM_CGID] = "cgid",
    [SYSV_PERM_MODE] = "mode",
};

PyObject *
sysv_get_perm(PyObject *self, void *closure)
{
    int code = (int)(intptr_t)closure;
    enum ipcore_kind kind = (enum ipcore_kind)(code >> 8);
    struct ipcore_perm perm = { 0 };
    int rc = stat_perm(kind, ((SysvObject *)self)->id, &perm);

    if (rc < 0) {
        return sysv_error(self, kind, IPCORE_OP_STAT, rc);
    }

    switch ((enum sysv_perm_field)(code & 0xff)) {
    case SYSV_PERM_UID:
        return sysv_from_uid(perm.uid);
    case SYSV_PERM_GID:
        return sysv_from_uid(perm.gid);
    case SYSV_PERM_CUID:
        return sysv_from_uid(perm.cuid);
    case SYSV_PERM_CGID:
        return sysv_from_uid(perm.cgid);
    case SYSV_PERM_MODE:
        return PyLong_FromUnsignedLong(perm.mode);
    }
    Py_RETURN_NONE;
}

int
sysv_set_perm(PyObject *self, PyObject *value, void *closure)
{
    int code = (int)(intptr_t)closure;
    enum ipcore_kind kind = (enum ipcore_kind)(code >> 8);
    enum sysv_perm_field field = (enum sysv_perm_field)(code & 0xff);
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    unsigned int mode = (unsigned int)-1;
    unsigned long v;
    int rc;

    if (value == NULL) {
        return sysv_no_delete(self, perm_names[field]);
    }
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "Attribute '%s' must be an integer",
                     perm_names[field]);
        return -1;
    }
    v = PyLong_AsUnsignedLong(value);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        v = (unsigned long)-1;
        PyErr_Clear();
    }
    /* (uid_t)-1 means "unchanged" to the core and to the kernel, so it
     * cannot be set; nor can anything wider than the field. */
    if (field == SYSV_PERM_MODE ? v > 0xffffffffUL - 1 : v >= (uid_t)-1) {
        PyErr_Format(PyExc_ValueError, "Attribute '%s' is out of range",
                     perm_names[field]);
        return -1;
    }
    switch (field) {
    case SYSV_PERM_UID:
        uid = (uid_t)v;
        break;
    case SYSV_PERM_GID:
        gid = (gid_t)v;
        break;
    case SYSV_PERM_MODE:
        mode = (unsigned int)v;
        break;
    case SYSV_PERM_CUID:
    case SYSV_PERM_CGID:
        break;
    }
    rc = ipcore_set_owner_mode(kind, ((SysvObject *)self)->id, uid, gid, mode);
    if (rc < 0) {
        sysv_error(self, kind, IPCORE_OP_SET, rc);
        return -1;
    }
    return 0;
}
