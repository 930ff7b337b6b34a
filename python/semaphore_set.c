/*
 * sysv_ipc.SemaphoreSet: a whole System V semaphore set, with per-element
 * values and atomic multi-operation semop.  Not in 1.1.0; Semaphore stays
 * as it was.  What the two share is in sem_common.c.
 *
 * This file holds the set and its values (semctl): life cycle, set[i],
 * values, get_*() and set_value(), the attributes and the type; the semops
 * (acquire(), release(), Z(), operate()) are in semaphore_set_semop.c.
 */
#include "semaphore_set.h"

#include "args.h"

#include <errno.h>

/* Values handled on the stack; more go to the heap. */
#define STACK_VALUES 64

/* ---------------------------------------------------------- conversions */

static int
parse_value(PyObject *obj, unsigned short *value)
{
    long v;
    int overflow;

    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "a semaphore value must be an integer, not %.50s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    v = PyLong_AsLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || v < 0 || v > IPCORE_SEM_VALUE_MAX) {
        PyErr_SetString(PyExc_ValueError,
                        "a semaphore value must be between 0 and 32767 "
                        "(SEMAPHORE_VALUE_MAX)");
        return -1;
    }
    *value = (unsigned short)v;
    return 0;
}

#define VALUES_TYPE_MESSAGE "the values must be an int or a sequence of ints"

/* The values argument frozen (see sysv_frozen_tuple): an int as it is,
 * else a tuple. */
static PyObject *
frozen_values(PyObject *obj)
{
    if (PyLong_Check(obj)) {
        return Py_NewRef(obj);
    }
    return sysv_frozen_tuple(obj, VALUES_TYPE_MESSAGE);
}

/*
 * Fills values[0..n) from frozen (from frozen_values()): one int for
 * every element, or a tuple of exactly n ints.  Runs no Python code.
 */
static int
parse_values(PyObject *frozen, unsigned short *values, int n)
{
    Py_ssize_t len, i;

    if (PyLong_Check(frozen)) {
        unsigned short v;

        if (parse_value(frozen, &v) < 0) {
            return -1;
        }
        for (i = 0; i < n; i++) {
            values[i] = v;
        }
        return 0;
    }
    len = PyTuple_GET_SIZE(frozen);
    if (len != n) {
        PyErr_Format(PyExc_ValueError,
                     "%zd values given for a set of %d semaphores", len, n);
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (parse_value(PyTuple_GET_ITEM(frozen, i), &values[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

/* SETALL from frozen (see parse_values).  The set's size and id are read
 * here, after every conversion, and nothing runs Python code between that
 * and the semctl(): SETALL reads as many values as the set has. */
static int
set_all(PyObject *self, PyObject *frozen)
{
    unsigned short stack[STACK_VALUES];
    unsigned short *values = stack;
    int n = SET(self)->nsems;
    int rc = -1, err;

    if (n > STACK_VALUES) {
        values = PyMem_New(unsigned short, n);
        if (!values) {
            PyErr_NoMemory();
            return -1;
        }
    }
    if (parse_values(frozen, values, n) < 0) {
        goto done;
    }
    err = ipcore_sem_set_all(SET(self)->id, values);
    if (err < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_SET, err);
        goto done;
    }
    rc = 0;
done:
    if (values != stack) {
        PyMem_Free(values);
    }
    return rc;
}

/* ----------------------------------------------------------- life cycle */

static int
set_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "key",  "nsems",          "flags",
                              "mode", "initial_values", NULL };
    PyObject *key_obj, *initial = Py_None, *frozen = NULL;
    int nsems, flags = 0, mode = 0600;
    enum ipcore_key_choice choice;
    struct ipcore_object obj;
    struct ipcore_sem_info info;
    key_t key;
    int rc = -1;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi|iiO:SemaphoreSet", kwlist,
                                     &key_obj, &nsems, &flags, &mode,
                                     &initial)) {
        return -1;
    }
    /* Once: a generator would be empty the second time. */
    if (initial != Py_None && !(frozen = frozen_values(initial))) {
        return -1;
    }
    flags &= IPC_CREAT | IPC_EXCL;
    if (sysv_parse_key(key_obj, flags, &key, &choice) < 0) {
        goto done;
    }
    if (nsems < 0) {
        PyErr_SetString(PyExc_ValueError, "nsems cannot be negative");
        goto done;
    }
    /* Check the values before anything is made, when we can. */
    if (frozen && nsems > 0) {
        unsigned short probe[STACK_VALUES];
        unsigned short *values = probe;
        int bad;

        if (nsems > STACK_VALUES) {
            values = PyMem_New(unsigned short, nsems);
            if (!values) {
                PyErr_NoMemory();
                goto done;
            }
        }
        bad = parse_values(frozen, values, nsems);
        if (values != probe) {
            PyMem_Free(values);
        }
        if (bad < 0) {
            goto done;
        }
    }

    rc = ipcore_sem_get(key, choice, nsems, flags, (unsigned int)mode, &obj);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_GET, rc);
        goto fail;
    }
    /* The set's real size: nsems 0 opens one of any size. */
    rc = ipcore_sem_stat(obj.id, &info);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
        goto fail;
    }
    /* The id and the size change together or not at all: GETALL and
     * SETALL trust nsems to size their buffers for the set id names. */
    SET(self)->key = obj.key;
    SET(self)->id = obj.id;
    SET(self)->nsems = (int)info.nsems;

    rc = frozen ? set_all(self, frozen) : 0;
    goto done;
