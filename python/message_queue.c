/*
 * sysv_ipc.MessageQueue: a message queue and this handle's message buffer.
 *
 * Each handle allocates one buffer of max_message_size bytes the first time
 * it sends or receives, and sends and receives messages through it from
 * then on (fix #8): no allocation per call but the result.  Not when it is
 * made: the malloc() and free() of a 2 KiB buffer cost a create+remove a
 * fifth of what the module spends on it (docs/performance.md).  While a
 * thread waits in msgsnd()/msgrcv() without the GIL, the buffer is marked
 * busy, and a call from another thread on the same handle uses a buffer of
 * its own for that one call.
 *
 * Beyond that, receive() refills the (bytes, type) tuple it returned last
 * time, and its bytes object, when the caller has dropped them (see
 * "reusing the last result"), and long messages skip the buffer: they are
 * sent from the caller's bytes object and received straight into the
 * bytes object returned (see "bytes objects as buffers").
 */
#include "sysv_ipc_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/msg.h>

typedef struct {
    SYSV_OBJECT_HEAD;
    struct ipcore_msgbuf *buf; /* capacity bytes of text */
    size_t capacity;           /* min(max_message_size, INT_MAX) */
    size_t max_message_size;
    bool busy;       /* a thread waits in a call that uses buf */
    PyObject *last;  /* the (bytes, type) receive() returned */
    long last_type;  /* the type in last */
    size_t last_len; /* the length of the last message received */
} MessageQueueObject;

/* Messages up to this long may stay referenced by last until the next
 * receive(); longer ones are never kept. */
#define REUSE_MAX 4096

#define MQ(o) ((MessageQueueObject *)(o))

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
    /* A buffer of an earlier __init__() may have another capacity: the
     * next call makes the one this needs. */
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
    Py_CLEAR(MQ(self)->last);
    sysv_dealloc(self);
}

static PyObject *
mq_repr(PyObject *self)
{
    return PyUnicode_FromFormat("sysv_ipc.MessageQueue(%d)",
                                (int)MQ(self)->key);
}

/* ------------------------------------------- bytes objects as buffers */

/*
 * msgsnd() and msgrcv() want the type right before the text.  In a bytes
 * object the field right before the text is its cached hash, a long as
 * wide as the type, so a bytes object can serve as the message buffer:
 *
 *  - receive_direct() has the kernel write a message into a bytes object
 *    nobody else can see, with one non-blocking msgrcv() made with the
 *    GIL held, then marks the hash "not computed";
 *  - send_in_place() lends the hash field to the type for the length of
 *    one non-blocking msgsnd() made with the GIL held, and puts it back.
 *
 * Either saves a copy of the whole message.  Where the layout is not this
 * (another Python, or one without the GIL) both fall back to buf, and
 * next_result() does not refill bytes objects (which relies on the same
 * field).
 */
#if PY_VERSION_HEX < 0x030F0000 && !defined(Py_GIL_DISABLED)
#define BYTES_AS_MSGBUF 1
/* ob_shash is deprecated for readers of hashes, not for us. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
_Static_assert(sizeof(((PyBytesObject *)0)->ob_shash) == sizeof(long) &&
                   offsetof(PyBytesObject, ob_sval) ==
                       offsetof(PyBytesObject, ob_shash) +
                           offsetof(struct ipcore_msgbuf, text),
               "a bytes object's hash and text look like a message buffer");

static struct ipcore_msgbuf *
bytes_msgbuf(PyObject *bytes)
{
    return (struct ipcore_msgbuf *)(void *)&((PyBytesObject *)bytes)->ob_shash;
}

static void
bytes_forget_hash(PyObject *bytes)
{
    ((PyBytesObject *)bytes)->ob_shash = -1;
}
#pragma GCC diagnostic pop
#else
#define BYTES_AS_MSGBUF 0
#endif

/* Messages from IN_PLACE_MIN bytes are sent in place; immortal objects,
 * which other interpreters may read, never are. */
#define IN_PLACE_MIN 1024
#define IN_PLACE_REFCNT_MAX ((Py_ssize_t)1 << 28)

/*
 * After a message of at least DIRECT_MIN bytes, receive() expects another
 * long one and receives it with receive_direct().  Handles whose buffer is
 * larger than DIRECT_MAX never do: that much is allocated per call when
 * results are kept, and it must stay below malloc's mmap threshold (128
 * KiB at least), lest each call map and unmap it.
 */
