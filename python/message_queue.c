/*
 * sysv_ipc.MessageQueue: a message queue and this handle's message buffer
 * (see message_queue.h).  This file holds the life cycle, remove(), the
 * attributes and the type; send() and receive() have a file each.
 */
#include "message_queue.h"

#include "args.h"

#include <errno.h>
#include <sys/msg.h>

/* ----------------------------------------------------------- life cycle */

static int
mq_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "key", "flags", "mode", "max_message_size",
                              NULL };
    PyObject *key_obj, *max_obj = NULL;
    int flags = 0, mode = 0600;
    size_t max_size = 2048, capacity;
    enum ipcore_key_choice choice;
    struct ipcore_object obj;
    key_t key;
    int rc;

    if (!sysv_parse_key_flags(args, kwds, &key_obj, &flags) &&
        !PyArg_ParseTupleAndKeywords(args, kwds, "O|iiO:MessageQueue", kwlist,
                                     &key_obj, &flags, &mode, &max_obj)) {
        return -1;
    }
    flags &= IPC_CREAT | IPC_EXCL;
    if (sysv_parse_key(key_obj, flags, &key, &choice) < 0) {
        return -1;
    }
    if (max_obj) {
        if (!PyLong_Check(max_obj)) {
            PyErr_Format(PyExc_TypeError,
                         "max_message_size must be int, not %.50s",
                         Py_TYPE(max_obj)->tp_name);
            return -1;
        }
        max_size = PyLong_AsSize_t(max_obj);
        if (max_size == (size_t)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                return -1;
            }
            PyErr_Clear();
            max_size = (size_t)-1;
        }
        if (max_size > (size_t)PY_SSIZE_T_MAX) {
            PyErr_Format(PyExc_ValueError, "The message length must be <= %zd",
                         PY_SSIZE_T_MAX);
            return -1;
        }
    }
    if (MQ(self)->busy) {
        PyErr_SetString(sysv_exception(self, IPCORE_ERR_NONE),
                        "The queue is in use by another thread");
        return -1;
    }

    /* The kernel never holds a message longer than MSGMAX <= INT_MAX. */
    capacity = max_size < (size_t)INT_MAX ? max_size : (size_t)INT_MAX;

    rc = ipcore_mq_get(key, choice, flags, (unsigned int)mode, &obj);
    if (rc < 0) {
        sysv_error(self, IPCORE_MQ, IPCORE_OP_GET, rc);
        return -1;
    }
    /* The buffer is made by the first send or receive (message_queue.h);
     * one of an earlier __init__() may have another capacity. */
    PyMem_RawFree(MQ(self)->buf);
    MQ(self)->buf = NULL;
    MQ(self)->capacity = capacity;
    MQ(self)->max_message_size = max_size;
    MQ(self)->key = obj.key;
    MQ(self)->id = obj.id;
    return 0;
}

static void
mq_dealloc(PyObject *self)
{
    PyMem_RawFree(MQ(self)->buf);
    Py_CLEAR(MQ(self)->result.last);
    sysv_dealloc(self);
}

static PyObject *
mq_repr(PyObject *self)
{
    return PyUnicode_FromFormat("sysv_ipc.MessageQueue(%d)",
                                (int)MQ(self)->key);
}

/* -------------------------------------------------------------- methods */

Py_NO_INLINE struct ipcore_msgbuf *
mq_new_buffer(PyObject *self, size_t bytes, bool own)
{
    struct ipcore_msgbuf *b = PyMem_RawMalloc(ipcore_msgbuf_size(bytes));

    if (!b) {
        PyErr_NoMemory();
    } else if (own) {
        MQ(self)->buf = b;
    }
    return b;
}

PyObject *
mq_not_ready(PyObject *self)
{
    PyErr_SetString(sysv_exception(self, IPCORE_ERR_NONE),
                    "MessageQueue.__init__() has not run");
    return NULL;
}

static PyObject *
mq_remove(PyObject *self, PyObject *unused)
{
    return sysv_remove(self, IPCORE_MQ, MQ(self)->id);
}

/* ----------------------------------------------------------- attributes */

enum mq_field {
    MQ_F_QNUM,
    MQ_F_QBYTES,
    MQ_F_STIME,
    MQ_F_RTIME,
    MQ_F_CTIME,
    MQ_F_LSPID,
    MQ_F_LRPID,
};

/* current_messages: mq_get_stat() of MQ_F_QNUM alone, since every read of
 * it comes here. */
static PyObject *
mq_get_count(PyObject *self, void *closure)
{
    unsigned long qnum = 0;
    int rc = ipcore_mq_count(MQ(self)->id, &qnum);

    if (rc < 0) {
        return sysv_error(self, IPCORE_MQ, IPCORE_OP_STAT, rc);
    }
    return PyLong_FromUnsignedLong(qnum);
}

