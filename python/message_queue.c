/*
 * sysv_ipc.MessageQueue: a message queue and this handle's message buffer.
 *
 * Each handle allocates one buffer of max_message_size bytes when it is
 * made and sends and receives every message through it (fix #8).  While a
 * thread waits in msgsnd()/msgrcv() without the GIL, the buffer is marked
 * busy, and a call from another thread on the same handle uses a buffer of
 * its own for that one call.
 */
#include "sysv_ipc_int.h"

#include <errno.h>
#include <string.h>
#include <sys/msg.h>

typedef struct {
	SYSV_OBJECT_HEAD;
	struct ipcore_msgbuf *buf; /* capacity bytes of text */
	size_t capacity;           /* min(max_message_size, INT_MAX) */
	size_t max_message_size;
	bool busy;                 /* a thread waits in a call that uses buf */
} MessageQueueObject;

#define MQ(o) ((MessageQueueObject *)(o))

/* ----------------------------------------------------------- life cycle */

static PyObject *mq_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	PyObject *self = type->tp_alloc(type, 0);

	if (self) {
		MQ(self)->id = -1;
		MQ(self)->key = IPC_PRIVATE;
		MQ(self)->buf = NULL;
		MQ(self)->capacity = 0;
		MQ(self)->max_message_size = 0;
		MQ(self)->busy = false;
	}
	return self;
}