fail:
    rc = -1;
done:
    Py_XDECREF(frozen);
    return rc;
}

static PyObject *
set_str(PyObject *self)
{
    return PyUnicode_FromFormat("Key=%d, id=%d, nsems=%d", (int)SET(self)->key,
                                SET(self)->id, SET(self)->nsems);
}

static PyObject *
set_repr(PyObject *self)
{
    return PyUnicode_FromFormat("sysv_ipc.SemaphoreSet(%d, %d)",
                                (int)SET(self)->key, SET(self)->nsems);
}

/* ------------------------------------------------------- values by index */

/* get_value(num) and friends: one semctl query each. */
static PyObject *
set_query(PyObject *self, PyObject *arg, enum sysv_sem_query what)
{
    int num;

    if (sysv_set_parse_num(self, arg, false, &num) < 0) {
        return NULL;
    }
    return sysv_sem_query(self, num, what);
}

static PyObject *
set_get_value(PyObject *self, PyObject *arg)
{
    return set_query(self, arg, SYSV_SEM_VALUE);
}

static PyObject *
set_get_last_pid(PyObject *self, PyObject *arg)
{
    return set_query(self, arg, SYSV_SEM_PID);
}

static PyObject *
set_get_ncount(PyObject *self, PyObject *arg)
{
    return set_query(self, arg, SYSV_SEM_NCOUNT);
}

static PyObject *
set_get_zcount(PyObject *self, PyObject *arg)
{
    return set_query(self, arg, SYSV_SEM_ZCOUNT);
}

static int
store_value(PyObject *self, int num, PyObject *value)
{
    unsigned short v;
    int rc;

    if (parse_value(value, &v) < 0) {
        return -1;
    }
    rc = ipcore_sem_set_value(SET(self)->id, num, v);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_SET, rc);
        return -1;
    }
    return 0;
}

