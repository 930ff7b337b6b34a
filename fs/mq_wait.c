/*
 * mq_wait — send and receive: the fast paths in the worker, the waits in
 * waiters, the receive files' pieces, the give-back of a message taken for
 * nobody (see mq_wait.h).
 */
#include "config.h"
#include "mq_wait.h"
#include "fs_errno.h"
#include "ipcore.h"
#include "msgbuf.h"
#include "waiter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>

/* ------------------------------------------------------------------ */
/* Sizes and errors                                                   */
/* ------------------------------------------------------------------ */

/*
 * MSGMAX as it is now: no longer message can be sent, so a receive takes
 * whole any message with a buffer this big, whatever the read's size (a
 * wait for a read of 1 MiB holds 8 KiB, not 1 MiB: LIMITS in blocking.h).
 * One msgctl(IPC_INFO); 8192, the kernel's default, if it fails.
 */
static size_t mq_msgmax(void)
{
	struct msginfo info;

	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0 ||
	    info.msgmax <= 0)
		return 8192;
	return (size_t)info.msgmax;
}

/* A message longer than MSGMAX (lowered since it was sent) is no longer
 * than everything its queue holds: the capacity to try next, or 0 when
 * that is no more than cap (the queue changed: give up). */
static size_t mq_longer_cap(int id, size_t cap)
{
	struct ipcore_mq_info info;

	if (ipcore_mq_stat(id, &info) < 0 || info.cbytes <= cap)
		return 0;
	return info.cbytes;
}

/* EINVAL from msgsnd: the queue is gone (the table's reading of it), or
 * the message is too long, which only a look at the queue tells; too long
 * is EMSGSIZE by mq_wait.h's contract (never truncated). */
static int mq_send_einval(int id)
{
	struct ipcore_mq_info info;
	int rc = ipcore_mq_stat(id, &info);

	return rc < 0 ? fs_errno(rc, IPCORE_OP_STAT) : EMSGSIZE;
}

/* The errno for a failed send (rc < 0), EINVAL read as above. */
static int mq_send_errno(int id, int rc)
{
	return rc == -EINVAL ? mq_send_einval(id)
			     : fs_errno(rc, IPCORE_OP_SEND);
}

/* ------------------------------------------------------------------ */
/* Giving back                                                        */
/* ------------------------------------------------------------------ */

static void mq_report_lost(int id, const struct ipcore_msgbuf *buf,
			   size_t len, int rc)
{
	char text[128];

	/* strerror() is not thread-safe; the GNU strerror_r() returns the
	 * text (maybe not in text). */
	fuse_log(FUSE_LOG_ERR, "ipcfs: queue %d: a message of type %ld "
		 "(%zu bytes) taken for an interrupted reader, or sent for a "
		 "writer that exited, could not be put in the queue: %s\n",
		 id, buf->type, len,
		 strerror_r(-rc, text, sizeof(text)));
}

/* A failed give-back (rc < 0) is worth a report unless the queue is gone:
 * then the message would have gone with it anyway. */
static void mq_lost_unless_gone(int id, const struct ipcore_msgbuf *buf,
				size_t len, int rc)
{
	if (rc < 0 && ipcore_error_kind(rc, IPCORE_OP_SEND) !=
		      IPCORE_ERR_EXISTENTIAL)
		mq_report_lost(id, buf, len, rc);
}

/* A buffer of the waiter's own with room for cap bytes, holding the first
 * len bytes of from (if not NULL); NULL when out of memory.  Waiters do
 * not take the worker's buffer, which may be far larger than needed (it
 * keeps the size of the largest call the worker served). */
static struct ipcore_msgbuf *mq_buf_dup(const struct ipcore_msgbuf *from,
					size_t len, size_t cap)
{
	struct ipcore_msgbuf *buf = malloc(ipcore_msgbuf_size(cap));

	if (buf && from) {
		buf->type = from->type;
		memcpy(buf->text, from->text, len);
	}
	return buf;
}

/* The blocking send of a waiter: w->buf, w->len bytes. */
static ssize_t mq_send_call(struct waiter *w)
{
	return ipcore_mq_send(w->id, w->buf, w->len, 0);
}

static int mq_try_give_back(int id, const struct ipcore_msgbuf *buf,
			    size_t len)
{
	return ipcore_mq_send(id, buf, len, IPC_NOWAIT);
}

