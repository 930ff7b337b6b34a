/*
 * msgbuf — per-thread message buffers.  The fast paths of the queue calls
 * (mq_wait.c) and the poll checks (mq_poll.c) run in libfuse's workers and
 * the poll watcher, and reuse one buffer per thread rather than allocate
 * one per call: it keeps the size of the largest call the thread served.
 * A waiter does not take it (a job owns a buffer of its own, fitted to the
 * job: waiter.h).
 *
 * The buffers hang on a thread-specific key made by msgbufs_new() and
 * deleted by msgbufs_free(); a thread's buffer is freed when the thread
 * exits.  Call msgbufs_free() once the threads that used it have ended
 * (libfuse's workers end with the session loop, the watcher at
 * mq_polls_stop()): it frees the calling thread's buffer, and the others'
 * would be left behind.
 */
#ifndef IPCFS_MSGBUF_H
#define IPCFS_MSGBUF_H

#include <stddef.h>

struct ipcore_msgbuf;
struct msgbufs;

/* Returns 0 or -errno. */
int msgbufs_new(struct msgbufs **out);
void msgbufs_free(struct msgbufs *mb);

/* The calling thread's buffer, with room for at least cap bytes of text;
 * *got (if not NULL) says how much.  NULL when out of memory. */
struct ipcore_msgbuf *msgbuf_get(struct msgbufs *mb, size_t cap,
				 size_t *got);

#endif /* IPCFS_MSGBUF_H */
