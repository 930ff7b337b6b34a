/*
 * Private declarations shared by the sysv_ipc extension's .c files.
 *
 * The module is a thin layer over the ipcore library: argument parsing,
 * object lifetime, the GIL and signals live here; system calls and the
 * meaning of errno values live in core/.
 */
#ifndef SYSV_IPC_INT_H
#define SYSV_IPC_INT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* PyMemberDef, T_INT, READONLY before 3.12 */

#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "ipcore.h"

/* What 1.1.0 reports as its version; we keep it so version checks pass. */
#define SYSV_IPC_VERSION "1.1.0"

/* A return code meaning "a Python exception is already set". */
#define SYSV_RC_PYERR INT_MIN

/* Per-module state: the exceptions and the types. */
typedef struct {
    PyObject *Error;
    PyObject *InternalError;
    PyObject *PermissionsError;
    PyObject *ExistentialError;
    PyObject *BusyError;
    PyObject *NotAttachedError;
    PyTypeObject *SemaphoreType;
    PyTypeObject *SemaphoreSetType;
    PyTypeObject *SharedMemoryType;
    PyTypeObject *MessageQueueType;
} sysv_state;

extern PyModuleDef sysv_ipc_module;

/*
 * The first members of every object of the module, so that attribute code
 * shared by the kinds (key, id, owner and mode) can work on any of them.
 */
/* clang-format off */
#define SYSV_OBJECT_HEAD \
    PyObject_HEAD \
    key_t key; \
    int id
/* clang-format on */

typedef struct {
    SYSV_OBJECT_HEAD;
} SysvObject;

/* ---------------------------------------------------------------- module.c */

/* The state of the module that obj (the module itself, or an instance of
 * one of its types, or of a subclass) belongs to.  Never NULL for those. */
sysv_state *sysv_get_state(PyObject *obj);

/* ---------------------------------------------------------------- errors.c */

/*
 * Raises the exception that rc (a negated errno from an ipcore call made
 * for op on an object of kind) stands for, and returns NULL.  rc may also
 * be SYSV_RC_PYERR, in which case the exception already set is kept.  obj
 * locates the module (see sysv_get_state).  This is the only place where
 * error kinds become exceptions.
 */
PyObject *sysv_error(PyObject *obj, enum ipcore_kind kind, enum ipcore_op op,
                     int rc);

/* The exception class for an error kind (borrowed), for the few places
 * that raise with a message of their own. */
PyObject *sysv_exception(PyObject *obj, enum ipcore_error_kind err);

/* ---------------------------------------------------------------- args.c */

/*
 * A fast parser for METH_FASTCALL | METH_KEYWORDS methods.  params lists
 * the names of the positional-or-keyword parameters (NULL-terminated);
 * out[i], which the caller sets to NULL, receives a borrowed reference to
 * the argument for params[i], and stays NULL when that argument is not
 * given.  The first nrequired parameters must be given.  Returns 0, or -1
 * with TypeError set as CPython's own functions word it.
 */
int sysv_parse(const char *fname, const char *const *params, int nrequired,
               PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               PyObject **out);

/*
 * The constructors' usual call, Kind(key) or Kind(key, flags) with flags an
 * exact int, converted as PyArg_ParseTupleAndKeywords() converts "O|i" but
 * without its generic machinery, which costs a create+remove more than
 * everything else the module does for it (callgrind: ~300 instructions of
 * ~1,400).  Returns 1 when done (*key borrowed, *flags set), 0 for any
 * other call, with nothing set and no exception: the caller then parses
 * it the general way, which gives every error its usual text.
 */
int sysv_parse_key_flags(PyObject *args, PyObject *kwds, PyObject **key,
                         int *flags);

/* Checks the IPC_CREAT/IPC_EXCL combination of a constructor's flags and
 * converts its key argument: None asks for a random key (only valid with
 * IPC_EXCL in flags), else an int in [KEY_MIN, KEY_MAX].  Returns 0 or -1
 * with ValueError/TypeError set. */
int sysv_parse_key(PyObject *obj, int flags, key_t *key,
                   enum ipcore_key_choice *choice);

/*
 * Converts a timeout argument: None (or obj NULL, or +inf) waits forever
 * (*timeout = NULL); an int or float >= 0 is stored in *ts and *timeout
 * points at it.  Anything else is TypeError.  Returns 0 or -1.
 */
int sysv_parse_timeout(PyObject *obj, struct timespec *ts,
                       const struct timespec **timeout);

/* Converts an int argument that must fit a C int; -1 with an exception
 * (OverflowError naming what when it does not). */
int sysv_parse_int(PyObject *obj, const char *what, int *out);

/* Converts a non-negative index-like int into *out; -1 with an exception
 * (ValueError, naming what, when negative). */
int sysv_parse_size(PyObject *obj, const char *what, Py_ssize_t *out);

