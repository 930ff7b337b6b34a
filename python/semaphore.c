/*
 * sysv_ipc.Semaphore: one semaphore (a set of one, element 0), as 1.1.0.
 * Also the semop loop that SemaphoreSet shares.
 */
#include "sysv_ipc_int.h"

#include <errno.h>

typedef struct {
    SYSV_OBJECT_HEAD;
    short op_flags; /* IPC_NOWAIT unless block, SEM_UNDO if undo */
} SemaphoreObject;

#define SEM(o) ((SemaphoreObject *)(o))

/* --------------------------------------------------------- the semop loop */

/* PEP 475: waits with the GIL released; on EINTR runs the handlers, then
 * retries with what is left of the timeout unless a handler raised. */
static int
semop_wait(int id, struct sembuf *ops, size_t nops,
           const struct timespec *timeout)
{
    struct ipcore_deadline deadline;
    struct timespec left;
    const struct timespec *wait;
    int rc;

    ipcore_deadline_start(&deadline, timeout);
    for (;;) {
        wait = ipcore_deadline_left(&deadline, &left);
        Py_BEGIN_ALLOW_THREADS
        rc = ipcore_sem_ops(id, ops, nops, wait);
        Py_END_ALLOW_THREADS
        if (rc != -EINTR) {
            return rc;
        }
        if (PyErr_CheckSignals() < 0) {
            return SYSV_RC_PYERR;
        }
    }
}

static bool
is_zero(const struct timespec *timeout)
{
    return timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
}

/*
 * First try without waiting, holding the GIL: most operations can proceed
 * at once, and the kernel lets a new operation proceed whenever it can,
 * waiters or not, so this is the same single semtimedop() the caller asked
 * for.  Only when it would block is the GIL released for the real wait.
 * Operations that mix IPC_NOWAIT and waiting go straight to the wait,
 * which keeps their flags.
 */
int
sysv_semop(int id, struct sembuf *ops, size_t nops,
           const struct timespec *timeout)
{
    size_t i, nowait = 0;
    int rc;

    if (nops == 1) {
        /* Semaphore and the per-element shorthands: no loops. */
        if (ops->sem_flg & IPC_NOWAIT) {
            return ipcore_sem_ops(id, ops, 1, NULL);
        }
        ops->sem_flg |= IPC_NOWAIT;
        rc = ipcore_sem_ops(id, ops, 1, NULL);
        ops->sem_flg &= (short)~IPC_NOWAIT;
        if (rc != -EAGAIN || is_zero(timeout)) {
            return rc;
        }
        return semop_wait(id, ops, 1, timeout);
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
        if (rc != -EAGAIN || is_zero(timeout)) {
            return rc;
        }
    }
    return semop_wait(id, ops, nops, timeout);
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

/* ----------------------------------------------------------- life cycle */

static PyObject *
sem_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *self = type->tp_alloc(type, 0);

    if (self) {
        SEM(self)->id = -1;
        SEM(self)->key = IPC_PRIVATE;
        SEM(self)->op_flags = 0;
    }
    return self;
}

static int
sem_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "key", "flags", "mode", "initial_value", NULL };
    PyObject *key_obj;
    int flags = 0, mode = 0600, initial_value = 0;
    enum ipcore_key_choice choice;
    struct ipcore_object obj;
    bool set_value;
    key_t key;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|iii:Semaphore", kwlist,
                                     &key_obj, &flags, &mode,
                                     &initial_value)) {
        return -1;
    }
    flags &= IPC_CREAT | IPC_EXCL;
    if (sysv_check_flags(flags) < 0 ||
        sysv_parse_key(key_obj, flags, &key, &choice) < 0) {
        return -1;
    }

    /* As 1.1.0: a get that may create sets the value when the caller
     * can write it, even if the semaphore already existed. */
    set_value = (flags & (IPC_CREAT | IPC_EXCL)) && (mode & 0200);
    if (set_value &&
        (initial_value < 0 || initial_value > IPCORE_SEM_VALUE_MAX)) {
        /* Refused before anything is created. */
        sysv_error(self, IPCORE_SEM, IPCORE_OP_SET, -ERANGE);
        return -1;
    }

    rc = ipcore_sem_get(key, choice, 1, flags, (unsigned int)mode, &obj);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_GET, rc);
        return -1;
    }
    SEM(self)->key = obj.key;
    SEM(self)->id = obj.id;

    if (set_value) {
        rc = ipcore_sem_set_value(obj.id, 0, initial_value);
        if (rc < 0) {
            sysv_error(self, IPCORE_SEM, IPCORE_OP_SET, rc);
            return -1;
        }
    }
    return 0;
}