static PyObject *
mq_get_stat(PyObject *self, void *closure)
{
    struct ipcore_mq_info info;
    int rc = ipcore_mq_stat(MQ(self)->id, &info);

    if (rc < 0) {
        return sysv_error(self, IPCORE_MQ, IPCORE_OP_STAT, rc);
    }
    switch ((enum mq_field)(intptr_t)closure) {
    case MQ_F_QNUM:
        return PyLong_FromUnsignedLong(info.qnum);
    case MQ_F_QBYTES:
        return PyLong_FromUnsignedLong(info.qbytes);
    case MQ_F_STIME:
        return sysv_from_time(info.stime);
    case MQ_F_RTIME:
        return sysv_from_time(info.rtime);
    case MQ_F_CTIME:
        return sysv_from_time(info.ctime);
    case MQ_F_LSPID:
        return sysv_from_pid(info.lspid);
    case MQ_F_LRPID:
        return sysv_from_pid(info.lrpid);
    }
    Py_RETURN_NONE;
}

static int
mq_set_max_size(PyObject *self, PyObject *value, void *closure)
{
    unsigned long v;
    int rc;

    if (value == NULL) {
        return sysv_no_delete(self, "max_size");
    }
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError,
                        "Attribute 'max_size' must be an integer");
        return -1;
    }
    v = PyLong_AsUnsignedLong(value);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError,
                        "Attribute 'max_size' is out of range");
        return -1;
    }
    rc = ipcore_mq_set_max_bytes(MQ(self)->id, v);
    if (rc < 0) {
        sysv_error(self, IPCORE_MQ, IPCORE_OP_SET, rc);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- type */

static PyMethodDef mq_methods[] = {
    { "send", SYSV_METH(mq_send), METH_FASTCALL | METH_KEYWORDS,
      "send($self, /, message, block=True, type=1)\n--\n\n"
      "Puts message (bytes-like, or str as UTF-8) on the queue with\n"
      "type (> 0).  On a full queue it waits, or raises BusyError when\n"
      "block is false." },
    { "receive", SYSV_METH(mq_receive), METH_FASTCALL | METH_KEYWORDS,
      "receive($self, /, block=True, type=0)\n--\n\n"
      "Takes a message off the queue and returns (message, type).\n"
      "type 0 takes the oldest, > 0 the oldest of that type, < 0 the\n"
      "oldest of the lowest type <= abs(type).  With nothing to take it\n"
      "waits, or raises BusyError when block is false." },
    { "remove", mq_remove, METH_NOARGS,
      "remove($self, /)\n--\n\n"
      "Removes the queue from the system (IPC_RMID)." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef mq_getset[] = {
    { "key", sysv_get_key, NULL, "The queue's key (read-only).", NULL },
    { "current_messages", mq_get_count, NULL,
      "How many messages the queue holds (read-only).",
      SYSV_CLOSURE(MQ_F_QNUM) },
    { "max_size", mq_get_stat, mq_set_max_size,
      "The most bytes the queue may hold (msg_qbytes); raising it past\n"
      "the system's MSGMNB needs privilege.",
      SYSV_CLOSURE(MQ_F_QBYTES) },
    { "last_send_time", mq_get_stat, NULL,
      "The time of the last send (read-only).", SYSV_CLOSURE(MQ_F_STIME) },
    { "last_receive_time", mq_get_stat, NULL,
      "The time of the last receive (read-only).", SYSV_CLOSURE(MQ_F_RTIME) },
    { "last_change_time", mq_get_stat, NULL,
      "The time of the last change by msgctl() (read-only).",
      SYSV_CLOSURE(MQ_F_CTIME) },
    { "last_send_pid", mq_get_stat, NULL,
      "The pid of the last sender (read-only).", SYSV_CLOSURE(MQ_F_LSPID) },
    { "last_receive_pid", mq_get_stat, NULL,
      "The pid of the last receiver (read-only).", SYSV_CLOSURE(MQ_F_LRPID) },
    SYSV_PERM_GETSETS(IPCORE_MQ, "The queue's permission bits."),
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot mq_slots[] = {
    { Py_tp_doc,
      "MessageQueue(key, flags=0, mode=0o600, max_message_size=2048)\n"
      "--\n\n"
      "A handle to a System V message queue.  max_message_size is the\n"
      "size of this handle's receive buffer: longer messages cannot be\n"
      "sent through it, and receiving one fails with OSError (E2BIG)\n"
      "and leaves it queued." },
    { Py_tp_new, SYSV_SLOT(sysv_new) },
    { Py_tp_init, SYSV_SLOT(mq_init) },
    { Py_tp_dealloc, SYSV_SLOT(mq_dealloc) },
    { Py_tp_str, SYSV_SLOT(sysv_str) },
    { Py_tp_repr, SYSV_SLOT(mq_repr) },
    { Py_tp_methods, mq_methods },
    { Py_tp_getset, mq_getset },
    { Py_tp_members, sysv_members },
    { 0, NULL },
};

PyType_Spec sysv_message_queue_spec = {
    .name = "sysv_ipc.MessageQueue",
    .basicsize = sizeof(MessageQueueObject),
    .flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = mq_slots,
};
