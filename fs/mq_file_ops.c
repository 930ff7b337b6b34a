/* The operations of a queue's files (see mq_file_ops.h). */
#include "mq_file_ops.h"
#include "mq_poll.h"
#include "mq_wait.h"
#include "may.h"
#include "mq_files.h"
#include "open_files.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>

/* What an open send or receive file remembers.  Each counts against its
 * opener's quota of open message files (ipcfs.h), so that no user can
 * take all the daemon's memory with them. */
struct msg_handle {
	struct open_file link; /* first: the list holds it by this */
	long type;        /* send and receive; the position for messages/ */
	struct blocking_rx rx; /* receive: its message and what is left */
	struct mq_open mq;     /* send: the message; peek, messages/: copy */
};

static void msg_handle_free(struct open_file *f)
{
	struct msg_handle *h = (struct msg_handle *)f;

	mq_wait_rx_free(&h->rx);
	mq_open_destroy(&h->mq);
	free(h);
}

static void msg_open(fuse_req_t req, const struct node_ref *n,
		     struct fuse_file_info *fi)
{
	struct msg_handle *h;

	fi->nonseekable = 1;
	fi->direct_io = 1;
	h = open_handle_new(req, sizeof(*h), msg_handle_free);
	if (h) {
		h->type = n->type;
		mq_open_init(&h->mq, fi->flags);
		open_handle_reply(req, fi, &h->link);
	}
}

static void msg_release(fuse_req_t req, struct node_ref *n,
			struct fuse_file_info *fi)
{
	struct msg_handle *h = open_handle(fi);

	(void)n;
	open_handle_free(req, &h->link);
	fuse_reply_err(req, 0);
}

/* ------------------------------------------------------------------ */
/* send                                                               */
/* ------------------------------------------------------------------ */

/* Gathered; sent at close (send_flush). */
static void send_write(fuse_req_t req, struct node_ref *n, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct msg_handle *h = open_handle(fi);
	int rc = file_call(req, n, MAY_WRITE);

	(void)off;
	if (!rc)
		rc = mq_send_append(&h->mq, buf, size,
				    mq_send_limit(n->o.u.mq.qbytes),
				    fi->flags & O_NONBLOCK);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

/*
 * close(2) of a send file: its message goes now (mq_files.h), through
 * blocking.c, which answers (waiting on a full queue unless O_NONBLOCK).
 * Every other file is opened noflush: the kernel sends no FLUSH.
 */
static void send_flush(fuse_req_t req, struct node_ref *n,
		       struct fuse_file_info *fi)
{
	struct msg_handle *h = open_handle(fi);
	enum mq_caller who;
	bool nonblock;
	char *data;
	size_t len;
	int rc;

	/* The FLUSH of a writer's death is no close: what the open gathered,
	 * whole or not, is not sent for it, nor an O_TRUNC's empty message
	 * at release. */
	who = mq_caller_state(fuse_req_ctx(req)->pid);
	if (who == MQ_CALLER_KILLED) {
		mq_send_drop(&h->mq);
		fuse_reply_err(req, EINTR);
		return;
	}
	rc = mq_send_take(&h->mq, &data, &len, &nonblock);
	if (rc == 1) {
		rc = file_call(req, n, MAY_WRITE);
		/* max_size lowered since the writes: the kernel would wait
		 * for ever (mq_wait_send() checks as much). */
		if (!rc && len > mq_send_limit(n->o.u.mq.qbytes))
			rc = -EMSGSIZE;
		if (!rc && who == MQ_CALLER_EXITING) {
			/* Nobody to wait for room: an exiting process cannot
			 * be interrupted (mq_files.h). */
			mq_wait_send_detached(ipcfs_of(req)->blocking,
					      h->link.uid, n->p.id, h->type,
					      data, len);
			free(data);
			fuse_reply_err(req, 0);
			return;
		}
		if (!rc) {
			mq_wait_send(ipcfs_of(req)->blocking, req, n->p.id,
				     h->type, data ? data : "", len,
				     nonblock);
			free(data);
			return;
		}
	}
	free(data);
	fuse_reply_err(req, -rc);
}

static void send_release(fuse_req_t req, struct node_ref *n,
			 struct fuse_file_info *fi)
{
	struct msg_handle *h = open_handle(fi);

	/* The empty message of an O_TRUNC open closed once, without writes
	 * (mq_files.h): nobody to tell or to wait.  A RELEASE carries no
	 * caller (uid 0, pid 0): the open checked. */
	if (mq_send_release_due(&h->mq) && !file_call(req, n, 0))
		mq_wait_send_detached(ipcfs_of(req)->blocking, h->link.uid,
				      n->p.id, h->type, NULL, 0);
	msg_release(req, n, fi);
}

const struct file_ops mq_send_ops = {
	.may_open = may_open_send,
	.open = msg_open,
	.write = send_write,
	.flush = send_flush,
	.release = send_release,
	.waits = true,
};

/* ------------------------------------------------------------------ */
/* receive                                                            */
/* ------------------------------------------------------------------ */

static void receive_read(fuse_req_t req, struct node_ref *n, size_t size,
			 off_t off, struct fuse_file_info *fi)
{
	struct blocking *b = ipcfs_of(req)->blocking;
	struct msg_handle *h = open_handle(fi);
	int rc;

	(void)off;
	/* The rest of a message this open took is the reader's, even once
	 * its queue is gone: it comes from the open, not the queue.  Taking
	 * one is a msgrcv, checked as such. */
	if (mq_wait_delivered(b, &h->rx)) {
		mq_wait_receive(b, req, -1, h->type, size, true, &h->rx);
		return;
	}
	rc = file_call(req, n, MAY_READ);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	mq_wait_receive(b, req, n->p.id, h->type, size,
			fi->flags & O_NONBLOCK, &h->rx);
}

static void receive_poll(fuse_req_t req, struct node_ref *n,
			 struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct blocking *b = ipcfs_of(req)->blocking;
	struct msg_handle *h = open_handle(fi);
	unsigned events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;

	/* The flag is read under blocking's lock: a read of this open may be
	 * setting it in a waiter thread right now.  A queue that is gone, or
	 * that the caller may no longer read, is not watched: the read that
	 * the poll wakes says why. */
	if (!mq_wait_delivered(b, &h->rx)) {
		if (!file_call(req, n, MAY_READ)) {
			mq_poll_answer(b, req, n->p.id, h->type, ph);
			return;
		}
		events = POLLIN | POLLERR;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, events);
}

const struct file_ops mq_receive_ops = {
	.may_open = may_open_msgrcv,
	.open = msg_open,
	.read = receive_read,
	.release = msg_release,
	.poll = receive_poll,
};

/* ------------------------------------------------------------------ */
/* peek, messages/<i>, messages/<i>.type                              */
/* ------------------------------------------------------------------ */

/* Pieces of the copy taken at the open's first read (mq_files.h). */
static void copy_read(fuse_req_t req, struct node_ref *n, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	struct msg_handle *h = open_handle(fi);
	enum file_role role = n->file->role;
	char *piece;
	size_t len;
	int rc = file_call(req, n, MAY_READ);

	(void)off;
	if (!rc)
		rc = mq_copy_read(&h->mq, n->p.id,
				  role == ROLE_PEEK ? 0 : h->type,
				  role == ROLE_MSG_TYPE, role == ROLE_PEEK, size,
				  &piece, &len);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_buf(req, piece, len);
	free(piece);
}

const struct file_ops mq_copy_ops = {
	.may_open = may_open_msgrcv,
	.open = msg_open,
	.read = copy_read,
	.release = msg_release,
};