#define DIRECT_MIN 4096
#define DIRECT_MAX (64 * 1024)

/* -------------------------------------------------------------- methods */

static PyObject *
not_ready(PyObject *self)
{
    PyErr_SetString(sysv_exception(self, IPCORE_ERR_NONE),
                    "MessageQueue.__init__() has not run");
    return NULL;
}

/* call_buffer()'s allocations, out of its way: a buffer of bytes bytes of
 * text, which becomes the handle's own if own. */
Py_NO_INLINE static struct ipcore_msgbuf *
new_buffer(PyObject *self, size_t bytes, bool own)
{
    struct ipcore_msgbuf *b = PyMem_RawMalloc(ipcore_msgbuf_size(bytes));

    if (!b) {
        PyErr_NoMemory();
    } else if (own) {
        MQ(self)->buf = b;
    }
    return b;
}

/*
 * The buffer for one call: the handle's own (made by the first call), or,
 * while another thread waits with that, a new one of bytes bytes of text
 * (*temp set).
 */
static inline struct ipcore_msgbuf *
call_buffer(PyObject *self, size_t bytes, bool *temp)
{
    *temp = MQ(self)->busy;
    if (!*temp && MQ(self)->buf) {
        return MQ(self)->buf;
    }
    return new_buffer(self, *temp ? bytes : MQ(self)->capacity, !*temp);
}

/* The PEP 475 wait of a send that found the queue full. */
Py_NO_INLINE static int
send_wait(int id, const struct ipcore_msgbuf *b, size_t len)
{
    int rc;

    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        rc = ipcore_mq_send(id, b, len, 0);
        Py_END_ALLOW_THREADS
        if (rc != -EINTR) {
            return rc;
        }
        if (PyErr_CheckSignals() < 0) {
            return SYSV_RC_PYERR;
        }
    }
}

/* One msgsnd(IPC_NOWAIT) straight from a bytes object (see above), or 1
 * when msg cannot be sent that way. */
static int
send_in_place(PyObject *self, PyObject *msg, long type)
{
#if BYTES_AS_MSGBUF
    struct ipcore_msgbuf *b;
    long saved;
    int rc;

    if (!PyBytes_CheckExact(msg) || PyBytes_GET_SIZE(msg) < IN_PLACE_MIN ||
        Py_REFCNT(msg) >= IN_PLACE_REFCNT_MAX) {
        return 1;
    }
    b = bytes_msgbuf(msg);
    saved = b->type;
    b->type = type;
    rc = ipcore_mq_send(MQ(self)->id, b, (size_t)PyBytes_GET_SIZE(msg),
                        IPC_NOWAIT);
    b->type = saved;
    return rc;
#else
    return 1;
#endif
}

/* Sends through buf (or a buffer of its own, see call_buffer); tried says
 * that the non-blocking attempt was made already. */
static int
send_copy(PyObject *self, const sysv_data *data, long type, int block,
          bool tried)
{
    struct ipcore_msgbuf *b;
    size_t len = (size_t)data->len;
    bool temp;
    int rc = -EAGAIN;

    b = call_buffer(self, len, &temp);
    if (!b) {
        return SYSV_RC_PYERR;
    }
    b->type = type;
    memcpy(b->text, data->buf, len);
    if (!tried) {
        rc = ipcore_mq_send(MQ(self)->id, b, len, IPC_NOWAIT);
    }
    if (rc == -EAGAIN && block) {
        if (!temp) {
            MQ(self)->busy = true;
        }
        rc = send_wait(MQ(self)->id, b, len);
        if (!temp) {
            MQ(self)->busy = false;
        }
    }
    if (temp) {
        PyMem_RawFree(b);
    }
    return rc;
}

/* send_copy() through buf, free, of len (< IN_PLACE_MIN, within
 * max_message_size) bytes at text, of type 1, waiting if need be. */
static inline int
send_short(PyObject *self, const char *text, size_t len)
{
    struct ipcore_msgbuf *b = MQ(self)->buf;
    int rc;

    b->type = 1;
    memcpy(b->text, text, len);
    rc = ipcore_mq_send(MQ(self)->id, b, len, IPC_NOWAIT);
    if (rc == -EAGAIN) {
        MQ(self)->busy = true;
        rc = send_wait(MQ(self)->id, b, len);
        MQ(self)->busy = false;
    }
    return rc;
}

