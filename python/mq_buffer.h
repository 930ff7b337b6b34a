/*
 * MessageQueue's use of CPython's internals, apart from the class and
 * guarded by version in one place: bytes objects as message buffers, and
 * the reuse of the last receive() result.
 *
 * All of it is inline, and there is no mq_buffer.c: every receive() runs
 * mq_result_next() and the two functions that complete a result, and
 * every long send() and receive() runs mq_send_in_place() or
 * mq_receive_direct(); those two cost 27 more instructions per 8 KiB
 * send()+receive() pair (callgrind) when they were called in a file of
 * their own.
 *
 * ------------------------------------------- bytes objects as buffers
 *
 * msgsnd() and msgrcv() want the type right before the text.  In a bytes
 * object the field right before the text is its cached hash, a long as
 * wide as the type, so a bytes object can serve as the message buffer:
 *
 *  - mq_receive_direct() has the kernel write a message into a bytes
 *    object nobody else can see, with one non-blocking msgrcv() made with
 *    the GIL held, then marks the hash "not computed";
 *  - mq_send_in_place() lends the hash field to the type for the length
 *    of one non-blocking msgsnd() made with the GIL held, and puts it
 *    back.
 *
 * Either saves a copy of the whole message.  Where the layout is not this
 * (another Python, or one without the GIL) MQ_BYTES_AS_MSGBUF is 0: both
 * are left out and the class goes through its own buffer, and
 * mq_result_next() does not refill bytes objects (which relies on the
 * same field).
 *
 * ----------------------------------------------- reusing the last result
 *
 * receive() returns a (bytes, type) tuple and keeps a reference to it in
 * struct mq_result.  mq_result_next() is the one place that reuses it:
 * when that is the only reference left, the caller has let go of the
 * tuple (as zip() and enumerate() do), and the next result goes into it;
 * its bytes object too, when that is free as well, and the type object
 * when the type is the same (mq_result_set_type()).  Else it makes new ones.
 * This is safe because:
 *
 *  - refcount 1 means nothing else refers to the object: no variable,
 *    container or other thread can read it, and gc.get_objects(), which
 *    can find the tracked tuple without a reference, needs Python code to
 *    run.  None runs from the check until the result is handed out: the
 *    GIL is held throughout (mq_receive_direct() never releases it while
 *    it receives into the result), and only bytes and int objects are
 *    allocated or freed meanwhile, which start no garbage collection.
 *    PyTuple_New(), which may, runs only when no tuple is being refilled.
 *    Between calls the kept tuple always holds a bytes object and an int
 *    (or None, after an error), whatever its bytes object holds.
 *  - A bytes object is immutable only as seen by those who refer to it;
 *    one nobody refers to may be written, like a new one, as long as it
 *    is complete when handed out.  Its cached hash must then say "not
 *    computed" (-1): mq_result_next() resets it for the caller's memcpy(),
 *    _PyBytes_Resize() does so itself, mq_receive_direct() after the
 *    kernel has written the type there.  Shared bytes objects (b"", the
 *    one-byte ones) and immortal ones never have a refcount of 1.
 *  - No large message stays referenced after use: mq_result_hand_out()
 *    keeps a result only when it is at most MQ_REUSE_MAX bytes long, or the
 *    handle's buffer at most MQ_DIRECT_MAX (what mq_receive_direct()
 *    allocates anyway).
 *
 * Without MQ_BYTES_AS_MSGBUF only the tuple and the type object are
 * reused.
 *
 */
#ifndef SYSV_MQ_BUFFER_H
#define SYSV_MQ_BUFFER_H

#include "errors.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/msg.h>

#if PY_VERSION_HEX < 0x030F0000 && !defined(Py_GIL_DISABLED)
#define MQ_BYTES_AS_MSGBUF 1
/* ob_shash is deprecated for readers of hashes, not for us. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
_Static_assert(sizeof(((PyBytesObject *)0)->ob_shash) == sizeof(long) &&
                   offsetof(PyBytesObject, ob_sval) ==
                       offsetof(PyBytesObject, ob_shash) +
                           offsetof(struct ipcore_msgbuf, text),
               "a bytes object's hash and text look like a message buffer");

/* The message buffer that bytes's hash and text make up. */
static inline struct ipcore_msgbuf *
mq_bytes_msgbuf(PyObject *bytes)
{
    return (struct ipcore_msgbuf *)(void *)&((PyBytesObject *)bytes)->ob_shash;
}

/* Marks bytes's hash "not computed", after its text or hash field was
 * written. */
static inline void
mq_bytes_forget_hash(PyObject *bytes)
{
    ((PyBytesObject *)bytes)->ob_shash = -1;
}
#pragma GCC diagnostic pop
#else
#define MQ_BYTES_AS_MSGBUF 0
#endif

/* Messages from MQ_IN_PLACE_MIN bytes are sent in place (where they can
 * be): below that, the copy into the handle's buffer costs less than the
 * checks. */
#define MQ_IN_PLACE_MIN 1024

/* Messages up to this long may stay referenced by the last result until
 * the next receive(); longer ones are never kept (see the top). */
#define MQ_REUSE_MAX 4096

/*
 * After a message of at least MQ_DIRECT_MIN bytes, receive() expects
 * another long one and receives it with mq_receive_direct().  Handles
 * whose buffer is larger than MQ_DIRECT_MAX never do: that much is
 * allocated per call when results are kept, and it must stay below
 * malloc's mmap threshold (128 KiB at least), lest each call map and
 * unmap it.
 */
