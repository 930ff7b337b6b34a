/*
 * mq_files — what an open message file keeps between its calls (issue 9,
 * "one shell command, one message"): the message a send file gathers until
 * its close, and the copy that a peek or messages/<i> file reads from.
 * The receive side's state is mq_wait.h's struct blocking_rx (a waiter
 * fills it).
 *
 * SEND.  One open for writing of send (or type/<t>/send) is one message:
 * every write(2) appends to the open's buffer, and the message goes at
 * close(2), in the FUSE FLUSH the kernel sends for it, so that close(2)
 * returns the send's error, waits on a full queue (mq_wait.c's waiter:
 * interruptible, nothing sent when interrupted, per-user waiter limits),
 * and gives EAGAIN under O_NONBLOCK (nothing sent).  A descriptor that is
 * dup'ed, or inherited by a child, is one open with several closes, each a
 * FLUSH: the message goes at the first FLUSH after a write, once; writes
 * after it (through another descriptor of the open) begin the next
 * message.  The shells depend on that: bash opens, dup2()s the file to
 * fd 1 and closes the original before the command writes, so the first
 * FLUSH of `echo hi > send` comes before any write.
 *
 * Errors the writes can already show are returned by the write that shows
 * them: a message that would grow past MSGMAX or past the queue's
 * msg_qbytes (it could never be sent) is EMSGSIZE ("Message too long"),
 * and so is every later write of the same message and its close: the
 * message is spoiled and nothing of it is ever sent (never a truncated
 * message).  The next message of the open (after that close's FLUSH)
 * starts clean.
 *
 * Opening without writing sends nothing (`touch send`), except an open
 * with O_TRUNC (`: > send`, Python's open(p, "w")): it sends one empty
 * message, as the truncation of a file to nothing is a write of nothing.
 * Because the first FLUSH cannot tell whether a write is still to come
 * through another descriptor, that empty message goes at the second FLUSH
 * without a write in between (bash's `: > send`: the one that close(2)s
 * fd 1), or, when there is none, at release (the last close), as for a
 * writer that exits: sent by the daemon after close(2) returned (at once,
 * or once there is room).
 *
 * A writer killed before its close sends nothing: the FLUSH its exit makes
 * is told from a close by /proc/<tid>/stat (exiting, with a signal as exit
 * code), and what a release finds unsent is dropped.  A writer that exits
 * without closing (the kernel closes its files) sends its message, but
 * does not wait for room: an exiting process cannot be interrupted, and
 * would hang unkillable on a full queue.  The message is handed to a
 * waiter of the daemon (mq_wait_send_detached(), counted for the
 * writer's user), which sends it once there is room.
 *
 * Memory: one buffer per open, allocated as written, never longer than
 * min(MSGMAX, msg_qbytes); opens are counted per user (ipcfs.h,
 * max_files_per_user), so a user's buffers are bounded by
 * max_files_per_user x MSGMAX.
 *
 * PEEK and messages/<i>: the first read of an open copies the message
 * (MSG_COPY, which takes nothing) into the open's state; that read and
 * the next ones return it in pieces, then end of file.
 */
#ifndef IPCFS_MQ_FILES_H
#define IPCFS_MQ_FILES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct mq_open {
	pthread_mutex_t lock; /* every field below */
	/* send */
	char *buf;       /* the message gathered so far */
	size_t len, cap;
	bool nonblock;   /* O_NONBLOCK at open or at the last write */
	bool written;    /* a write since the last message went */
	bool trunc_due;  /* O_TRUNC, and no write nor message yet */
	bool flushed;    /* a FLUSH came while trunc_due */
	int error;       /* the message is spoiled: its writes' errno */
	/* peek, messages/<i> */
	bool copied;     /* the copy is taken */
	char *copy;
	size_t copy_len, copy_off;
};

/* Starts the state of an open with the flags of its open(2). */
void mq_open_init(struct mq_open *m, int flags);
/* Frees what is left (unsent, unread: dropped). */
void mq_open_destroy(struct mq_open *m);

/* The longest message a queue with msg_qbytes qbytes can ever take. */
size_t mq_send_limit(unsigned long qbytes);

/* Appends a write of size bytes to the message; limit is mq_send_limit()
 * of the queue now.  Returns 0 or -EMSGSIZE (spoiled) or -ENOMEM. */
int mq_send_append(struct mq_open *m, const char *data, size_t size,
		   size_t limit, bool nonblock);

/*
 * At a FLUSH: 1 when a message is to be sent now (its bytes, or NULL for
 * an empty one, in *data, to be freed by the caller; its length in *len;
 * the open's O_NONBLOCK in *nonblock), 0 when there is nothing to send,
 * or -errno (EMSGSIZE: a spoiled message, now dropped).
 */
int mq_send_take(struct mq_open *m, char **data, size_t *len,
		 bool *nonblock);

/* Drops what the open gathered and an empty message still due (a writer
 * killed). */
void mq_send_drop(struct mq_open *m);

/* At release: true when the empty message of an O_TRUNC open without
 * writes is still due. */
bool mq_send_release_due(struct mq_open *m);

/* Whether the thread tid that made a FLUSH is closing, or exiting (the
 * kernel closes what it left open): normally, or killed by a signal. */
enum mq_caller {
	MQ_CALLER_LIVE,
	MQ_CALLER_EXITING,
	MQ_CALLER_KILLED,
};
enum mq_caller mq_caller_state(pid_t tid);

/*
 * A read of size bytes of a peek (index 0) or messages/<index> file
 * (type_text: the .type file) of queue msqid: the next piece of the copy,
 * taken at the first read.  Returns 0 with the piece in *out (malloc'ed,
 * NULL for end of file) and its length in *n, or -errno: ENOENT (no
 * message at index: messages/ only; a peek of an empty queue reads
 * empty), EOPNOTSUPP (no MSG_COPY in this kernel).
 */
int mq_copy_read(struct mq_open *m, int msqid, long index, bool type_text,
		 bool peek, size_t size, char **out, size_t *n);

#endif /* IPCFS_MQ_FILES_H */