/*
 * The bytes of a message or of data to write: bytes and str (as UTF-8)
 * are read in place, any other bytes-like object through a simple buffer
 * request, which sysv_data_release() gives back.
 */
typedef struct {
    const char *buf;
    Py_ssize_t len;
    bool has_view;
    Py_buffer view;
} sysv_data;

int sysv_data_get(PyObject *obj, sysv_data *data);

static inline void
sysv_data_release(sysv_data *data)
{
    if (data->has_view) {
        PyBuffer_Release(&data->view);
    }
}

/* Converts a time_t, a pid_t and a uid_t to Python ints. */
#define sysv_from_time(t) PyLong_FromLongLong((long long)(t))
#define sysv_from_pid(p) PyLong_FromLong((long)(p))
#define sysv_from_uid(u) PyLong_FromUnsignedLong((unsigned long)(u))

/* ---------------------------------------------------------------- object.c */

/* tp_new of every kind: an object not made yet (id -1), all else zero. */
PyObject *sysv_new(PyTypeObject *type, PyObject *args, PyObject *kwds);

/* tp_dealloc of the kinds that hold nothing, and the end of the others'. */
void sysv_dealloc(PyObject *self);

/* str() of the kinds that show only their key and id. */
PyObject *sysv_str(PyObject *self);

/* The remove() methods and functions: IPC_RMID of object id of kind;
 * None, or NULL with the error (obj locates the module). */
PyObject *sysv_remove(PyObject *obj, enum ipcore_kind kind, int id);

/* Raises the error for deleting a writable attribute (fix #1). */
int sysv_no_delete(PyObject *self, const char *name);

/*
 * Getters and setters shared by the three kinds.  The closure encodes the
 * object kind and the field: SYSV_PERM_CLOSURE(IPCORE_SEM, SYSV_PERM_UID).
 */
enum sysv_perm_field {
    SYSV_PERM_UID,
    SYSV_PERM_GID,
    SYSV_PERM_CUID,
    SYSV_PERM_CGID,
    SYSV_PERM_MODE,
};

#define SYSV_PERM_CLOSURE(kind, field)                                        \
    ((void *)(intptr_t)(((int)(kind) << 8) | (int)(field)))

PyObject *sysv_get_key(PyObject *self, void *closure);
PyObject *sysv_get_perm(PyObject *self, void *closure);
int sysv_set_perm(PyObject *self, PyObject *value, void *closure);

/*
 * The getset entries of the owner and mode attributes, the same on every
 * kind but for the doc of mode (mode_doc: "The queue's permission bits.").
 */
/* clang-format off */
#define SYSV_PERM_GETSETS(kind, mode_doc) \
    { "uid", sysv_get_perm, sysv_set_perm, "The owner's user id.", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_UID) }, \
    { "gid", sysv_get_perm, sysv_set_perm, "The owner's group id.", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_GID) }, \
    { "mode", sysv_get_perm, sysv_set_perm, mode_doc, \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_MODE) }, \
    { "cuid", sysv_get_perm, NULL, "The creator's user id (read-only).", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_CUID) }, \
    { "cgid", sysv_get_perm, NULL, "The creator's group id (read-only).", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_CGID) }
/* clang-format on */

/*
 * The members of every kind: `id` alone.  It is a plain read-only member,
 * as in 1.1.0, because writing one raises 1.1.0's AttributeError text,
 * "readonly attribute" (a getset without a setter says "attribute 'id' of
 * ... objects is not writable"), and programs and 1.1.0's tests match it.
 */
extern PyMemberDef sysv_members[];

/* ------------------------------------------------------- sem_common.c */

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

/* The blocking part of sysv_semop(): waits with the GIL released. */
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

/* -------------------------------------------------------- type specs */

/*
 * A function for a PyType_Slot or PyModuleDef_Slot, whose value is a
 * void *.  POSIX makes the conversion safe; going through uintptr_t keeps
 * -Wpedantic (which forbids it done directly) quiet.
 */
#define SYSV_SLOT(f) ((void *)(uintptr_t)(f))

/* A method of any calling convention as the PyCFunction of a PyMethodDef
 * (through void (*)(void), which -Wcast-function-type accepts). */
#define SYSV_METH(f) ((PyCFunction)(void (*)(void))(f))

/* A small int as the closure of a PyGetSetDef (which field, which flag). */
#define SYSV_CLOSURE(v) ((void *)(intptr_t)(v))

extern PyType_Spec sysv_semaphore_spec;
extern PyType_Spec sysv_semaphore_set_spec;
extern PyType_Spec sysv_shared_memory_spec;
extern PyType_Spec sysv_message_queue_spec;

/* shared_memory.c: a new attached SharedMemory for segment id (attach()). */
PyObject *sysv_shm_attach_new(PyObject *module, int id, const void *address,
                              int flags);

#endif /* SYSV_IPC_INT_H */
