/*
 * mq_poll — poll on a receive file, and the watcher thread that wakes the
 * pollers (one of the waiting calls, blocking.h).
 *
 * System V gives no wake-up, so the watcher, a thread of its own, checks
 * the queues of the kept handles every 2 ms, and only while there are any
 * (1-3 ms latency): one IPC_STAT per queue and tick; for a type other than
 * 0, a MSG_COPY scan of the queue when its state changed (at most every
 * 100 ms otherwise), which takes nothing.  Without MSG_COPY a typed poll
 * reports POLLIN for any message (a spurious wake-up, never a lost one).
 * A removed queue answers POLLIN|POLLERR (the read then says ENOENT).
 *
 * The kernel asks anew on every poll(2), and nothing tells the daemon when
 * a poller went away, so handles are bounded: one is notified (a harmless
 * spurious wake-up: a poller still there asks again) after 30 s, or when
 * its user keeps too many: a user's new handle makes the oldest handle OF
 * THE SAME USER go when that user already keeps MQ_POLL_MAX_PER_USER, or
 * when all users keep MQ_POLL_MAX and this user MQ_POLL_RESERVED or more.
 * One user's polls thus never wake, let alone lose, another's; handles
 * stay under MQ_POLL_MAX + MQ_POLL_RESERVED x (users polling).  (A poll(2)
 * of more files than its user's share keeps waking itself: correct, but it
 * spins.)
 *
 * Locking: the handles have their own lock, never held across a system
 * call that can block, nor across a reply or a notification.
 */
#ifndef IPCFS_MQ_POLL_H
#define IPCFS_MQ_POLL_H

#include "blocking.h"

struct msgbufs;

/* Poll handles: a user keeps at most MQ_POLL_MAX_PER_USER; all users
 * together MQ_POLL_MAX, plus MQ_POLL_RESERVED per user polling. */
#define MQ_POLL_MAX 4096
#define MQ_POLL_MAX_PER_USER 1024
#define MQ_POLL_RESERVED 16

/* Starts the watcher thread; the checks use the per-thread buffers bufs
 * (msgbuf.h: stop the watcher before freeing them).  Returns 0 or
 * -errno. */
int mq_polls_start(struct mq_polls **out, struct msgbufs *bufs);

/* Stops the watcher and destroys the handles it kept (without
 * notification: the session is over). */
void mq_polls_stop(struct mq_polls *mp);

/*
 * Answers a poll on a receive file: POLLIN when a message of that type is
 * waiting.  When ph is not NULL, keeps it and calls
 * fuse_lowlevel_notify_poll(ph) once such a message arrives (or the queue
 * is removed, or the bounds above say so), then destroys it.  The caller
 * should answer POLLIN itself for an open whose message was already taken
 * (it reads the rest, then EOF): see mq_wait_delivered().
 */
void mq_poll_answer(struct blocking *b, fuse_req_t req, int msqid,
		    long type, struct fuse_pollhandle *ph);

#endif /* IPCFS_MQ_POLL_H */
