/*
 * The MessageQueue family: the class (message_queue.c), send()
 * (mq_send.c), receive() (mq_receive.c), and what those lean on of
 * CPython's internals (mq_buffer.h).
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
 * time, and its bytes object, when the caller has dropped them, and long
 * messages skip the buffer: they are sent from the caller's bytes object
 * and received straight into the bytes object returned.  Both lean on
 * CPython's internals, which mq_buffer.h keeps apart; mq_send.c and
 * mq_receive.c decide when to use them.
 */
#ifndef SYSV_MESSAGE_QUEUE_H
#define SYSV_MESSAGE_QUEUE_H

#include "errors.h"
#include "mq_buffer.h"
#include "object.h"

#include <stdbool.h>

typedef struct {
    SYSV_OBJECT_HEAD;
    struct ipcore_msgbuf *buf; /* capacity bytes of text */
    size_t capacity;           /* min(max_message_size, INT_MAX) */
    size_t max_message_size;
    bool busy;               /* a thread waits in a call that uses buf */
    struct mq_result result; /* receive()'s last result (mq_buffer.h) */
    size_t last_len;         /* the length of the last message received */
} MessageQueueObject;

#define MQ(o) ((MessageQueueObject *)(o))

/* send() and receive(), METH_FASTCALL | METH_KEYWORDS. */
PyObject *mq_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames);
PyObject *mq_receive(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                     PyObject *kwnames);

/* The error of a send() or receive() on a handle whose __init__() has not
 * run (id < 0): NULL. */
PyObject *mq_not_ready(PyObject *self);

/* mq_call_buffer()'s allocations, out of its way: a buffer of bytes bytes
 * of text, which becomes the handle's own if own. */
struct ipcore_msgbuf *mq_new_buffer(PyObject *self, size_t bytes, bool own);

/*
 * The buffer for one call: the handle's own (made by the first call, not
 * by __init__(): a create+remove that never sends spends nothing on it,
 * docs/performance.md), or, while another thread waits with that, a new
 * one of bytes bytes of text (*temp set).
 */
static inline struct ipcore_msgbuf *
mq_call_buffer(PyObject *self, size_t bytes, bool *temp)
{
    *temp = MQ(self)->busy;
    if (!*temp && MQ(self)->buf) {
        return MQ(self)->buf;
    }
    return mq_new_buffer(self, *temp ? bytes : MQ(self)->capacity, !*temp);
}

#endif /* SYSV_MESSAGE_QUEUE_H */