/*
 * The error of a failed send.  msgsnd() answers EINVAL both for a queue
 * that is gone and for a message longer than the system lets any queue
 * hold (MSGMAX; a message longer than the queue's own max_size instead
 * waits, or is BusyError, as the kernel may yet raise that limit).  The
 * table makes EINVAL ExistentialError, right for the first; for the
 * second, on a queue that is still there, 1.1.0 raises OSError(EINVAL)
 * (its default case), and so do we, with words that say why.
 */
Py_NO_INLINE static PyObject *
send_error(PyObject *self, int rc)
{
    struct ipcore_mq_info info;

    if (rc == -EINVAL && ipcore_mq_stat(MQ(self)->id, &info) == 0) {
        PyObject *exc = PyObject_CallFunction(
            PyExc_OSError, "is", EINVAL,
            "The message is longer than the system lets a queue hold "
            "(MSGMAX, /proc/sys/kernel/msgmax)");

        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    return sysv_error(self, IPCORE_MQ, IPCORE_OP_SEND, rc);
}

/* send() with any arguments: the general path. */
Py_NO_INLINE static PyObject *
send_any(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
         PyObject *kwnames)
{
    static const char *const params[] = { "message", "block", "type", NULL };
    PyObject *argv[3] = { NULL, NULL, NULL };
    PyObject *result = NULL;
    sysv_data data;
    long type = 1;
    int block = 1;
    int rc;

    if (nargs == 1 && !kwnames) {
        argv[0] = args[0];
    } else if (sysv_parse("send", params, 1, args, nargs, kwnames, argv) < 0) {
        return NULL;
    }
    if (argv[1] && (block = PyObject_IsTrue(argv[1])) < 0) {
        return NULL;
    }
    if (argv[2]) {
        type = PyLong_AsLong(argv[2]);
        if (type == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (type <= 0) {
            PyErr_SetString(PyExc_ValueError, "The type must be > 0");
            return NULL;
        }
    }
    if (MQ(self)->id < 0) {
        return not_ready(self);
    }
    if (sysv_data_get(argv[0], &data) < 0) {
        return NULL;
    }
    if ((size_t)data.len > MQ(self)->max_message_size) {
        PyErr_Format(PyExc_ValueError,
                     "The message length exceeds queue's "
                     "max_message_size (%zu)",
                     MQ(self)->max_message_size);
        goto done;
    }
    if ((size_t)data.len > MQ(self)->capacity) {
        /* Longer than INT_MAX: above any MSGMAX the kernel allows. */
        PyErr_SetString(PyExc_ValueError,
                        "The message is longer than any queue allows");
        goto done;
    }

    /* Try without waiting first, holding the GIL; wait (PEP 475, GIL
     * released, from buf) only when the queue is full and block allows
     * it. */
    rc = send_in_place(self, argv[0], type);
    if (rc == 1) {
        rc = send_copy(self, &data, type, block, false);
    } else if (rc == -EAGAIN && block) {
        rc = send_copy(self, &data, type, block, true);
    }
    if (rc < 0) {
        send_error(self, rc);
    } else {
        result = Py_NewRef(Py_None);
    }
done:
    sysv_data_release(&data);
    return result;
}

static PyObject *
mq_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
        PyObject *kwnames)
{
    PyObject *msg = nargs == 1 && !kwnames ? args[0] : NULL;
    int rc;

    /* send(bytes) of a short message, the usual call: what send_any()
     * does for it (its checks all pass, send_in_place() declines and
     * send_copy() copies into buf), without the steps between. */
    if (msg && PyBytes_CheckExact(msg) &&
        PyBytes_GET_SIZE(msg) < IN_PLACE_MIN &&
        (size_t)PyBytes_GET_SIZE(msg) <= MQ(self)->max_message_size &&
        MQ(self)->buf && !MQ(self)->busy) {
        rc = send_short(self, PyBytes_AS_STRING(msg),
                        (size_t)PyBytes_GET_SIZE(msg));
        if (rc < 0) {
            return send_error(self, rc);
        }
        Py_RETURN_NONE;
    }
    return send_any(self, args, nargs, kwnames);
}

/*
 * ----------------------------------------------- reusing the last result
 *
 * receive() returns a (bytes, type) tuple and keeps a reference to it in
 * last.  next_result() is the one place that reuses it: when last's is the
 * only reference left, the caller has let go of the tuple (as zip() and
 * enumerate() do), and the next result goes into it; its bytes object too,
 * when that is free as well, and the type object when the type is the
 * same.  Else it makes new ones.  This is safe because:
 *
 *  - refcount 1 means nothing else refers to the object: no variable,
 *    container or other thread can read it, and gc.get_objects(), which
 *    can find the tracked tuple without a reference, needs Python code to
 *    run.  None runs from the check until the result is handed out: the
 *    GIL is held throughout (receive_direct() never releases it while it
 *    receives into the result), and only bytes and int objects are
 *    allocated or freed meanwhile, which start no garbage collection.
 *    PyTuple_New(), which may, runs only when no tuple is being refilled.
 *    Between calls the kept tuple always holds a bytes object and an int
 *    (or None, after an error), whatever its bytes object holds.
 *  - A bytes object is immutable only as seen by those who refer to it;
 *    one nobody refers to may be written, like a new one, as long as it
 *    is complete when handed out.  Its cached hash must then say "not
 *    computed" (-1): next_result() resets it for the caller's memcpy(),
 *    _PyBytes_Resize() does so itself, receive_direct() after the kernel
 *    has written the type there.  Shared bytes objects (b"", the one-byte
 *    ones) and immortal ones never have a refcount of 1.
 *  - No large message stays referenced after use: a result is kept only
 *    when it is at most REUSE_MAX bytes long, or the handle's buffer at
 *    most DIRECT_MAX (what receive_direct() allocates anyway).
 *
 * Without BYTES_AS_MSGBUF only the tuple and the type object are reused.
 */

/* The tuple of the next result, now last's, its bytes object n bytes long
 * and the caller's to write into (the type follows, with result_done());
 * NULL with an exception set when memory runs out. */
static inline PyObject *
next_result(PyObject *self, Py_ssize_t n)
{
    PyObject *tuple = MQ(self)->last, *bytes;

    if (tuple && Py_REFCNT(tuple) == 1) {
        PyObject **slot = &((PyTupleObject *)tuple)->ob_item[0];

#if BYTES_AS_MSGBUF
        if (Py_REFCNT(*slot) == 1) {
            if (PyBytes_GET_SIZE(*slot) == n) {
                bytes_forget_hash(*slot);
                return tuple;
            }
            if (_PyBytes_Resize(slot, n) == 0) {
                return tuple;
            }
            /* It freed the object and left NULL in the tuple. */
            Py_CLEAR(MQ(self)->last);
            return NULL;
        }
#endif
        bytes = PyBytes_FromStringAndSize(NULL, n);
        if (!bytes) {
            return NULL;
        }
        Py_SETREF(*slot, bytes);
        return tuple;
    }

    tuple = PyTuple_New(2);
    bytes = tuple ? PyBytes_FromStringAndSize(NULL, n) : NULL;
    if (!bytes) {
        Py_XDECREF(tuple);
        return NULL;
    }
    PyTuple_SET_ITEM(tuple, 0, bytes);
    PyTuple_SET_ITEM(tuple, 1, Py_NewRef(Py_None)); /* until result_done() */
    Py_XSETREF(MQ(self)->last, tuple);
    MQ(self)->last_type = 0; /* no message has that type */
    return tuple;
}

/* Completes last, which next_result() returned, with the type, and hands
 * it out; kept or not (see above), it holds a message of n bytes. */
static inline PyObject *
result_done(PyObject *self, Py_ssize_t n, long type)
{
    PyObject *tuple = MQ(self)->last, *type_obj;

    /* The type object stays when the type does (it is an int). */
    if (type != MQ(self)->last_type) {
        type_obj = PyLong_FromLong(type);
        if (!type_obj) {
            return NULL;
        }
        Py_SETREF(((PyTupleObject *)tuple)->ob_item[1], type_obj);
        MQ(self)->last_type = type;
    }
    if (n <= REUSE_MAX || MQ(self)->capacity <= DIRECT_MAX) {
        return Py_NewRef(tuple);
    }
    MQ(self)->last = NULL;
    return tuple;
}

/* The PEP 475 wait of a receive that found nothing without waiting. */
Py_NO_INLINE static ssize_t
receive_wait(int id, struct ipcore_msgbuf *b, size_t capacity, long type)
{
    ssize_t n;

    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        n = ipcore_mq_receive(id, b, capacity, type, 0);
        Py_END_ALLOW_THREADS
        if (n != -EINTR) {
            return n;
        }
        if (PyErr_CheckSignals() < 0) {
            return SYSV_RC_PYERR;
        }
    }
}