#define MQ_DIRECT_MIN 4096
#define MQ_DIRECT_MAX (64 * 1024)

/* The last result of a handle's receive(). */
struct mq_result {
    PyObject *last; /* the (bytes, type) receive() returned, or NULL */
    long last_type; /* the type in last */
};

/* The tuple of the next result, now r->last, its bytes object n bytes
 * long and the caller's to write into (the type follows, with
 * mq_result_set_type()); NULL with an exception set when memory runs out. */
static inline PyObject *
mq_result_next(struct mq_result *r, Py_ssize_t n)
{
    PyObject *tuple = r->last, *bytes;

    if (tuple && Py_REFCNT(tuple) == 1) {
        PyObject **slot = &((PyTupleObject *)tuple)->ob_item[0];

#if MQ_BYTES_AS_MSGBUF
        if (Py_REFCNT(*slot) == 1) {
            if (PyBytes_GET_SIZE(*slot) == n) {
                mq_bytes_forget_hash(*slot);
                return tuple;
            }
            if (_PyBytes_Resize(slot, n) == 0) {
                return tuple;
            }
            /* It freed the object and left NULL in the tuple. */
            Py_CLEAR(r->last);
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
    PyTuple_SET_ITEM(tuple, 1, Py_NewRef(Py_None)); /* until set_type */
    Py_XSETREF(r->last, tuple);
    r->last_type = 0; /* no message has that type */
    return tuple;
}

/* Completes r->last, which mq_result_next() returned, with the type;
 * -1 with an exception set when memory runs out. */
static inline int
mq_result_set_type(struct mq_result *r, long type)
{
    PyObject *type_obj;

    /* The type object stays when the type does (it is an int). */
    if (type != r->last_type) {
        type_obj = PyLong_FromLong(type);
        if (!type_obj) {
            return -1;
        }
        Py_SETREF(((PyTupleObject *)r->last)->ob_item[1], type_obj);
        r->last_type = type;
    }
    return 0;
}

/* Hands out r->last, complete; kept or not (see the top), it holds a
 * message of n bytes, received with a buffer of capacity bytes.  Apart
 * from mq_result_set_type() so that capacity is read only now. */
static inline PyObject *
mq_result_hand_out(struct mq_result *r, Py_ssize_t n, size_t capacity)
{
    PyObject *tuple = r->last;

    if (n <= MQ_REUSE_MAX || capacity <= MQ_DIRECT_MAX) {
        return Py_NewRef(tuple);
    }
    r->last = NULL;
    return tuple;
}

#if MQ_BYTES_AS_MSGBUF
/* Immortal objects, which other interpreters may read, are never sent in
 * place: their refcount is at least this. */
#define MQ_IN_PLACE_REFCNT_MAX ((Py_ssize_t)1 << 28)

/*
 * One msgsnd(IPC_NOWAIT) of msg with type on queue id, straight from msg,
 * a bytes object of at least MQ_IN_PLACE_MIN bytes (see the top).
 * Returns 0, a negated errno, or 1 when msg cannot be sent that way.
 */
static inline int
mq_send_in_place(int id, PyObject *msg, long type)
{
    struct ipcore_msgbuf *b;
    long saved;
    int rc;

    if (!PyBytes_CheckExact(msg) || PyBytes_GET_SIZE(msg) < MQ_IN_PLACE_MIN ||
        Py_REFCNT(msg) >= MQ_IN_PLACE_REFCNT_MAX) {
        return 1;
    }
    b = mq_bytes_msgbuf(msg);
    saved = b->type;
    b->type = type;
    rc = ipcore_mq_send(id, b, (size_t)PyBytes_GET_SIZE(msg), IPC_NOWAIT);
    b->type = saved;
    return rc;
}

/*
 * Has the kernel write the next message (of type, as msgrcv() takes it)
 * of queue id straight into the bytes object of the next result (see
 * mq_result_next()), made capacity bytes long and then cut to the
 * message's length, with one msgrcv(IPC_NOWAIT) made with the GIL held.
 * Returns the message's length, its type in *got_type, r->last to be
 * completed with mq_result_set_type(); or a negated errno (-ENOMSG: nothing
 * to take yet), or SYSV_RC_PYERR with an exception set.
 */
static inline ssize_t
mq_receive_direct(struct mq_result *r, int id, size_t capacity, long type,
                  long *got_type)
{
    PyObject *tuple, **slot;
    struct ipcore_msgbuf *b;
    ssize_t n;

    tuple = mq_result_next(r, (Py_ssize_t)capacity);
    if (!tuple) {
        return SYSV_RC_PYERR;
    }
    slot = &((PyTupleObject *)tuple)->ob_item[0];
    b = mq_bytes_msgbuf(*slot);
    n = ipcore_mq_receive(id, b, capacity, type, IPC_NOWAIT);
    *got_type = b->type;
    mq_bytes_forget_hash(*slot);

    if (n < 0) {
        return n;
    }
    if ((size_t)n != capacity && _PyBytes_Resize(slot, n) < 0) {
        Py_CLEAR(r->last); /* the tuple holds NULL */
        return SYSV_RC_PYERR;
    }
    return n;
}
#endif /* MQ_BYTES_AS_MSGBUF */

#endif /* SYSV_MQ_BUFFER_H */