static void
sem_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyObject *
sem_str(PyObject *self)
{
    return PyUnicode_FromFormat("Key=%d, id=%d", (int)SEM(self)->key,
                                SEM(self)->id);
}

static PyObject *
sem_repr(PyObject *self)
{
    return PyUnicode_FromFormat("sysv_ipc.Semaphore(%d)", (int)SEM(self)->key);
}

/* -------------------------------------------------------------- methods */

/* Runs one op on element 0 with the handle's block and undo flags. */
static PyObject *
sem_run(PyObject *self, int delta, const struct timespec *timeout)
{
    struct sembuf op = {
        .sem_num = 0,
        .sem_op = (short)delta,
        .sem_flg = SEM(self)->op_flags,
    };
    int rc = sysv_semop(SEM(self)->id, &op, 1, timeout);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_SEMOP, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *
sem_acquire(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    static const char *const params[] = { "timeout", "delta", NULL };
    PyObject *argv[2] = { NULL, NULL };
    const struct timespec *timeout = NULL;
    struct timespec ts;
    int delta = 1;

    if (nargs || kwnames) {
        if (sysv_parse("acquire", params, 0, args, nargs, kwnames, argv) < 0 ||
            sysv_parse_timeout(argv[0], &ts, &timeout) < 0 ||
            sysv_parse_delta(argv[1], &delta) < 0) {
            return NULL;
        }
    }
    return sem_run(self, -delta, timeout);
}

static PyObject *
sem_release(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    static const char *const params[] = { "delta", NULL };
    PyObject *argv[1] = { NULL };
    int delta = 1;

    if (nargs || kwnames) {
        if (sysv_parse("release", params, 0, args, nargs, kwnames, argv) < 0 ||
            sysv_parse_delta(argv[0], &delta) < 0) {
            return NULL;
        }
        /* abs(SHRT_MIN) is no short: no value could take it. */
        if (delta > SHRT_MAX) {
            return sysv_error(self, IPCORE_SEM, IPCORE_OP_SEMOP, -ERANGE);
        }
    }
    return sem_run(self, delta, NULL);
}

static PyObject *
sem_z(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
      PyObject *kwnames)
{
    static const char *const params[] = { "timeout", NULL };
    PyObject *argv[1] = { NULL };
    const struct timespec *timeout = NULL;
    struct timespec ts;

    if (nargs || kwnames) {
        if (sysv_parse("Z", params, 0, args, nargs, kwnames, argv) < 0 ||
            sysv_parse_timeout(argv[0], &ts, &timeout) < 0) {
            return NULL;
        }
    }
    return sem_run(self, 0, timeout);
}

static PyObject *
sem_remove(PyObject *self, PyObject *unused)
{
    int rc = ipcore_remove(IPCORE_SEM, SEM(self)->id);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_REMOVE, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *
sem_enter(PyObject *self, PyObject *unused)
{
    PyObject *r = sem_run(self, -1, NULL);

    if (!r) {
        return NULL;
    }
    Py_DECREF(r);
    return Py_NewRef(self);
}

static PyObject *
sem_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return sem_run(self, 1, NULL);
}

/* ----------------------------------------------------------- attributes */

/* The getters for one semctl value command on element 0. */
static PyObject *
sem_get_value(PyObject *self, void *closure)
{
    int v = 0;
    int rc = ipcore_sem_get_value(SEM(self)->id, 0, &v);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    return PyLong_FromLong(v);
}

static int
sem_set_value(PyObject *self, PyObject *value, void *closure)
{
    long v;
    int overflow, rc;

    if (value == NULL) {
        return sysv_no_delete(self, "value");
    }
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError,
                        "Attribute 'value' must be an integer");
        return -1;
    }
    v = PyLong_AsLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || v < 0 || v > IPCORE_SEM_VALUE_MAX) {
        PyErr_SetString(PyExc_ValueError,
                        "Attribute 'value' must be between 0 and 32767 "
                        "(SEMAPHORE_VALUE_MAX)");
        return -1;
    }
    rc = ipcore_sem_set_value(SEM(self)->id, 0, (int)v);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_SET, rc);
        return -1;
    }
    return 0;
}

