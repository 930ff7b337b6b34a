/*
 * waiter — the engine under the calls that wait (blocking.h): a waiter is
 * a slot and a thread with a small stack that makes one blocking system
 * call for one request and answers it.  The engine knows nothing of
 * semaphores or queues; the policies (sem_wait.c, mq_wait.c) fill in a
 * slot's job and give it a function to run.
 *
 * Slots.  waiter_get() counts the slot for a user (LIMITS in blocking.h)
 * and puts it in the active list; waiter_launch() starts its thread, which
 * runs the job and ends; the engine's reaper thread then joins it and the
 * slot goes to the free list.  Slots are never freed before
 * waiters_stop(), so the data given to fuse_req_interrupt_func() stays
 * valid whenever libfuse calls back; a callback for a request the slot no
 * longer serves sees w->req != req and does nothing.
 *
 * Interrupts: every waiting request registers fuse_req_interrupt_func(); an
 * interrupted caller gets EINTR at once.  The waiter leaves its system call
 * on the real-time signal SIGRTMIN + BLOCKING_SIGNAL_OFFSET (a no-op
 * handler installed without SA_RESTART by waiters_start(); waiter threads
 * block every other signal), sent again every millisecond until it has
 * left the call.  Before answering with what it took, a waiter also checks
 * /proc/<tid>/status of the caller (waiter_caller_gone()): a caller with
 * SIGKILL pending (killed, or a default-action SIGINT/SIGTERM) gets EINTR
 * and the unit or message is given back, which closes most of the window
 * before the kernel's INTERRUPT arrives.
 *
 * A job's function follows one pattern:
 *
 *	rc = waiter_call(w, false, the blocking call);  // -EINTR: interrupted
 *	waiter_caller_gone(w);                 // if the call took something
 *	req = waiter_take_req(w, &stop);       // interrupts do nothing now
 *	answer req, or give back what was taken if stop or the reply fails
 *
 * Locking: one mutex per engine guards every slot's req, interrupted and
 * in_call fields and the lists; the queue policy keeps its receive files'
 * state (struct blocking_rx) under it too (waiter_lock()).  It is never
 * held across a system call that can block, nor across a fuse_reply_* or
 * a notification.
 *
 * A job owns a message buffer of its own (w->buf), fitted to the job and
 * freed with the slot; it does not take its worker's (msgbuf.h), which
 * keeps the size of the largest call the worker served.
 */
#ifndef IPCFS_WAITER_H
#define IPCFS_WAITER_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

struct blocking_limits;
struct blocking_rx;
struct ipcore_msgbuf;
struct waiters;

struct waiter {
	/* First, and never changed once set: a late interrupt callback of a
	 * former request reads it without the lock while the slot is reused
	 * (waiter_get() clears only what follows). */
	struct waiters *ws;
	struct waiter *prev, *next; /* ws->active, or next in free/zombies */
	unsigned long gen;          /* bumped on every reuse of the slot */

	/* Under the engine's lock. */
	fuse_req_t req;    /* the request to answer; NULL once answered */
	pthread_t self;    /* the thread, stored by itself */
	bool interrupted;  /* the caller interrupted (or waiters_stop) */
	bool in_call;      /* inside a system call that may block */

	/* Fixed by waiter_get(). */
	pid_t caller;      /* thread id of the caller (0 without request) */
	uid_t uid;         /* the user it is counted for (see LIMITS) */

	/* The job, filled in by the policy before waiter_launch(). */
	void (*run)(struct waiter *w);
	int id;            /* the semaphore set or queue */
	unsigned short num;
	short delta;
	long type;
	size_t size;       /* ack (sem), the read's size (receive) */
	size_t len;        /* the message's length (send, give-back) */
	size_t cap;        /* receive: buf's capacity (MSGMAX) */
	struct blocking_rx *rx;
	struct ipcore_msgbuf *buf; /* the job's own, freed with the slot */
};

/* Creates an engine (and its reaper thread) and installs the wake-up
 * signal's handler.  limits may be NULL (the defaults).  Returns 0 or
 * -errno. */
int waiters_start(struct waiters **out, const struct blocking_limits *limits);

/* Ends every pending wait (their callers get EINTR; a give-back in
 * progress gives up), joins the threads and frees the engine. */
void waiters_stop(struct waiters *ws);

/* A request whose caller was interrupted before it reached us (it waited
 * for a worker) is answered EINTR at once, having done nothing: true. */
bool waiter_req_interrupted(fuse_req_t req);

/*
 * A slot for req's wait (or, req NULL, a wait nobody is answered for: a
 * give-back), counted for user uid, in the active list; or NULL with *err
 * set: EAGAIN when the user may not have one more (LIMITS in blocking.h),
 * ENOMEM, or EINTR when stopping.
 */
struct waiter *waiter_get(struct waiters *ws, fuse_req_t req, uid_t uid,
			  int *err);

/* Gives back slot w, whose thread never started (and frees w->buf):
 * returns its request (NULL for none) for the caller to answer; an
 * interrupt callback finds nothing to do from now on. */
fuse_req_t waiter_cancel(struct waiter *w);

/*
 * Starts the thread of waiter w, which runs run(w).  With a request,
 * registers the interrupt callback first: a request already interrupted
 * calls back at once and the thread then answers EINTR without waiting.
 * Returns 0, or, when the system refuses a thread, pthread_create()'s
 * error after cancelling w and answering its request (if any) EAGAIN:
 * not an errno of the core, so not fs_errno(), but what
 * pthread_create() says for a lack of resources, as for a user at its
 * limit (blocking.h).  Then w is no more the caller's.
 */
int waiter_launch(struct waiter *w, void (*run)(struct waiter *w));

/*
 * Makes call(w), a system call that may block, until it returns something
 * other than -EINTR (a stray signal, or a call to make again), or w must
 * not wait any more: then -EINTR.  answered says that w's caller was
 * answered already (a give-back): such a wait goes on once its caller
 * interrupted; every wait ends at waiters_stop().  The retry loop of
 * every job, written once.
 */
ssize_t waiter_call(struct waiter *w, bool answered,
		    ssize_t (*call)(struct waiter *w));

/* Marks w interrupted when its caller is being killed (see above); true
 * then.  Call after a wait took something, before waiter_take_req(). */
bool waiter_caller_gone(struct waiter *w);

/* Takes the request from w to answer it; *stop tells whether the caller
 * interrupted (or the engine is stopping).  From now on, an interrupt
 * finds nothing to do.  The _locked form is for a caller that holds
 * waiter_lock() (to decide more in the same hold). */
fuse_req_t waiter_take_req(struct waiter *w, bool *stop);
fuse_req_t waiter_take_req_locked(struct waiter *w, bool *stop);

/* The engine's lock (see Locking above). */
void waiter_lock(struct waiters *ws);
void waiter_unlock(struct waiters *ws);

/* Waits ns nanoseconds (less if a waiter leaves its call meanwhile), for
 * a try to be made again; false at once when the engine is stopping. */
bool waiter_pause(struct waiters *ws, int64_t ns);

#endif /* IPCFS_WAITER_H */
