/*
 * SemaphoreSet's semops: acquire(), release() and Z() of one element, as
 * Semaphore's, and operate(), several operations done at once or not at
 * all, in one semop.
 */
#include "semaphore_set.h"

#include "args.h"

#include <errno.h>

/* Operations handled on the stack; more go to the heap. */
#define STACK_OPS 16

PyObject *
sysv_set_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const params[] = { "num", "timeout", "delta", NULL };
    PyObject *argv[3] = { NULL, NULL, NULL };
    const struct timespec *timeout = NULL;
    struct timespec ts;
    int num, delta = 1;

    if (sysv_parse("acquire", params, 1, args, nargs, kwnames, argv) < 0 ||
        sysv_set_parse_num(self, argv[0], false, &num) < 0 ||
        sysv_parse_timeout(argv[1], &ts, &timeout) < 0 ||
        sysv_parse_delta(argv[2], &delta) < 0) {
        return NULL;
    }
    return sysv_sem_run(self, num, -delta, timeout);
}

PyObject *
sysv_set_release(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const params[] = { "num", "delta", NULL };
    PyObject *argv[2] = { NULL, NULL };
    int num, delta = 1;

    if (sysv_parse("release", params, 1, args, nargs, kwnames, argv) < 0 ||
        sysv_set_parse_num(self, argv[0], false, &num) < 0 ||
        sysv_parse_delta(argv[1], &delta) < 0) {
        return NULL;
    }
    if (delta > SHRT_MAX) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_SEMOP, -ERANGE);
    }
    return sysv_sem_run(self, num, delta, NULL);
}

PyObject *
sysv_set_z(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
           PyObject *kwnames)
{
    static const char *const params[] = { "num", "timeout", NULL };
    PyObject *argv[2] = { NULL, NULL };
    const struct timespec *timeout = NULL;
    struct timespec ts;
    int num;

    if (sysv_parse("Z", params, 1, args, nargs, kwnames, argv) < 0 ||
        sysv_set_parse_num(self, argv[0], false, &num) < 0 ||
        sysv_parse_timeout(argv[1], &ts, &timeout) < 0) {
        return NULL;
    }
    return sysv_sem_run(self, num, 0, timeout);
}

#define OP_MESSAGE                                                            \
    "each operation must be a (num, delta) or (num, delta, flags) tuple"

/* Converts one (num, delta[, flags]) item of operate() into *op.  The
 * item is frozen first: its numbers' __index__ may change it. */
static int
parse_op(PyObject *self, PyObject *item, short extra, struct sembuf *op)
{
    PyObject *seq;
    Py_ssize_t len;
    long delta, flags = 0;
    int num, rc = -1;

    seq = sysv_frozen_tuple(item, OP_MESSAGE);
    if (!seq) {
        return -1;
    }
    len = PyTuple_GET_SIZE(seq);
    if (len != 2 && len != 3) {
        PyErr_SetString(PyExc_TypeError, OP_MESSAGE);
        goto done;
    }
    if (sysv_set_parse_num(self, PyTuple_GET_ITEM(seq, 0), false, &num) < 0) {
        goto done;
    }
    delta = PyLong_AsLong(PyTuple_GET_ITEM(seq, 1));
    if (delta == -1 && PyErr_Occurred()) {
        goto done;
    }
    if (delta < SHRT_MIN || delta > SHRT_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a delta must fit in a C short");
        goto done;
    }
    if (len == 3) {
        flags = PyLong_AsLong(PyTuple_GET_ITEM(seq, 2));
        if (flags == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (flags & ~(long)(IPC_NOWAIT | SEM_UNDO)) {
            PyErr_SetString(PyExc_ValueError,
                            "an operation's flags may only hold "
                            "IPC_NOWAIT and SEM_UNDO");
            goto done;
        }
    }
    op->sem_num = (unsigned short)num;
    op->sem_op = (short)delta;
    op->sem_flg = (short)(flags | extra);
    rc = 0;
done:
    Py_DECREF(seq);
    return rc;
}

PyObject *
sysv_set_operate(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const params[] = { "operations", "timeout", "block",
                                          "undo", NULL };
    PyObject *argv[4] = { NULL, NULL, NULL, NULL };
    struct sembuf stack[STACK_OPS];
    struct sembuf *ops = stack;
    const struct timespec *timeout = NULL;
    struct timespec ts;
    PyObject *seq, *result = NULL;
    Py_ssize_t n, i;
    short extra = 0;
    int flag, rc;

    if (sysv_parse("operate", params, 1, args, nargs, kwnames, argv) < 0 ||
        sysv_parse_timeout(argv[1], &ts, &timeout) < 0) {
        return NULL;
    }
    if (argv[2]) {
        if ((flag = PyObject_IsTrue(argv[2])) < 0) {
            return NULL;
        }
        if (!flag) {
            extra |= IPC_NOWAIT;
        }
    }
    if (argv[3]) {
        if ((flag = PyObject_IsTrue(argv[3])) < 0) {
            return NULL;
        }
        if (flag) {
            extra |= SEM_UNDO;
        }
    }

    /* Frozen: an item's __index__ may change a list of operations. */
    seq = sysv_frozen_tuple(argv[0], "operations must be a sequence of "
                                     "(num, delta) tuples");
    if (!seq) {
        return NULL;
    }
    n = PyTuple_GET_SIZE(seq);
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "no operations given");
        goto done;
    }
    if (n > STACK_OPS) {
        ops = PyMem_New(struct sembuf, (size_t)n);
        if (!ops) {
            PyErr_NoMemory();
            goto done;
        }
    }
    for (i = 0; i < n; i++) {
        if (parse_op(self, PyTuple_GET_ITEM(seq, i), extra, &ops[i]) < 0) {
            goto done;
        }
    }
    rc = sysv_semop(SET(self)->id, ops, (size_t)n, timeout);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_SEMOP, rc);
    } else {
        result = Py_NewRef(Py_None);
    }
done:
    if (ops != stack) {
        PyMem_Free(ops);
    }
    Py_DECREF(seq);
    return result;
}