static PyObject *
set_set_value(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const params[] = { "num", "value", NULL };
    PyObject *argv[2] = { NULL, NULL };
    int num;

    if (sysv_parse("set_value", params, 2, args, nargs, kwnames, argv) < 0 ||
        sysv_set_parse_num(self, argv[0], false, &num) < 0 ||
        store_value(self, num, argv[1]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
set_remove(PyObject *self, PyObject *unused)
{
    return sysv_remove(self, IPCORE_SEM, SET(self)->id);
}

/* ----------------------------------------------------- sequence protocol */

static Py_ssize_t
set_length(PyObject *self)
{
    return SET(self)->nsems;
}

static PyObject *
set_subscript(PyObject *self, PyObject *index)
{
    int num;

    if (sysv_set_parse_num(self, index, true, &num) < 0) {
        return NULL;
    }
    return sysv_sem_query(self, num, SYSV_SEM_VALUE);
}

static int
set_ass_subscript(PyObject *self, PyObject *index, PyObject *value)
{
    int num;

    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "semaphores cannot be deleted from a set");
        return -1;
    }
    if (sysv_set_parse_num(self, index, true, &num) < 0) {
        return -1;
    }
    return store_value(self, num, value);
}

/* ----------------------------------------------------------- attributes */

static PyObject *
set_get_nsems(PyObject *self, void *closure)
{
    return PyLong_FromLong(SET(self)->nsems);
}

static PyObject *
set_get_values(PyObject *self, void *closure)
{
    unsigned short stack[STACK_VALUES];
    unsigned short *values = stack;
    int n = SET(self)->nsems;
    PyObject *result = NULL;
    int i, rc;

    if (n > STACK_VALUES) {
        values = PyMem_New(unsigned short, n);
        if (!values) {
            return PyErr_NoMemory();
        }
    }
    rc = ipcore_sem_get_all(SET(self)->id, values);
    if (rc < 0) {
        sysv_error(self, IPCORE_SEM, IPCORE_OP_STAT, rc);
        goto done;
    }
    result = PyTuple_New(n);
    if (!result) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        PyObject *v = PyLong_FromLong(values[i]);

        if (!v) {
            Py_CLEAR(result);
            goto done;
        }
        PyTuple_SET_ITEM(result, i, v);
    }
done:
    if (values != stack) {
        PyMem_Free(values);
    }
    return result;
}

static int
set_set_values(PyObject *self, PyObject *value, void *closure)
{
    PyObject *frozen;
    int rc;

    if (value == NULL) {
        return sysv_no_delete(self, "values");
    }
    frozen = frozen_values(value);
    if (!frozen) {
        return -1;
    }
    rc = set_all(self, frozen);
    Py_DECREF(frozen);
    return rc;
}

/* ---------------------------------------------------------------- type */