static PyObject *
sem_get_last_pid(PyObject *self, void *closure)
{
    pid_t pid = 0;
    int rc = ipcore_sem_get_pid(SEM(self)->id, 0, &pid);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    return sysv_from_pid(pid);
}

static PyObject *
sem_get_ncount(PyObject *self, void *closure)
{
    int n = 0;
    int rc = ipcore_sem_get_ncount(SEM(self)->id, 0, &n);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    return PyLong_FromLong(n);
}

static PyObject *
sem_get_zcount(PyObject *self, void *closure)
{
    int n = 0;
    int rc = ipcore_sem_get_zcount(SEM(self)->id, 0, &n);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    return PyLong_FromLong(n);
}

static PyObject *
sem_get_otime(PyObject *self, void *closure)
{
    struct ipcore_sem_info info;
    int rc = ipcore_sem_stat(SEM(self)->id, &info);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
    }
    return sysv_from_time(info.otime);
}

/* block and undo: closure is the flag that the attribute turns off/on. */
static PyObject *
sem_get_flag(PyObject *self, void *closure)
{
    short flag = (short)(intptr_t)closure;
    bool on = (SEM(self)->op_flags & flag) != 0;

    /* block is True when IPC_NOWAIT is off. */
    if (flag == IPC_NOWAIT) {
        on = !on;
    }
    return PyBool_FromLong(on);
}

static int
sem_set_flag(PyObject *self, PyObject *value, void *closure)
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
        SEM(self)->op_flags |= flag;
    } else {
        SEM(self)->op_flags &= (short)~flag;
    }
    return 0;
}

/* ---------------------------------------------------------------- type */

#define FASTCALL_KW(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef sem_methods[] = {
    { "acquire", FASTCALL_KW(sem_acquire), METH_FASTCALL | METH_KEYWORDS,
      "acquire($self, /, timeout=None, delta=1)\n--\n\n"
      "Decrements the semaphore by abs(delta), waiting while that would\n"
      "take it below zero.  timeout None waits as long as it takes, 0\n"
      "does not wait, and a positive number (a float is fine) waits at\n"
      "most that many seconds; BusyError if the wait ends unsatisfied or\n"
      "if block is False and it would wait." },
    { "P", FASTCALL_KW(sem_acquire), METH_FASTCALL | METH_KEYWORDS,
      "P($self, /, timeout=None, delta=1)\n--\n\n"
      "The same as acquire() (Dijkstra's name for it)." },
    { "release", FASTCALL_KW(sem_release), METH_FASTCALL | METH_KEYWORDS,
      "release($self, /, delta=1)\n--\n\n"
      "Increments the semaphore by abs(delta); ValueError if that would\n"
      "take it above SEMAPHORE_VALUE_MAX." },
    { "V", FASTCALL_KW(sem_release), METH_FASTCALL | METH_KEYWORDS,
      "V($self, /, delta=1)\n--\n\n"
      "The same as release() (Dijkstra's name for it)." },
    { "Z", FASTCALL_KW(sem_z), METH_FASTCALL | METH_KEYWORDS,
      "Z($self, /, timeout=None)\n--\n\n"
      "Waits until the semaphore's value is zero.  timeout and block\n"
      "work as for acquire()." },
    { "remove", sem_remove, METH_NOARGS,
      "remove($self, /)\n--\n\n"
      "Removes the semaphore from the system (IPC_RMID); processes\n"
      "waiting on it wake with ExistentialError." },
    { "__enter__", sem_enter, METH_NOARGS,
      "__enter__($self, /)\n--\n\n"
      "Acquires the semaphore (as acquire()) and returns it." },
    { "__exit__", (PyCFunction)(void (*)(void))sem_exit, METH_FASTCALL,
      "__exit__($self, /, *args)\n--\n\n"
      "Releases the semaphore (as release()); exceptions propagate." },
    { NULL, NULL, 0, NULL },
};

