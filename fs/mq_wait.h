/*
 * mq_wait — the message queue policy of the waiting calls (blocking.h):
 * send (a send file's message, at its close; or detached, for a writer
 * that exits without closing) and receive (one message per open, read in
 * pieces), each made with IPC_NOWAIT in the worker first, then, if it
 * would block, by a waiter (waiter.h).
 *
 * Giving back: a message taken for a caller who is gone (interrupted at
 * the instant its receive completed, or whose reply failed) is sent again,
 * with its type and bytes, with IPC_NOWAIT, before the interrupted caller
 * is answered EINTR, so its call ends with the queue as it was (only when
 * the reply itself fails does the giving back come after it; on a full
 * queue a waiter then waits for room).  The compromise: a message given
 * back goes to the back of its queue (System V cannot put it in front), so
 * in that rare race messages of the same type sent meanwhile come before
 * it, and its sender pid and time become the daemon's.  A message taken
 * for nobody is only lost when the queue is removed (then it would have
 * been anyway) or when the daemon stops while the queue stays full
 * (reported with fuse_log).  It is also lost when no waiter can be had for
 * a give-back that must wait for room (the user whose call took it is at
 * its limit, see LIMITS in blocking.h): only a user who can receive from
 * the queue, and so could have taken the message and thrown it away
 * anyway, can bring that about.
 *
 * A completed send stays completed: its close succeeds even if its caller
 * was interrupted at that instant.
 */
#ifndef IPCFS_MQ_WAIT_H
#define IPCFS_MQ_WAIT_H

#include "blocking.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Sends len bytes at data (copied before return) with type to queue msqid:
 * the message of a send file, at its close (a FLUSH, see mq_files.h), so
 * success is answered fuse_reply_err(req, 0).  A message longer than the
 * queue can ever hold is EMSGSIZE, never truncated: longer than MSGMAX, or
 * than the queue's msg_qbytes (which the kernel would wait on forever).
 * type must be > 0 (else EINVAL).
 */
void mq_wait_send(struct blocking *b, fuse_req_t req, int msqid, long type,
		  const void *data, size_t len, bool nonblock);

/*
 * Sends the same for a caller that is not waiting for the outcome (a
 * writer that exits without closing, see mq_files.h): at once when there
 * is room, else from a waiter counted for uid (LIMITS) that waits for room
 * until the queue is removed or the daemon stops.  A message no waiter
 * can be had for is dropped and logged.
 */
void mq_wait_send_detached(struct blocking *b, uid_t uid, int msqid,
			   long type, const void *data, size_t len);

/*
 * What an open receive file keeps between its reads: read and written under
 * the engine's lock (a waiter may be filling it), freed by
 * mq_wait_rx_free() at release.  The kernel sends no release while a read
 * is in progress, so it stays valid while a read of its open waits.
 */
struct blocking_rx {
	bool delivered; /* the one message of this open is taken */
	char *rest;     /* the part of it no read has returned yet */
	size_t rest_len, rest_off;
};

/* Drops what a reader never read (the message was taken: it is gone). */
void mq_wait_rx_free(struct blocking_rx *rx);

/*
 * Receives one message (type as msgrcv(2)) for a read of size bytes and
 * answers fuse_reply_buf with its first size bytes.  The message is taken
 * whole whatever size is (up to MSGMAX, or longer should MSGMAX have been
 * lowered since it was sent): the part that does not fit stays in rx, and
 * the next reads of that open return it in pieces, then end of file (each
 * open of a receive file yields at most one message).  rx is read and
 * written under the engine's lock.  Serve receive files with direct_io, so
 * that every read reaches the daemon with the caller's size.  A read of 0
 * bytes takes nothing.
 */
void mq_wait_receive(struct blocking *b, fuse_req_t req, int msqid,
		     long type, size_t size, bool nonblock,
		     struct blocking_rx *rx);

/* Reads an open's delivered flag (rx as given to mq_wait_receive) under
 * the engine's lock: a waiter may be setting it at that moment. */
bool mq_wait_delivered(struct blocking *b, const struct blocking_rx *rx);

#endif /* IPCFS_MQ_WAIT_H */