/* Receives through buf (or a buffer of its own, see call_buffer); tried
 * says that the non-blocking attempt was made already. */
static PyObject *
receive_copy(PyObject *self, long type, int block, bool tried)
{
    size_t capacity = MQ(self)->capacity;
    struct ipcore_msgbuf *b;
    PyObject *result = NULL;
    ssize_t n = -ENOMSG;
    bool temp;

    b = call_buffer(self, capacity, &temp);
    if (!b) {
        return NULL;
    }
    if (!tried) {
        n = ipcore_mq_receive(MQ(self)->id, b, capacity, type, IPC_NOWAIT);
    }
    if (n == -ENOMSG && block) {
        if (!temp) {
            MQ(self)->busy = true;
        }
        n = receive_wait(MQ(self)->id, b, capacity, type);
        if (!temp) {
            MQ(self)->busy = false;
        }
    }
    if (n < 0) {
        sysv_error(self, IPCORE_MQ, IPCORE_OP_RECEIVE, (int)n);
    } else {
        MQ(self)->last_len = (size_t)n;
        result = next_result(self, n);
        if (result) {
            memcpy(PyBytes_AS_STRING(PyTuple_GET_ITEM(result, 0)), b->text,
                   (size_t)n);
            result = result_done(self, n, b->type);
        }
    }
    if (temp) {
        PyMem_RawFree(b);
    }
    return result;
}

