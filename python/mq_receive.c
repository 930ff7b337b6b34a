/*
 * MessageQueue.receive(): through the handle's buffer, or, after a long
 * message, straight into the result (mq_buffer.h); the result reuses the
 * last one when the caller let go of it (mq_buffer.h).  With nothing to
 * take it waits (PEP 475, wait.h) unless block is false.
 */
#include "message_queue.h"

#include "args.h"
#include "wait.h"

#include <errno.h>
#include <string.h>
#include <sys/msg.h>

/* A msgrcv() for sysv_wait(). */
struct receive_call {
    int id;
    struct ipcore_msgbuf *b;
    size_t capacity;
    long type;
};

static ssize_t
receive_try(void *arg, const struct timespec *left)
{
    const struct receive_call *c = arg;

    return ipcore_mq_receive(c->id, c->b, c->capacity, c->type, 0);
}

/* The PEP 475 wait of a receive that found nothing without waiting. */
Py_NO_INLINE static ssize_t
receive_wait(int id, struct ipcore_msgbuf *b, size_t capacity, long type)
{
    struct receive_call c = {
        .id = id, .b = b, .capacity = capacity, .type = type
    };

    return sysv_wait(receive_try, &c, NULL);
}

/* Completes the result mq_result_next() returned with the type and hands
 * it out (see mq_buffer.h). */
static inline PyObject *
result_done(PyObject *self, Py_ssize_t n, long type)
{
    if (mq_result_set_type(&MQ(self)->result, type) < 0) {
        return NULL;
    }
    return mq_result_hand_out(&MQ(self)->result, n, MQ(self)->capacity);
}

/* Receives through buf (or a buffer of its own, see mq_call_buffer); tried
 * says that the non-blocking attempt was made already. */
static PyObject *
receive_copy(PyObject *self, long type, int block, bool tried)
{
    size_t capacity = MQ(self)->capacity;
    struct ipcore_msgbuf *b;
    PyObject *result = NULL;
    ssize_t n = -ENOMSG;
    bool temp;

    b = mq_call_buffer(self, capacity, &temp);
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
        result = mq_result_next(&MQ(self)->result, n);
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

#if MQ_BYTES_AS_MSGBUF
/* mq_receive_direct() into the next result: NULL without an exception
 * when there is no message yet (the wait, if any, is receive_copy()'s,
 * through buf). */
static PyObject *
receive_direct(PyObject *self, long type)
{
    long got_type;
    ssize_t n = mq_receive_direct(&MQ(self)->result, MQ(self)->id,
                                  MQ(self)->capacity, type, &got_type);

    if (n < 0) {
        return n == -ENOMSG
                   ? NULL
                   : sysv_error(self, IPCORE_MQ, IPCORE_OP_RECEIVE, (int)n);
    }
    MQ(self)->last_len = (size_t)n;
    return result_done(self, n, got_type);
}
#endif

PyObject *
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
        return mq_not_ready(self);
    }
#if MQ_BYTES_AS_MSGBUF
    if (MQ(self)->last_len >= MQ_DIRECT_MIN &&
        MQ(self)->capacity <= MQ_DIRECT_MAX) {
        PyObject *result = receive_direct(self, type);

        if (result || PyErr_Occurred()) {
            return result;
        }
        tried = true;
    }
#endif
    return receive_copy(self, type, block, tried);
}
