/*
 * sysv_ipc.Semaphore: one semaphore (a set of one, element 0), as 1.1.0.
 * What it shares with SemaphoreSet is in sem_common.c.
 */
#include "sem_common.h"

#include "args.h"

#include <errno.h>

typedef struct {
    SYSV_SEM_HEAD;
} SemaphoreObject;

#define SEM(o) ((SemaphoreObject *)(o))

/* ----------------------------------------------------------- life cycle */

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

    if (!sysv_parse_key_flags(args, kwds, &key_obj, &flags) &&
        !PyArg_ParseTupleAndKeywords(args, kwds, "O|iii:Semaphore", kwlist,
                                     &key_obj, &flags, &mode,
                                     &initial_value)) {
        return -1;
    }
    flags &= IPC_CREAT | IPC_EXCL;
    if (sysv_parse_key(key_obj, flags, &key, &choice) < 0) {
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

static PyObject *
sem_repr(PyObject *self)
{
    return PyUnicode_FromFormat("sysv_ipc.Semaphore(%d)", (int)SEM(self)->key);
}

/* -------------------------------------------------------------- methods */

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
    return sysv_sem_run(self, 0, -delta, timeout);
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
    return sysv_sem_run(self, 0, delta, NULL);
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
    return sysv_sem_run(self, 0, 0, timeout);
}

static PyObject *
sem_remove(PyObject *self, PyObject *unused)
{
    return sysv_remove(self, IPCORE_SEM, SEM(self)->id);
}

static PyObject *
sem_enter(PyObject *self, PyObject *unused)
{
    PyObject *r = sysv_sem_run(self, 0, -1, NULL);

    if (!r) {
        return NULL;
    }
    Py_DECREF(r);
    return Py_NewRef(self);
}

static PyObject *
sem_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return sysv_sem_run(self, 0, 1, NULL);
}

/* ----------------------------------------------------------- attributes */

/* value: sysv_sem_query() for SYSV_SEM_VALUE alone, without the switch
 * on the closure, since every read of the value comes here. */
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

/* last_pid, waiting_for_*: the closure is the sysv_sem_query. */
static PyObject *
sem_get_query(PyObject *self, void *closure)
{
    return sysv_sem_query(self, 0, (enum sysv_sem_query)(intptr_t)closure);
}

static int
sem_set_value(PyObject *self, PyObject *value, void *closure)
{
    long v;
    int rc;

    if (value == NULL) {
        return sysv_no_delete(self, "value");
    }
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError,
                        "Attribute 'value' must be an integer");
        return -1;
    }
    /* Not PyLong_AsLongAndOverflow(): its out parameter costs every write
     * a few instructions; an overflow is the ValueError below all the
     * same. */
    v = PyLong_AsLong(value);
    if (v == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
    }
    if (v < 0 || v > IPCORE_SEM_VALUE_MAX) {
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

/* ---------------------------------------------------------------- type */

static PyMethodDef sem_methods[] = {
    { "acquire", SYSV_METH(sem_acquire), METH_FASTCALL | METH_KEYWORDS,
      "acquire($self, /, timeout=None, delta=1)\n--\n\n"
      "Decrements the semaphore by abs(delta), waiting while that would\n"
      "take it below zero.  timeout None waits as long as it takes, 0\n"
      "does not wait, and a positive number (a float is fine) waits at\n"
      "most that many seconds; BusyError if the wait ends unsatisfied or\n"
      "if block is False and it would wait." },
    { "P", SYSV_METH(sem_acquire), METH_FASTCALL | METH_KEYWORDS,
      "P($self, /, timeout=None, delta=1)\n--\n\n"
      "The same as acquire() (Dijkstra's name for it)." },
    { "release", SYSV_METH(sem_release), METH_FASTCALL | METH_KEYWORDS,
      "release($self, /, delta=1)\n--\n\n"
      "Increments the semaphore by abs(delta); ValueError if that would\n"
      "take it above SEMAPHORE_VALUE_MAX." },
    { "V", SYSV_METH(sem_release), METH_FASTCALL | METH_KEYWORDS,
      "V($self, /, delta=1)\n--\n\n"
      "The same as release() (Dijkstra's name for it)." },
    { "Z", SYSV_METH(sem_z), METH_FASTCALL | METH_KEYWORDS,
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
    { "__exit__", SYSV_METH(sem_exit), METH_FASTCALL,
      "__exit__($self, /, *args)\n--\n\n"
      "Releases the semaphore (as release()); exceptions propagate." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef sem_getset[] = {
    { "key", sysv_get_key, NULL,
      "The key the semaphore was opened with (read-only).", NULL },
    { "value", sem_get_value, sem_set_value,
      "The semaphore's value, 0 to SEMAPHORE_VALUE_MAX (GETVAL/SETVAL).",
      SYSV_CLOSURE(SYSV_SEM_VALUE) },
    { "undo", sysv_sem_get_flag, sysv_sem_set_flag,
      "When true, acquire() and release() use SEM_UNDO: the kernel\n"
      "reverses their effect when this process exits.  Default False.",
      SYSV_CLOSURE(SEM_UNDO) },
    { "block", sysv_sem_get_flag, sysv_sem_set_flag,
      "When false, acquire() and Z() raise BusyError instead of\n"
      "waiting (IPC_NOWAIT).  Default True.",
      SYSV_CLOSURE(IPC_NOWAIT) },
    SYSV_PERM_GETSETS(IPCORE_SEM, "The semaphore's permission bits."),
    { "last_pid", sem_get_query, NULL,
      "The pid of the last process to operate on the semaphore\n"
      "(GETPID, read-only).",
      SYSV_CLOSURE(SYSV_SEM_PID) },
    { "waiting_for_nonzero", sem_get_query, NULL,
      "How many processes wait in acquire() (GETNCNT, read-only).",
      SYSV_CLOSURE(SYSV_SEM_NCOUNT) },
    { "waiting_for_zero", sem_get_query, NULL,
      "How many processes wait in Z() (GETZCNT, read-only).",
      SYSV_CLOSURE(SYSV_SEM_ZCOUNT) },
    { "o_time", sysv_sem_get_time, NULL,
      "The time of the last semop(), 0 before the first (read-only).",
      SYSV_CLOSURE(SYSV_SEM_OTIME) },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot sem_slots[] = {
    { Py_tp_doc,
      "Semaphore(key, flags=0, mode=0o600, initial_value=0)\n--\n\n"
      "A handle to a System V semaphore (a set of one).  key is None for\n"
      "a random unused key (needs IPC_EXCL), IPC_PRIVATE, or an int in\n"
      "KEY_MIN..KEY_MAX.  With IPC_CREAT or IPC_EXCL in flags and 0o200\n"
      "in mode, the value is set to initial_value after the get." },
    { Py_tp_new, SYSV_SLOT(sysv_new) },
    { Py_tp_init, SYSV_SLOT(sem_init) },
    { Py_tp_dealloc, SYSV_SLOT(sysv_dealloc) },
    { Py_tp_str, SYSV_SLOT(sysv_str) },
    { Py_tp_repr, SYSV_SLOT(sem_repr) },
    { Py_tp_methods, sem_methods },
    { Py_tp_getset, sem_getset },
    { Py_tp_members, sysv_members },
    { 0, NULL },
};

PyType_Spec sysv_semaphore_spec = {
    .name = "sysv_ipc.Semaphore",
    .basicsize = sizeof(SemaphoreObject),
    .flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = sem_slots,
};
