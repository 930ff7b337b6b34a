/*
 * MessageQueue.send(): a short bytes message through the handle's buffer
 * on a path of its own, anything else through send_any(): from the
 * caller's bytes object in place when it is long (mq_buffer.h), else
 * through the buffer; a full queue waits (PEP 475, wait.h) unless block
 * is false.
 */
#include "message_queue.h"

#include "args.h"
#include "wait.h"

#include <errno.h>
#include <string.h>
#include <sys/msg.h>

/* A msgsnd() for sysv_wait(). */
struct send_call {
    int id;
    const struct ipcore_msgbuf *b;
    size_t len;
};

static ssize_t
send_try(void *arg, const struct timespec *left)
{
    const struct send_call *c = arg;

    return ipcore_mq_send(c->id, c->b, c->len, 0);
}

/* The PEP 475 wait of a send that found the queue full. */
Py_NO_INLINE static int
send_wait(int id, const struct ipcore_msgbuf *b, size_t len)
{
    struct send_call c = { .id = id, .b = b, .len = len };

    return (int)sysv_wait(send_try, &c, NULL);
}

/* Sends through buf (or a buffer of its own, see mq_call_buffer); tried says
 * that the non-blocking attempt was made already. */
static int
send_copy(PyObject *self, const sysv_data *data, long type, int block,
          bool tried)
{
    struct ipcore_msgbuf *b;
    size_t len = (size_t)data->len;
    bool temp;
    int rc = -EAGAIN;

    b = mq_call_buffer(self, len, &temp);
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

/* send_copy() through buf, free, of len (< MQ_IN_PLACE_MIN, within
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
        return mq_not_ready(self);
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
#if MQ_BYTES_AS_MSGBUF
    rc = mq_send_in_place(MQ(self)->id, argv[0], type);
#else
    rc = 1; /* not in place */
#endif
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

PyObject *
mq_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
        PyObject *kwnames)
{
    PyObject *msg = nargs == 1 && !kwnames ? args[0] : NULL;
    int rc;

    /* send(bytes) of a short message, the usual call: what send_any()
     * does for it (its checks all pass, mq_send_in_place() declines and
     * send_copy() copies into buf), without the steps between. */
    if (msg && PyBytes_CheckExact(msg) &&
        PyBytes_GET_SIZE(msg) < MQ_IN_PLACE_MIN &&
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