static int mq_init(PyObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "key", "flags", "mode", "max_message_size",
				  NULL };
	PyObject *key_obj, *max_obj = NULL;
	int flags = 0, mode = 0600;
	size_t max_size = 2048, capacity;
	enum ipcore_key_choice choice;
	struct ipcore_object obj;
	struct ipcore_msgbuf *buf;
	key_t key;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|iiO:MessageQueue",
					 kwlist, &key_obj, &flags, &mode,
					 &max_obj))
		return -1;
	flags &= IPC_CREAT | IPC_EXCL;
	if (sysv_check_flags(flags) < 0 ||
	    sysv_parse_key(key_obj, flags, &key, &choice) < 0)
		return -1;
	if (max_obj) {
		if (!PyLong_Check(max_obj)) {
			PyErr_Format(PyExc_TypeError,
				     "max_message_size must be int, not %.50s",
				     Py_TYPE(max_obj)->tp_name);
			return -1;
		}
		max_size = PyLong_AsSize_t(max_obj);
		if (max_size == (size_t)-1 && PyErr_Occurred()) {
			if (!PyErr_ExceptionMatches(PyExc_OverflowError))
				return -1;
			PyErr_Clear();
			max_size = (size_t)-1;
		}
		if (max_size > (size_t)PY_SSIZE_T_MAX) {
			PyErr_Format(PyExc_ValueError,
				     "The message length must be <= %zd",
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
	buf = PyMem_RawMalloc(ipcore_msgbuf_size(capacity));
	if (!buf) {
		PyErr_NoMemory();
		return -1;
	}

	rc = ipcore_mq_get(key, choice, flags, (unsigned int)mode, &obj);
	if (rc < 0) {
		PyMem_RawFree(buf);
		sysv_error(self, IPCORE_MQ, IPCORE_OP_GET, rc);
		return -1;
	}
	PyMem_RawFree(MQ(self)->buf);
	MQ(self)->buf = buf;
	MQ(self)->capacity = capacity;
	MQ(self)->max_message_size = max_size;
	MQ(self)->key = obj.key;
	MQ(self)->id = obj.id;
	return 0;
}

static void mq_dealloc(PyObject *self)
{
	PyTypeObject *tp = Py_TYPE(self);

	PyMem_RawFree(MQ(self)->buf);
	tp->tp_free(self);
	Py_DECREF(tp);
}

static PyObject *mq_str(PyObject *self)
{
	return PyUnicode_FromFormat("Key=%d, id=%d", (int)MQ(self)->key,
				    MQ(self)->id);
}

static PyObject *mq_repr(PyObject *self)
{
	return PyUnicode_FromFormat("sysv_ipc.MessageQueue(%d)",
				    (int)MQ(self)->key);
}

/* -------------------------------------------------------------- methods */

static PyObject *not_ready(PyObject *self)
{
	PyErr_SetString(sysv_exception(self, IPCORE_ERR_NONE),
			"MessageQueue.__init__() has not run");
	return NULL;
}

/*
 * The buffer for one call: the handle's own, or, while another thread
 * waits with that, a new one of bytes bytes of text (*temp set).
 */
static struct ipcore_msgbuf *call_buffer(PyObject *self, size_t bytes,
					 bool *temp)
{
	struct ipcore_msgbuf *b;

	*temp = MQ(self)->busy;
	if (!*temp)
		return MQ(self)->buf;
	b = PyMem_RawMalloc(ipcore_msgbuf_size(bytes));
	if (!b)
		PyErr_NoMemory();
	return b;
}

static PyObject *mq_send(PyObject *self, PyObject *const *args,
			 Py_ssize_t nargs, PyObject *kwnames)
{
	static const char *const params[] = { "message", "block", "type",
					      NULL };
	PyObject *argv[3] = { NULL, NULL, NULL };
	Py_buffer view = { 0 };
	const char *data;
	Py_ssize_t len;
	struct ipcore_msgbuf *b;
	PyObject *result = NULL;
	long type = 1;
	int block = 1;
	bool temp;
	int rc;

	if (nargs == 1 && !kwnames)
		argv[0] = args[0];
	else if (sysv_parse("send", params, 1, args, nargs, kwnames, argv) < 0)
		return NULL;
	if (argv[1] && (block = PyObject_IsTrue(argv[1])) < 0)
		return NULL;
	if (argv[2]) {
		type = PyLong_AsLong(argv[2]);
		if (type == -1 && PyErr_Occurred())
			return NULL;
		if (type <= 0) {
			PyErr_SetString(PyExc_ValueError,
					"The type must be > 0");
			return NULL;
		}
	}
	if (!MQ(self)->buf)
		return not_ready(self);

	if (PyBytes_Check(argv[0])) {
		data = PyBytes_AS_STRING(argv[0]);
		len = PyBytes_GET_SIZE(argv[0]);
	} else if (PyUnicode_Check(argv[0])) {
		data = PyUnicode_AsUTF8AndSize(argv[0], &len);
		if (!data)
			return NULL;
	} else {
		if (PyObject_GetBuffer(argv[0], &view, PyBUF_SIMPLE) < 0)
			return NULL;
		data = view.buf;
		len = view.len;
	}
	if ((size_t)len > MQ(self)->max_message_size) {
		PyErr_Format(PyExc_ValueError,
			     "The message length exceeds queue's "
			     "max_message_size (%zu)",
			     MQ(self)->max_message_size);
		goto done;
	}
	if ((size_t)len > MQ(self)->capacity) {
		/* Longer than INT_MAX: above any MSGMAX the kernel allows. */
		PyErr_SetString(PyExc_ValueError,
				"The message is longer than any queue allows");
		goto done;
	}

	b = call_buffer(self, (size_t)len, &temp);
	if (!b)
		goto done;
	b->type = type;
	memcpy(b->text, data, (size_t)len);

	/* Try without waiting first, holding the GIL; wait (PEP 475) only
	 * when the queue is full and block allows it. */
	rc = ipcore_mq_send(MQ(self)->id, b, (size_t)len, IPC_NOWAIT);
	if (rc == -EAGAIN && block) {
		if (!temp)
			MQ(self)->busy = true;
		for (;;) {
			Py_BEGIN_ALLOW_THREADS
			rc = ipcore_mq_send(MQ(self)->id, b, (size_t)len, 0);
			Py_END_ALLOW_THREADS
			if (rc != -EINTR)
				break;
			if (PyErr_CheckSignals() < 0) {
				rc = SYSV_RC_PYERR;
				break;
			}
		}
		if (!temp)
			MQ(self)->busy = false;
	}
	if (temp)
		PyMem_RawFree(b);
	if (rc < 0)
		sysv_error(self, IPCORE_MQ, IPCORE_OP_SEND, rc);
	else
		result = Py_NewRef(Py_None);
done:
	if (view.obj)
		PyBuffer_Release(&view);
	return result;
}

static PyObject *mq_receive(PyObject *self, PyObject *const *args,
			    Py_ssize_t nargs, PyObject *kwnames)
{
	static const char *const params[] = { "block", "type", NULL };
	PyObject *argv[2] = { NULL, NULL };
	struct ipcore_msgbuf *b;
	PyObject *result = NULL, *text, *type_obj;
	long type = 0;
	int block = 1;
	ssize_t n;
	bool temp;

	if (nargs || kwnames) {
		if (sysv_parse("receive", params, 0, args, nargs, kwnames,
			       argv) < 0)
			return NULL;
		if (argv[0] && (block = PyObject_IsTrue(argv[0])) < 0)
			return NULL;
		if (argv[1]) {
			type = PyLong_AsLong(argv[1]);
			if (type == -1 && PyErr_Occurred())
				return NULL;
		}
	}
	if (!MQ(self)->buf)
		return not_ready(self);

	b = call_buffer(self, MQ(self)->capacity, &temp);
	if (!b)
		return NULL;
	n = ipcore_mq_receive(MQ(self)->id, b, MQ(self)->capacity, type,
			      IPC_NOWAIT);
	if (n == -ENOMSG && block) {
		if (!temp)
			MQ(self)->busy = true;
		for (;;) {
			Py_BEGIN_ALLOW_THREADS
			n = ipcore_mq_receive(MQ(self)->id, b,
					      MQ(self)->capacity, type, 0);
			Py_END_ALLOW_THREADS
			if (n != -EINTR)
				break;
			if (PyErr_CheckSignals() < 0) {
				n = SYSV_RC_PYERR;
				break;
			}
		}
		if (!temp)
			MQ(self)->busy = false;
	}

	if (n < 0) {
		sysv_error(self, IPCORE_MQ, IPCORE_OP_RECEIVE, (int)n);
		goto done;
	}
	text = PyBytes_FromStringAndSize(b->text, n);
	type_obj = text ? PyLong_FromLong(b->type) : NULL;
	if (!type_obj) {
		Py_XDECREF(text);
		goto done;
	}
	result = PyTuple_New(2);
	if (!result) {
		Py_DECREF(text);
		Py_DECREF(type_obj);
		goto done;
	}
	PyTuple_SET_ITEM(result, 0, text);
	PyTuple_SET_ITEM(result, 1, type_obj);
done:
	if (temp)
		PyMem_RawFree(b);
	return result;
}

static PyObject *mq_remove(PyObject *self, PyObject *unused)
{
	int rc = ipcore_remove(IPCORE_MQ, MQ(self)->id);

	if (rc < 0)
		return sysv_error(self, IPCORE_MQ, IPCORE_OP_REMOVE, rc);
	Py_RETURN_NONE;
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

static PyObject *mq_get_stat(PyObject *self, void *closure)
{
	struct ipcore_mq_info info;
	int rc = ipcore_mq_stat(MQ(self)->id, &info);

	if (rc < 0)
		return sysv_error(self, IPCORE_MQ, IPCORE_OP_STAT, rc);
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

static int mq_set_max_size(PyObject *self, PyObject *value, void *closure)
{
	unsigned long v;
	int rc;

	if (value == NULL)
		return sysv_no_delete(self, "max_size");
	if (!PyLong_Check(value)) {
		PyErr_SetString(PyExc_TypeError,
				"Attribute 'max_size' must be an integer");
		return -1;
	}
	v = PyLong_AsUnsignedLong(value);
	if (v == (unsigned long)-1 && PyErr_Occurred()) {
		if (!PyErr_ExceptionMatches(PyExc_OverflowError))
			return -1;
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

#define FASTCALL_KW(f) ((PyCFunction)(void (*)(void))(f))

static PyMethodDef mq_methods[] = {
	{ "send", FASTCALL_KW(mq_send), METH_FASTCALL | METH_KEYWORDS,
	  "send($self, /, message, block=True, type=1)\n--\n\n"
	  "Puts message (bytes-like, or str as UTF-8) on the queue with\n"
	  "type (> 0).  On a full queue it waits, or raises BusyError when\n"
	  "block is false." },
	{ "receive", FASTCALL_KW(mq_receive), METH_FASTCALL | METH_KEYWORDS,
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

#define PERM(field) SYSV_PERM_CLOSURE(IPCORE_MQ, field)
#define STAT(field) ((void *)(intptr_t)(field))

static PyGetSetDef mq_getset[] = {
	{ "key", sysv_get_key, NULL, "The queue's key (read-only).", NULL },
	{ "id", sysv_get_id, NULL, "The queue's id (read-only).", NULL },
	{ "current_messages", mq_get_stat, NULL,
	  "How many messages the queue holds (read-only).", STAT(MQ_F_QNUM) },
	{ "max_size", mq_get_stat, mq_set_max_size,
	  "The most bytes the queue may hold (msg_qbytes); raising it past\n"
	  "the system's MSGMNB needs privilege.", STAT(MQ_F_QBYTES) },
	{ "last_send_time", mq_get_stat, NULL,
	  "The time of the last send (read-only).", STAT(MQ_F_STIME) },
	{ "last_receive_time", mq_get_stat, NULL,
	  "The time of the last receive (read-only).", STAT(MQ_F_RTIME) },
	{ "last_change_time", mq_get_stat, NULL,
	  "The time of the last change by msgctl() (read-only).",
	  STAT(MQ_F_CTIME) },
	{ "last_send_pid", mq_get_stat, NULL,
	  "The pid of the last sender (read-only).", STAT(MQ_F_LSPID) },
	{ "last_receive_pid", mq_get_stat, NULL,
	  "The pid of the last receiver (read-only).", STAT(MQ_F_LRPID) },
	{ "uid", sysv_get_perm, sysv_set_perm, "The owner's user id.",
	  PERM(SYSV_PERM_UID) },
	{ "gid", sysv_get_perm, sysv_set_perm, "The owner's group id.",
	  PERM(SYSV_PERM_GID) },
	{ "mode", sysv_get_perm, sysv_set_perm, "The queue's permission bits.",
	  PERM(SYSV_PERM_MODE) },
	{ "cuid", sysv_get_perm, NULL, "The creator's user id (read-only).",
	  PERM(SYSV_PERM_CUID) },
	{ "cgid", sysv_get_perm, NULL, "The creator's group id (read-only).",
	  PERM(SYSV_PERM_CGID) },
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
	{ Py_tp_new, SYSV_SLOT(mq_new) },
	{ Py_tp_init, SYSV_SLOT(mq_init) },
	{ Py_tp_dealloc, SYSV_SLOT(mq_dealloc) },
	{ Py_tp_str, SYSV_SLOT(mq_str) },
	{ Py_tp_repr, SYSV_SLOT(mq_repr) },
	{ Py_tp_methods, mq_methods },
	{ Py_tp_getset, mq_getset },
	{ 0, NULL },
};

PyType_Spec sysv_message_queue_spec = {
	.name = "sysv_ipc.MessageQueue",
	.basicsize = sizeof(MessageQueueObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |
		 Py_TPFLAGS_IMMUTABLETYPE,
	.slots = mq_slots,
};
