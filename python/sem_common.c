/*
 * What Semaphore and SemaphoreSet share: the semop of several operations
 * and its PEP 475 wait, the delta argument, the block and undo attributes
 * and the time attributes.  The single-operation semop behind acquire()
 * and release() is inline in sem_common.h.
 */
#include "sem_common.h"

#include "args.h"
#include "wait.h"

#include <errno.h>

/* ------------------------------------------------------------ the semop */

/* A semop for sysv_wait(). */
struct semop_call {
    int id;
    struct sembuf *ops;
    size_t nops;
};

static ssize_t
semop_try(void *arg, const struct timespec *left)
{
    struct semop_call *c = arg;

    return ipcore_sem_ops(c->id, c->ops, c->nops, left);
}

int
sysv_semop_wait(int id, struct sembuf *ops, size_t nops,
                const struct timespec *timeout)
{
    struct semop_call c = { .id = id, .ops = ops, .nops = nops };

    return (int)sysv_wait(semop_try, &c, timeout);
}

/* As sysv_semop1(), for any number of operations.  Operations that mix
 * IPC_NOWAIT and waiting go straight to the wait, which keeps their
 * flags. */
int
sysv_semop(int id, struct sembuf *ops, size_t nops,
           const struct timespec *timeout)
{
    size_t i, nowait = 0;
    int rc;

    if (nops == 1) {
        return sysv_semop1(id, ops, timeout);
    }
    for (i = 0; i < nops; i++) {
        nowait += (ops[i].sem_flg & IPC_NOWAIT) != 0;
    }
    if (nowait == nops) {
        return ipcore_sem_ops(id, ops, nops, NULL);
    }
    if (nowait == 0) {
        for (i = 0; i < nops; i++) {
            ops[i].sem_flg |= IPC_NOWAIT;
        }
        rc = ipcore_sem_ops(id, ops, nops, NULL);
        for (i = 0; i < nops; i++) {
            ops[i].sem_flg &= (short)~IPC_NOWAIT;
        }
        if (rc != -EAGAIN || sysv_is_zero(timeout)) {
            return rc;
        }
    }
    return sysv_semop_wait(id, ops, nops, timeout);
}

int
sysv_parse_delta(PyObject *obj, int *delta)
{
    long v;

    if (obj == NULL) {
        *delta = 1;
        return 0;
    }
    v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (v > SHRT_MAX) {
        PyErr_SetString(PyExc_OverflowError,
                        "signed short integer is greater than maximum");
        return -1;
    }
    if (v < SHRT_MIN) {
        PyErr_SetString(PyExc_OverflowError,
                        "signed short integer is less than minimum");
        return -1;
    }
    if (v == 0) {
        PyErr_SetString(PyExc_ValueError, "The delta must be non-zero");
        return -1;
    }
    *delta = v < 0 ? (int)-v : (int)v;
    return 0;
}

/* ----------------------------------------------------------- attributes */

PyObject *
sysv_sem_get_flag(PyObject *self, void *closure)
{
    short flag = (short)(intptr_t)closure;
    bool on = (SYSV_SEM(self)->op_flags & flag) != 0;

    /* block is True when IPC_NOWAIT is off. */
    if (flag == IPC_NOWAIT) {
        on = !on;
    }
    return PyBool_FromLong(on);
}

int
sysv_sem_set_flag(PyObject *self, PyObject *value, void *closure)
{
    short flag = (short)(intptr_t)closure;
    int on;

    if (value == NULL) {
        return sysv_no_delete(self, flag == IPC_NOWAIT ? "block" : "undo");
    }
    on = PyObject_IsTrue(value);
    if (on < 0) {
        return -1;
    }
    if (flag == IPC_NOWAIT) {
        on = !on;
    }
    if (on) {
        SYSV_SEM(self)->op_flags |= flag;
    } else {
        SYSV_SEM(self)->op_flags &= (short)~flag;
    }
    return 0;
}

PyObject *
sysv_sem_get_time(PyObject *self, void *closure)
{
    struct ipcore_sem_info info;
    int rc = ipcore_sem_stat(SYSV_SEM(self)->id, &info);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    if ((enum sysv_sem_time)(intptr_t)closure == SYSV_SEM_OTIME) {
        return sysv_from_time(info.otime);
    }
    return sysv_from_time(info.ctime);
}