#if BYTES_AS_MSGBUF
/*
 * Has the kernel write the message straight into the result's bytes
 * object, made capacity bytes long and then cut to the message's length,
 * without waiting and with the GIL held (see "reusing the last result").
 * NULL without an exception when there is no message yet: the wait, if
 * any, is receive_copy()'s, through buf.
 */
static PyObject *
receive_direct(PyObject *self, long type)
{
    Py_ssize_t capacity = (Py_ssize_t)MQ(self)->capacity;
    PyObject *tuple, **slot;
    struct ipcore_msgbuf *b;
    long got_type;
    ssize_t n;

    tuple = next_result(self, capacity);
    if (!tuple) {
        return NULL;
    }
    slot = &((PyTupleObject *)tuple)->ob_item[0];
    b = bytes_msgbuf(*slot);
    n = ipcore_mq_receive(MQ(self)->id, b, (size_t)capacity, type, IPC_NOWAIT);
    got_type = b->type;
    bytes_forget_hash(*slot);

    if (n < 0) {
        return n == -ENOMSG
                   ? NULL
                   : sysv_error(self, IPCORE_MQ, IPCORE_OP_RECEIVE, (int)n);
    }
    MQ(self)->last_len = (size_t)n;
    if (n != capacity && _PyBytes_Resize(slot, n) < 0) {
        Py_CLEAR(MQ(self)->last); /* the tuple holds NULL */
        return NULL;
    }
    return result_done(self, n, got_type);
}
#endif

static PyObject *
mq_receive(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
           PyObject *kwnames)
{
    static const char *const params[] = { "block", "type", NULL };
    PyObject *argv[2] = { NULL, NULL };
    long type = 0;
    int block = 1;
    bool tried = false;

    if (nargs || kwnames) {
        if (sysv_parse("receive", params, 0, args, nargs, kwnames, argv) < 0) {
            return NULL;
        }
        if (argv[0] && (block = PyObject_IsTrue(argv[0])) < 0) {
            return NULL;
        }
        if (argv[1]) {
            type = PyLong_AsLong(argv[1]);
            if (type == -1 && PyErr_Occurred()) {
                return NULL;
            }
        }
    }
    if (MQ(self)->id < 0) {
        return not_ready(self);
    }
#if BYTES_AS_MSGBUF
    if (MQ(self)->last_len >= DIRECT_MIN && MQ(self)->capacity <= DIRECT_MAX) {
        PyObject *result = receive_direct(self, type);

        if (result || PyErr_Occurred()) {
            return result;
        }
        tried = true;
    }
#endif
    return receive_copy(self, type, block, tried);
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