#define PERM(field) SYSV_PERM_CLOSURE(IPCORE_SEM, field)

static PyGetSetDef sem_getset[] = {
    { "key", sysv_get_key, NULL,
      "The key the semaphore was opened with (read-only).", NULL },
    { "id", sysv_get_id, NULL,
      "The id the kernel gave the semaphore (read-only).", NULL },
    { "value", sem_get_value, sem_set_value,
      "The semaphore's value, 0 to SEMAPHORE_VALUE_MAX (GETVAL/SETVAL).",
      NULL },
    { "undo", sem_get_flag, sem_set_flag,
      "When true, acquire() and release() use SEM_UNDO: the kernel\n"
      "reverses their effect when this process exits.  Default False.",
      (void *)(intptr_t)SEM_UNDO },
    { "block", sem_get_flag, sem_set_flag,
      "When false, acquire() and Z() raise BusyError instead of\n"
      "waiting (IPC_NOWAIT).  Default True.",
      (void *)(intptr_t)IPC_NOWAIT },
    { "mode", sysv_get_perm, sysv_set_perm, "The semaphore's permission bits.",
      PERM(SYSV_PERM_MODE) },
    { "uid", sysv_get_perm, sysv_set_perm, "The owner's user id.",
      PERM(SYSV_PERM_UID) },
    { "gid", sysv_get_perm, sysv_set_perm, "The owner's group id.",
      PERM(SYSV_PERM_GID) },
    { "cuid", sysv_get_perm, NULL, "The creator's user id (read-only).",
      PERM(SYSV_PERM_CUID) },
    { "cgid", sysv_get_perm, NULL, "The creator's group id (read-only).",
      PERM(SYSV_PERM_CGID) },
    { "last_pid", sem_get_last_pid, NULL,
      "The pid of the last process to operate on the semaphore\n"
      "(GETPID, read-only).",
      NULL },
    { "waiting_for_nonzero", sem_get_ncount, NULL,
      "How many processes wait in acquire() (GETNCNT, read-only).", NULL },
    { "waiting_for_zero", sem_get_zcount, NULL,
      "How many processes wait in Z() (GETZCNT, read-only).", NULL },
    { "o_time", sem_get_otime, NULL,
      "The time of the last semop(), 0 before the first (read-only).", NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot sem_slots[] = {
    { Py_tp_doc,
      "Semaphore(key, flags=0, mode=0o600, initial_value=0)\n--\n\n"
      "A handle to a System V semaphore (a set of one).  key is None for\n"
      "a random unused key (needs IPC_EXCL), IPC_PRIVATE, or an int in\n"
      "KEY_MIN..KEY_MAX.  With IPC_CREAT or IPC_EXCL in flags and 0o200\n"
      "in mode, the value is set to initial_value after the get." },
    { Py_tp_new, SYSV_SLOT(sem_new) },
    { Py_tp_init, SYSV_SLOT(sem_init) },
    { Py_tp_dealloc, SYSV_SLOT(sem_dealloc) },
    { Py_tp_str, SYSV_SLOT(sem_str) },
    { Py_tp_repr, SYSV_SLOT(sem_repr) },
    { Py_tp_methods, sem_methods },
    { Py_tp_getset, sem_getset },
    { 0, NULL },
};

PyType_Spec sysv_semaphore_spec = {
    .name = "sysv_ipc.Semaphore",
    .basicsize = sizeof(SemaphoreObject),
    .flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = sem_slots,
};