/*
 * Re-sends w->buf (len bytes), received for a caller who is gone.  It goes
 * to the back of the queue (System V has no way to put it back in front);
 * see mq_wait.h.  rc is the result of a first try with IPC_NOWAIT, made
 * before the caller was answered; on a full queue this waits for room,
 * until blocking_stop().
 */
static void mq_give_back(struct waiter *w, size_t len, int rc)
{
	w->len = len;
	if (rc == -EAGAIN || rc == -EINTR)
		rc = (int)waiter_call(w, true, mq_send_call);
	if (rc == -EAGAIN || rc == -EINTR) /* stopping: one last try */
		rc = ipcore_mq_send(w->id, w->buf, len, IPC_NOWAIT);
	mq_lost_unless_gone(w->id, w->buf, len, rc);
}

/* The job of a give-back's own waiter (no request). */
static void mq_give_back_run(struct waiter *w)
{
	mq_give_back(w, w->len, -EAGAIN);
}

/* The same from a libfuse worker: tries once, and leaves the waiting for
 * room to a waiter of its own, counted for uid, the user whose call took
 * the message (LIMITS in blocking.h).  buf is the thread's buffer. */
static void mq_give_back_later(struct blocking *b, uid_t uid, int id,
			       struct ipcore_msgbuf *buf, size_t len)
{
	struct waiter *w;
	int rc = mq_try_give_back(id, buf, len);
	int err;

	if (rc != -EAGAIN) {
		mq_lost_unless_gone(id, buf, len, rc);
		return;
	}
	w = waiter_get(b->waiters, NULL, uid, &err);
	if (w) {
		w->buf = mq_buf_dup(buf, len, len);
		if (!w->buf) {
			waiter_cancel(w);
			err = ENOMEM;
			w = NULL;
		}
	}
	if (w) {
		w->id = id;
		w->len = len;
		err = waiter_launch(w, mq_give_back_run);
	}
	if (err)
		mq_report_lost(id, buf, len, -err);
}

/* ------------------------------------------------------------------ */
/* Send                                                               */
/* ------------------------------------------------------------------ */

/* The waiter's job: the send without IPC_NOWAIT. */
static void mq_send_run(struct waiter *w)
{
	int rc = (int)waiter_call(w, false, mq_send_call);
	fuse_req_t req;
	bool stop;

	/* A message sent stays sent: its close succeeds even if the caller
	 * was interrupted at that instant. */
	req = waiter_take_req(w, &stop);
	fuse_reply_err(req, rc == 0 ? 0 : mq_send_errno(w->id, rc));
}

