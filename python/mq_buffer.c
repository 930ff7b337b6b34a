/*
 * MessageQueue's sends and receives that use a bytes object as the message
 * buffer (see mq_buffer.h): CPython's internals, version-guarded there.
 */
#include "mq_buffer.h"

#include "errors.h"

#include <errno.h>
#include <sys/msg.h>

#if MQ_BYTES_AS_MSGBUF

/* Immortal objects, which other interpreters may read, are never sent in
 * place: their refcount is at least this. */
#define IN_PLACE_REFCNT_MAX ((Py_ssize_t)1 << 28)

int
mq_send_in_place(int id, PyObject *msg, long type)
{
    struct ipcore_msgbuf *b;
    long saved;
    int rc;

    if (!PyBytes_CheckExact(msg) || PyBytes_GET_SIZE(msg) < MQ_IN_PLACE_MIN ||
        Py_REFCNT(msg) >= IN_PLACE_REFCNT_MAX) {
        return 1;
    }
    b = mq_bytes_msgbuf(msg);
    saved = b->type;
    b->type = type;
    rc = ipcore_mq_send(id, b, (size_t)PyBytes_GET_SIZE(msg), IPC_NOWAIT);
    b->type = saved;
    return rc;
}

ssize_t
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
