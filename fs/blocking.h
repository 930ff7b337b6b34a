/*
 * blocking — the calls of ipcfs that can wait: semaphore P/V/Z written to
 * an op file, message send and receive, and poll on a receive file.
 *
 * None of them holds a libfuse worker.  Each function below takes the
 * request and answers it itself: at once when the call can complete without
 * waiting (or fails), otherwise later, from a waiter thread owned by this
 * module.  The libfuse handler that calls it must return straight after and
 * must not touch req again.
 *
 * Interrupts: every waiting request registers fuse_req_interrupt_func(); an
 * interrupted caller gets EINTR at once, and a message or semaphore unit
 * taken at the instant its caller went away (fuse_reply_* fails) is given
 * back, so nothing is ever lost or taken on behalf of a caller who is gone.
 *
 * nonblock is the caller's O_NONBLOCK (fi->flags): the call then never
 * waits and answers EAGAIN where it would have.
 */
#ifndef IPCFS_BLOCKING_H
#define IPCFS_BLOCKING_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>

struct blocking;

/* Creates the module's state (waiter threads, poll watcher).  Call before
 * the session loop starts.  Returns 0 or -errno. */
int blocking_start(struct blocking **out, struct fuse_session *se);

/* Ends every pending wait (their callers get EINTR), joins the threads and
 * frees the state.  Call after the session loop has returned. */
void blocking_stop(struct blocking *b);

/*
 * Adds delta to element num of set semid (P < 0, V > 0, Z == 0) and, on
 * success, answers req with fuse_reply_write(req, ack_size), ack_size being
 * the number of bytes the caller wrote to the op file.  undo adds SEM_UNDO
 * (the undo is then held by the daemon, not the caller: see the man page).
 */
void blocking_sem_op(struct blocking *b, fuse_req_t req, int semid,
		     unsigned short num, short delta, bool nonblock,
		     size_t ack_size);

/*
 * Sends len bytes at data (copied before return) with type to queue msqid;
 * answers fuse_reply_write(req, len).  A message longer than the queue can
 * ever hold is EINVAL, never truncated.
 */
void blocking_mq_send(struct blocking *b, fuse_req_t req, int msqid,
		      long type, const void *data, size_t len, bool nonblock);

/*
 * Receives one message (type as msgrcv(2)) for a read of size bytes and
 * answers fuse_reply_buf with its bytes.  A message longer than size is
 * answered EMSGSIZE and stays queued.  When *delivered is already true the
 * read is answered at once with 0 bytes (end of file): each open of a
 * receive file yields at most one message.  *delivered is set to true when a
 * message has been handed to the caller.
 */
void blocking_mq_receive(struct blocking *b, fuse_req_t req, int msqid,
			 long type, size_t size, bool nonblock,
			 bool *delivered);

/*
 * Answers a poll on a receive file: POLLIN when a message of that type is
 * waiting.  When ph is not NULL, keeps it and calls
 * fuse_lowlevel_notify_poll(ph) once such a message arrives (or the queue
 * is removed), then destroys it.
 */
void blocking_mq_poll(struct blocking *b, fuse_req_t req, int msqid,
		      long type, struct fuse_pollhandle *ph);

#endif /* IPCFS_BLOCKING_H */
