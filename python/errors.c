/*
 * Error kinds to exceptions: the one place where the module decides what a
 * failed ipcore call raises.  The meaning of each errno comes from the
 * core's table (ipcore_error_kind); here it only gets a class and words.
 */
#include "errors.h"

#include <errno.h>

/* The nouns used in messages, by object kind. */
static const char *const noun[] = {
    [IPCORE_SEM] = "semaphore",
    [IPCORE_SHM] = "shared memory segment",
    [IPCORE_MQ] = "message queue",
};

PyObject *
sysv_exception(PyObject *obj, enum ipcore_error_kind err)
{
    sysv_state *st = sysv_get_state(obj);

    switch (err) {
    case IPCORE_ERR_EXISTENTIAL:
        return st->ExistentialError;
    case IPCORE_ERR_PERMISSIONS:
        return st->PermissionsError;
    case IPCORE_ERR_BUSY:
        return st->BusyError;
    case IPCORE_ERR_NOT_ATTACHED:
        return st->NotAttachedError;
    case IPCORE_ERR_RANGE:
        return PyExc_ValueError;
    case IPCORE_ERR_MEMORY:
        return PyExc_MemoryError;
    case IPCORE_ERR_NONE:
        return st->InternalError;
    case IPCORE_ERR_INTERRUPTED:
    case IPCORE_ERR_OTHER:
        break;
    }
    return PyExc_OSError;
}

/* The message for an existential error: what the call found or missed. */
static const char *
existential_message(enum ipcore_kind kind, enum ipcore_op op, int rc)
{
    static const char *const exists[] = {
        [IPCORE_SEM] = "A semaphore with the specified key already exists",
        [IPCORE_SHM] = "A shared memory segment with the specified key "
                       "already exists",
        [IPCORE_MQ] = "A queue with the specified key already exists",
    };
    static const char *const missing_key[] = {
        [IPCORE_SEM] = "No semaphore exists with the specified key",
        [IPCORE_SHM] = "No shared memory exists with the specified key",
        [IPCORE_MQ] = "No queue exists with the specified key",
    };
    static const char *const gone[] = {
        [IPCORE_SEM] = "The semaphore does not exist or was removed",
        [IPCORE_SHM] = "The shared memory segment does not exist or "
                       "was removed",
        [IPCORE_MQ] = "The queue no longer exists",
    };

    if (rc == -EEXIST) {
        return exists[kind];
    }
    if (op == IPCORE_OP_GET) {
        return missing_key[kind];
    }
    return gone[kind];
}

/* The message for a range error, which depends on where it came from. */
static const char *
range_message(enum ipcore_kind kind, enum ipcore_op op, int rc)
{
    if (op == IPCORE_OP_GET) {
        return kind == IPCORE_SEM ? "The number of semaphores is invalid"
                                  : "The size is invalid";
    }
    if (rc == -EFBIG) {
        return "The semaphore number is outside the set";
    }
    if (kind == IPCORE_SEM) {
        return "The semaphore's value must remain between 0 and "
               "32767 (SEMAPHORE_VALUE_MAX)";
    }
    return "The value is out of range";
}

static const char *
busy_message(enum ipcore_kind kind, enum ipcore_op op)
{
    if (op == IPCORE_OP_RECEIVE) {
        return "No available messages of the specified type";
    }
    if (op == IPCORE_OP_SEND) {
        return "The queue is full";
    }
    if (kind == IPCORE_SEM) {
        return "The semaphore is busy";
    }
    return "The object is busy";
}

/* OSError with the errno (which picks the subclass, PermissionError for
 * EACCES and so on), worded as 1.1.0 words it where it has words. */
static void
raise_os_error(enum ipcore_kind kind, enum ipcore_op op, int rc)
{
    const char *message = NULL;
    PyObject *exc;

    if (kind == IPCORE_SHM && op == IPCORE_OP_ACCESS && rc == -EACCES) {
        message = "Write attempt on read-only memory segment";
    }
    if (!message) {
        errno = -rc;
        PyErr_SetFromErrno(PyExc_OSError);
        return;
    }
    exc = PyObject_CallFunction(PyExc_OSError, "is", -rc, message);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

PyObject *
sysv_error(PyObject *obj, enum ipcore_kind kind, enum ipcore_op op, int rc)
{
    enum ipcore_error_kind err;
    PyObject *exc;

    if (rc == SYSV_RC_PYERR) {
        assert(PyErr_Occurred());
        return NULL;
    }
    err = ipcore_error_kind(rc, op);
    exc = sysv_exception(obj, err);

    switch (err) {
    case IPCORE_ERR_EXISTENTIAL:
        PyErr_SetString(exc, existential_message(kind, op, rc));
        break;
    case IPCORE_ERR_PERMISSIONS:
        PyErr_Format(exc, "Permission to the %s was denied", noun[kind]);
        break;
    case IPCORE_ERR_BUSY:
        PyErr_SetString(exc, busy_message(kind, op));
        break;
    case IPCORE_ERR_NOT_ATTACHED:
        PyErr_SetString(exc, "The segment is not attached");
        break;
    case IPCORE_ERR_RANGE:
        PyErr_SetString(exc, range_message(kind, op, rc));
        break;
    case IPCORE_ERR_MEMORY:
        PyErr_Format(exc,
                     "The system has no room for the %s "
                     "(out of memory or of IPC objects)",
                     noun[kind]);
        break;
    case IPCORE_ERR_NONE:
        PyErr_SetString(exc, "A call failed without saying why");
        break;
    case IPCORE_ERR_INTERRUPTED:
    case IPCORE_ERR_OTHER:
        raise_os_error(kind, op, rc);
        break;
    }
    return NULL;
}