void mq_wait_send(struct blocking *b, fuse_req_t req, int msqid, long type,
		  const void *data, size_t len, bool nonblock)
{
	struct ipcore_mq_info info;
	struct ipcore_msgbuf *buf;
	struct waiter *w;
	int rc, err;

	if (waiter_req_interrupted(req))
		return;
	if (type <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	buf = msgbuf_get(b->msgbufs, len, NULL);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	buf->type = type;
	if (len)
		memcpy(buf->text, data, len);
	rc = ipcore_mq_send(msqid, buf, len, IPC_NOWAIT);
	if (rc == 0) {
		fuse_reply_err(req, 0);
		return;
	}
	if (rc != -EAGAIN) {
		fuse_reply_err(req, mq_send_errno(msqid, rc));
		return;
	}
	/* Full.  A message the queue can never hold would wait forever (the
	 * kernel sends only when len + cbytes <= qbytes and qnum < qbytes). */
	rc = ipcore_mq_stat(msqid, &info);
	if (rc < 0) {
		fuse_reply_err(req, fs_errno(rc, IPCORE_OP_STAT));
		return;
	}
	if (len > info.qbytes || info.qbytes == 0) {
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	w = waiter_get(b->waiters, req, fuse_req_ctx(req)->uid, &err);
	if (!w) {
		fuse_reply_err(req, err);
		return;
	}
	w->buf = mq_buf_dup(buf, len, len);
	if (!w->buf) {
		fuse_reply_err(waiter_cancel(w), ENOMEM);
		return;
	}
	w->id = msqid;
	w->type = type;
	w->len = len;
	waiter_launch(w, mq_send_run);
}

void mq_wait_send_detached(struct blocking *b, uid_t uid, int msqid,
			   long type, const void *data, size_t len)
{
	struct ipcore_msgbuf *buf = msgbuf_get(b->msgbufs, len, NULL);

	if (!buf || type <= 0)
		return;
	buf->type = type;
	if (len)
		memcpy(buf->text, data, len);
	/* A give-back is just that: a send nobody waits for. */
	mq_give_back_later(b, uid, msqid, buf, len);
}

/* ------------------------------------------------------------------ */
/* Receive files' state                                               */
/* ------------------------------------------------------------------ */

/* A copy of what a read of size bytes leaves of message buf (n bytes), to
 * be kept in the open's blocking_rx; NULL (and *err 0) when it all fits,
 * or NULL with *err ENOMEM. */
static char *mq_rest_copy(const struct ipcore_msgbuf *buf, size_t n,
			  size_t size, int *err)
{
	char *rest;

	*err = 0;
	if (n <= size)
		return NULL;
	rest = malloc(n - size);
	if (!rest)
		*err = ENOMEM;
	else
		memcpy(rest, buf->text + size, n - size);
	return rest;
}

/* Gives rx its message's rest, under the engine's lock; false (rest
 * untouched) when rx already has its message (another read of the open
 * was first). */
static bool mq_rx_fill_locked(struct blocking_rx *rx, char *rest, size_t n,
			      size_t size)
{
	if (rx->delivered)
		return false;
	rx->delivered = true;
	rx->rest = rest;
	rx->rest_len = rest ? n - size : 0;
	rx->rest_off = 0;
	return true;
}

/* The reader went away as its message was handed over: the rest goes
 * with the message, which is given back whole. */
static void mq_rx_unfill(struct waiters *ws, struct blocking_rx *rx)
{
	char *rest;

	waiter_lock(ws);
	rest = rx->rest;
	rx->rest = NULL;
	rx->rest_len = rx->rest_off = 0;
	waiter_unlock(ws);
	free(rest);
}

/* A read of an open whose message is taken: the next piece of its rest,
 * or end of file.  The piece is copied under the lock (two reads of one
 * open may race) into the thread's buffer. */
static void mq_rx_piece(struct blocking *b, fuse_req_t req,
			struct blocking_rx *rx, size_t size)
{
	struct ipcore_msgbuf *buf = NULL;
	size_t n = 0;

	waiter_lock(b->waiters);
	if (rx->rest) {
		n = rx->rest_len - rx->rest_off;
		if (n > size)
			n = size;
		buf = msgbuf_get(b->msgbufs, n, NULL);
		if (buf) {
			memcpy(buf->text, rx->rest + rx->rest_off, n);
			rx->rest_off += n;
		}
		if (buf && rx->rest_off == rx->rest_len) {
			/* All read: the memory goes now, not at close. */
			free(rx->rest);
			rx->rest = NULL;
			rx->rest_len = rx->rest_off = 0;
		}
	}
	waiter_unlock(b->waiters);
	if (n && !buf)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, buf ? buf->text : NULL, n);
}

void mq_wait_rx_free(struct blocking_rx *rx)
{
	free(rx->rest);
	*rx = (struct blocking_rx){ .delivered = rx->delivered };
}

bool mq_wait_delivered(struct blocking *b, const struct blocking_rx *rx)
{
	bool done;

	waiter_lock(b->waiters);
	done = rx->delivered;
	waiter_unlock(b->waiters);
	return done;
}

/* ------------------------------------------------------------------ */
/* Receive                                                            */
/* ------------------------------------------------------------------ */

/* The blocking receive of a waiter, into w->buf (w->cap bytes).  A
 * message longer than that (MSGMAX was raised while it waited, or lowered
 * after the send) grows the buffer, and the call is made again (-EINTR,
 * for waiter_call()). */
static ssize_t mq_receive_call(struct waiter *w)
{
	ssize_t n = ipcore_mq_receive(w->id, w->buf, w->cap, w->type, 0);
	struct ipcore_msgbuf *nb;
	size_t cap;

	if (n != -E2BIG)
		return n;
	cap = mq_msgmax();
	if (cap <= w->cap)
		cap = mq_longer_cap(w->id, w->cap);
	if (!cap)
		return n; /* the queue changed: E2BIG, as a read too small */
	nb = realloc(w->buf, ipcore_msgbuf_size(cap));
	if (!nb)
		return -ENOMEM;
	w->buf = nb;
	w->cap = cap;
	return -EINTR;
}

/* The waiter's job: the receive without IPC_NOWAIT. */
static void mq_receive_run(struct waiter *w)
{
	ssize_t n = waiter_call(w, false, mq_receive_call);
	struct waiters *ws = w->ws;
	fuse_req_t req;
	bool stop, eof = false;
	char *rest = NULL;
	int err = 0;

	if (n >= 0) {
		waiter_caller_gone(w);
		rest = mq_rest_copy(w->buf, (size_t)n, w->size, &err);
	}
	waiter_lock(ws);
	req = waiter_take_req_locked(w, &stop);
	stop = stop || err;
	/* The request is still pending, so its open file (which holds rx)
	 * is still there. */
	if (n >= 0 && !stop) {
		eof = !mq_rx_fill_locked(w->rx, rest, (size_t)n, w->size);
		if (!eof)
			rest = NULL;
	}
	waiter_unlock(ws);
	free(rest);

	if (n < 0) {
		fuse_reply_err(req, fs_errno((int)n, IPCORE_OP_RECEIVE));
		return;
	}
	if (stop || eof) {
		/* Back in the queue before the caller's call ends. */
		int rc = mq_try_give_back(w->id, w->buf, (size_t)n);

		if (stop)
			fuse_reply_err(req, err ? err : EINTR);
		else
			fuse_reply_buf(req, NULL, 0);
		mq_give_back(w, (size_t)n, rc);
	} else if (fuse_reply_buf(req, w->buf->text,
				  (size_t)n < w->size ? (size_t)n : w->size)
		   != 0) {
		mq_rx_unfill(ws, w->rx);
		mq_give_back(w, (size_t)n,
			     mq_try_give_back(w->id, w->buf, (size_t)n));
	}
}

/* The fast path took a message (n bytes in the thread's buf) for a read
 * of size bytes: hands it to rx and the reader, or gives it back. */
static void mq_received(struct blocking *b, fuse_req_t req, uid_t uid,
			int msqid, struct ipcore_msgbuf *buf, size_t n,
			size_t size, struct blocking_rx *rx)
{
	bool done;
	char *rest;
	int err;

	rest = mq_rest_copy(buf, n, size, &err);
	waiter_lock(b->waiters);
	done = err || !mq_rx_fill_locked(rx, rest, n, size);
	waiter_unlock(b->waiters);
	if (done) { /* no memory, or another read of this open was first:
		     * the message goes back */
		free(rest);
		mq_give_back_later(b, uid, msqid, buf, n);
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_buf(req, NULL, 0);
	} else if (fuse_reply_buf(req, buf->text, n < size ? n : size) != 0) {
		mq_rx_unfill(b->waiters, rx);
		mq_give_back_later(b, uid, msqid, buf, n);
	}
}

void mq_wait_receive(struct blocking *b, fuse_req_t req, int msqid,
		     long type, size_t size, bool nonblock,
		     struct blocking_rx *rx)
{
	uid_t uid = fuse_req_ctx(req)->uid; /* req may be answered below */
	struct ipcore_msgbuf *buf;
	struct waiter *w;
	size_t cap, more;
	ssize_t n;
	int err;

	if (waiter_req_interrupted(req))
		return;
	if (size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (mq_wait_delivered(b, rx)) {
		mq_rx_piece(b, req, rx, size);
		return;
	}
	/* Room for any message, whatever the read's size: the part that does
	 * not fit waits in rx for the next reads. */
	buf = msgbuf_get(b->msgbufs, mq_msgmax(), &cap);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ipcore_mq_receive(msqid, buf, cap, type, IPC_NOWAIT);
	if (n == -E2BIG && (more = mq_longer_cap(msqid, cap))) {
		buf = msgbuf_get(b->msgbufs, more, &cap);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		n = ipcore_mq_receive(msqid, buf, cap, type, IPC_NOWAIT);
	}
	if (n >= 0) {
		mq_received(b, req, uid, msqid, buf, (size_t)n, size, rx);
		return;
	}
	if (n != -ENOMSG || nonblock) {
		fuse_reply_err(req, fs_errno((int)n, IPCORE_OP_RECEIVE));
		return;
	}
	w = waiter_get(b->waiters, req, uid, &err);
	if (!w) {
		fuse_reply_err(req, err);
		return;
	}
	w->cap = mq_msgmax();
	w->buf = mq_buf_dup(NULL, 0, w->cap);
	if (!w->buf) {
		fuse_reply_err(waiter_cancel(w), ENOMEM);
		return;
	}
	w->id = msqid;
	w->type = type;
	w->size = size;
	w->rx = rx;
	waiter_launch(w, mq_receive_run);
}
