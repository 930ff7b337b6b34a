/*
 * What Semaphore and SemaphoreSet share (sem_common.c): the semop and its
 * fast path, the semctl queries of one element, the delta argument, and
 * the block, undo and time attributes.
 *
 * The fast path of acquire() and release() and the value query are inline
 * here, in the header of the semaphore family only, so that they cost no
 * call on the module's hottest paths.
 */
#ifndef SYSV_SEM_COMMON_H
#define SYSV_SEM_COMMON_H

#include "errors.h"
#include "object.h"

#include <errno.h>
#include <stdbool.h>

/*
 * The first members of Semaphore and SemaphoreSet objects, so that the
 * code the two share (below) works on either.  op_flags holds IPC_NOWAIT
 * unless block, and SEM_UNDO if undo.
 */
/* clang-format off */
#define SYSV_SEM_HEAD \
    SYSV_OBJECT_HEAD; \
    short op_flags
/* clang-format on */

typedef struct {
    SYSV_SEM_HEAD;
} SysvSemObject;

#define SYSV_SEM(o) ((SysvSemObject *)(o))

/*
 * Runs ops (all on set id) with semtimedop(2), following PEP 475: the GIL
 * is released only when the call may block, an EINTR runs the signal
 * handlers and, unless one raised, retries with the time left (timeout
 * NULL: forever).  Returns 0, a negated errno, or SYSV_RC_PYERR when a
 * signal handler raised.
 */
int sysv_semop(int id, struct sembuf *ops, size_t nops,
               const struct timespec *timeout);

/* The blocking part of sysv_semop(): waits with the GIL released (see
 * wait.h). */
int sysv_semop_wait(int id, struct sembuf *ops, size_t nops,
                    const struct timespec *timeout);

/* A timeout of 0 s: one try, no wait. */
static inline bool
sysv_is_zero(const struct timespec *timeout)
{
    return timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
}

/*
 * sysv_semop() of one operation, inline because every acquire() and
 * release() comes here.  It first tries without waiting, holding the GIL:
 * most operations can proceed at once, and the kernel lets a new operation
 * proceed whenever it can, waiters or not, so this is the same single
 * semtimedop() the caller asked for.  Only when it would block is the GIL
 * released for the real wait.
 */
static inline int
sysv_semop1(int id, struct sembuf *op, const struct timespec *timeout)
{
    int rc;

    if (op->sem_flg & IPC_NOWAIT) {
        return ipcore_sem_ops(id, op, 1, NULL);
    }
    op->sem_flg |= IPC_NOWAIT;
    rc = ipcore_sem_ops(id, op, 1, NULL);
    op->sem_flg &= (short)~IPC_NOWAIT;
    if (rc != -EAGAIN || sysv_is_zero(timeout)) {
        return rc;
    }
    return sysv_semop_wait(id, op, 1, timeout);
}

/* Adds delta to element num of self's set (0: waits for it to be zero)
 * with the handle's block and undo flags; None, or NULL with the error. */
static inline PyObject *
sysv_sem_run(PyObject *self, int num, int delta,
             const struct timespec *timeout)
{
    struct sembuf op = {
        .sem_num = (unsigned short)num,
        .sem_op = (short)delta,
        .sem_flg = SYSV_SEM(self)->op_flags,
    };
    int rc = sysv_semop1(SYSV_SEM(self)->id, &op, timeout);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_SEMOP, rc);
    }
    Py_RETURN_NONE;
}

/* The semctl(2) queries of one element, for Semaphore's attributes (of
 * element 0) and SemaphoreSet's get_*() methods. */
enum sysv_sem_query {
    SYSV_SEM_VALUE,  /* GETVAL */
    SYSV_SEM_PID,    /* GETPID */
    SYSV_SEM_NCOUNT, /* GETNCNT */
    SYSV_SEM_ZCOUNT, /* GETZCNT */
};

/* The answer to query what on element num as an int, or NULL with the
 * error.  Inline: the value getter is as fast as a call to the core. */
static inline PyObject *
sysv_sem_query(PyObject *self, int num, enum sysv_sem_query what)
{
    int id = SYSV_SEM(self)->id, v = 0, rc = -EINVAL;
    pid_t pid = 0;

    switch (what) {
    case SYSV_SEM_VALUE:
        rc = ipcore_sem_get_value(id, num, &v);
        break;
    case SYSV_SEM_PID:
        rc = ipcore_sem_get_pid(id, num, &pid);
        v = (int)pid;
        break;
    case SYSV_SEM_NCOUNT:
        rc = ipcore_sem_get_ncount(id, num, &v);
        break;
    case SYSV_SEM_ZCOUNT:
        rc = ipcore_sem_get_zcount(id, num, &v);
        break;
    }
    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    return PyLong_FromLong(v);
}

/* Converts a delta argument (a C short, not 0) to its absolute value. */
int sysv_parse_delta(PyObject *obj, int *delta);

/* block and undo: the closure is the flag, IPC_NOWAIT or SEM_UNDO, that
 * the attribute turns off (block) or on (undo). */
PyObject *sysv_sem_get_flag(PyObject *self, void *closure);
int sysv_sem_set_flag(PyObject *self, PyObject *value, void *closure);

/* o_time and last_change_time: the closure is one of these. */
enum sysv_sem_time {
    SYSV_SEM_OTIME,
    SYSV_SEM_CTIME,
};

PyObject *sysv_sem_get_time(PyObject *self, void *closure);

#endif /* SYSV_SEM_COMMON_H */