static PyMethodDef set_methods[] = {
    { "acquire", SYSV_METH(sysv_set_acquire), METH_FASTCALL | METH_KEYWORDS,
      "acquire($self, /, num, timeout=None, delta=1)\n--\n\n"
      "Decrements semaphore num by abs(delta), waiting as\n"
      "Semaphore.acquire() does (block and undo apply)." },
    { "release", SYSV_METH(sysv_set_release), METH_FASTCALL | METH_KEYWORDS,
      "release($self, /, num, delta=1)\n--\n\n"
      "Increments semaphore num by abs(delta)." },
    { "Z", SYSV_METH(sysv_set_z), METH_FASTCALL | METH_KEYWORDS,
      "Z($self, /, num, timeout=None)\n--\n\n"
      "Waits until semaphore num is zero." },
    { "operate", SYSV_METH(sysv_set_operate), METH_FASTCALL | METH_KEYWORDS,
      "operate($self, /, operations, timeout=None, block=True, undo=False)"
      "\n--\n\n"
      "Performs all operations at once or none (one semop).  Each is\n"
      "(num, delta) or (num, delta, flags): a negative delta takes from\n"
      "semaphore num, a positive one adds, 0 waits for it to be zero;\n"
      "flags may hold IPC_NOWAIT and SEM_UNDO for that operation.  block\n"
      "False adds IPC_NOWAIT and undo True adds SEM_UNDO to every one.\n"
      "timeout is as for Semaphore.acquire(); BusyError when the\n"
      "operations cannot all proceed in time." },
    { "get_value", set_get_value, METH_O,
      "get_value($self, num, /)\n--\n\n"
      "Returns the value of semaphore num (GETVAL)." },
    { "set_value", SYSV_METH(set_set_value), METH_FASTCALL | METH_KEYWORDS,
      "set_value($self, /, num, value)\n--\n\n"
      "Sets the value of semaphore num (SETVAL)." },
    { "get_last_pid", set_get_last_pid, METH_O,
      "get_last_pid($self, num, /)\n--\n\n"
      "Returns the pid of the last process to operate on semaphore num\n"
      "(GETPID)." },
    { "get_waiting_for_nonzero", set_get_ncount, METH_O,
      "get_waiting_for_nonzero($self, num, /)\n--\n\n"
      "Returns how many processes wait to take from semaphore num\n"
      "(GETNCNT)." },
    { "get_waiting_for_zero", set_get_zcount, METH_O,
      "get_waiting_for_zero($self, num, /)\n--\n\n"
      "Returns how many processes wait for semaphore num to be zero\n"
      "(GETZCNT)." },
    { "remove", set_remove, METH_NOARGS,
      "remove($self, /)\n--\n\n"
      "Removes the whole set from the system (IPC_RMID)." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef set_getset[] = {
    { "key", sysv_get_key, NULL, "The set's key (read-only).", NULL },
    { "nsems", set_get_nsems, NULL,
      "How many semaphores the set has (read-only); also len(set).", NULL },
    { "values", set_get_values, set_set_values,
      "Every semaphore's value as a tuple (GETALL).  Assign a sequence\n"
      "of nsems ints, or one int for all, to set them at once (SETALL).",
      NULL },
    { "undo", sysv_sem_get_flag, sysv_sem_set_flag,
      "When true, acquire(), release() and Z() use SEM_UNDO.",
      SYSV_CLOSURE(SEM_UNDO) },
    { "block", sysv_sem_get_flag, sysv_sem_set_flag,
      "When false, acquire() and Z() raise BusyError instead of\n"
      "waiting.",
      SYSV_CLOSURE(IPC_NOWAIT) },
    SYSV_PERM_GETSETS(IPCORE_SEM, "The set's permission bits."),
    { "o_time", sysv_sem_get_time, NULL,
      "The time of the last semop() on the set, 0 before the first\n"
      "(read-only).",
      SYSV_CLOSURE(SYSV_SEM_OTIME) },
    { "last_change_time", sysv_sem_get_time, NULL,
      "The time of the last change by semctl() (read-only).",
      SYSV_CLOSURE(SYSV_SEM_CTIME) },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot set_slots[] = {
    { Py_tp_doc,
      "SemaphoreSet(key, nsems, flags=0, mode=0o600, initial_values=None)"
      "\n--\n\n"
      "A handle to a whole System V semaphore set of nsems semaphores\n"
      "(0 opens an existing set of any size).  Keys and flags are as for\n"
      "Semaphore.  initial_values, an int for all or a sequence of nsems\n"
      "ints, is stored with one SETALL after the get when not None.\n"
      "set[i] reads and writes one value; operate() changes several\n"
      "atomically." },
    { Py_tp_new, SYSV_SLOT(sysv_new) },
    { Py_tp_init, SYSV_SLOT(set_init) },
    { Py_tp_dealloc, SYSV_SLOT(sysv_dealloc) },
    { Py_tp_str, SYSV_SLOT(set_str) },
    { Py_tp_repr, SYSV_SLOT(set_repr) },
    { Py_tp_methods, set_methods },
    { Py_tp_getset, set_getset },
    { Py_tp_members, sysv_members },
    { Py_mp_length, SYSV_SLOT(set_length) },
    { Py_mp_subscript, SYSV_SLOT(set_subscript) },
    { Py_mp_ass_subscript, SYSV_SLOT(set_ass_subscript) },
    { 0, NULL },
};

PyType_Spec sysv_semaphore_set_spec = {
    .name = "sysv_ipc.SemaphoreSet",
    .basicsize = sizeof(SemaphoreSetObject),
    .flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = set_slots,
};
