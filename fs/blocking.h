/*
 * blocking — what the calls of ipcfs that can wait have in common: their
 * state (struct blocking), started and stopped together, and their
 * contract.  The calls themselves are in
 *
 *	sem_wait.h   semaphore P/V/Z written to an op file
 *	mq_wait.h    message send (at close) and receive
 *	mq_poll.h    poll on a receive file
 *
 * over the waiter engine (waiter.h: slots, threads, interrupts).
 *
 * None of them holds a libfuse worker.  Each takes the request and answers
 * it itself: at once when the call can complete without waiting (or
 * fails), otherwise later, from a waiter thread.  The libfuse handler that
 * calls it must return straight after and must not touch req again.
 *
 * Fast path: the call is first made with IPC_NOWAIT in the calling worker;
 * only one that would block is handed to a waiter.  A waiter is one thread
 * with a small stack (64 KiB; more under ASan) that makes the blocking
 * system call and answers.  A thread per blocked caller is the honest way
 * for semaphores (System V gives nothing to poll), and is used for queues
 * too so that a message goes straight to the first waiting reader, as the
 * kernel hands it.
 *
 * LIMITS.  A waiter costs the daemon one thread (a 64 KiB stack mapping,
 * ~13 KiB of RSS measured) and a message buffer of at most MSGMAX bytes
 * (a receive's buffer is cut to MSGMAX, and grown only if MSGMAX is raised
 * while it waits).  Waiters are counted per user (the caller's uid as
 * fuse_req_ctx() gives it when the request arrives), so that no user can
 * use them all up and make another user's call fail:
 *
 *  - a user has at most max_per_user (blocking_start(); default
 *    BLOCKING_MAX_WAITERS_PER_USER) calls waiting at once;
 *  - the shared pool holds max_waiters (default BLOCKING_MAX_WAITERS); once
 *    it is full, a user who has fewer than BLOCKING_RESERVED_WAITERS calls
 *    waiting still gets one (the reserve), so a user with a few waits is
 *    never refused because others filled the pool.  Hence the number of
 *    waiters, and of threads, never exceeds
 *        max_waiters + BLOCKING_RESERVED_WAITERS x (users waiting);
 *  - any other call that would wait is answered EAGAIN at once, having
 *    done nothing: EAGAIN as for fork(2) and pthread_create(2) at
 *    RLIMIT_NPROC ("temporarily": it succeeds again once one of the
 *    user's waits ends); a caller without O_NONBLOCK can tell it from
 *    would-block.  The same EAGAIN when the system refuses a new thread
 *    (pthread_create fails): never a hang.
 *
 * Root is counted like any user (raise the limit with the mount option).
 * A give-back that has to wait (mq_wait.h) takes a waiter of the user
 * whose call took the message.  (The counting is quota.h's, with a pool.)
 *
 * Interrupts: an interrupted caller gets EINTR at once, and a message or
 * semaphore unit taken at the instant its caller went away (fuse_reply_*
 * fails, or the caller is being killed) is given back, so nothing is ever
 * lost or taken on behalf of a caller who is gone.  How: waiter.h; what
 * giving back means for each: sem_wait.h, mq_wait.h.
 *
 * Measured (2 cores): 2000 blocked callers cost ~11 KiB of daemon RSS each;
 * stat/readdir/read meanwhile answer in 0.6 ms (median); 2000 killed
 * callers are reaped in 0.3 s.  With the limits (3 users x 1100 blocked
 * `dd bs=1M` reads, on a loaded machine): 3 x 1024 wait, 3 x 76 get
 * EAGAIN; 12.6 KiB of RSS and 118 KiB of address space per waiter (1141
 * KiB before receive buffers were cut to MSGMAX); 3072 killed callers
 * reaped in 0.9 s.
 *
 * nonblock is the caller's O_NONBLOCK (fi->flags): the call then never
 * waits and answers EAGAIN where it would have.
 *
 * WHAT THE CALLER MUST DO for files whose writes can wait (sem op; mq send
 * before its message was sent at close, see mq_files.h: a FLUSH holds no
 * inode lock while it waits, and send files keep the cure below anyway):
 * the kernel holds the inode's i_rwsem for the whole of a FUSE write (shared
 * with FOPEN_PARALLEL_DIRECT_WRITES within i_size, exclusive otherwise),
 * and an O_TRUNC open (`echo -1 > op`, Python's open(p, "w")) takes it
 * exclusively in do_truncate(), uninterruptibly.  So while one P (or one
 * send on a full queue) waits, a V or another send through the SAME inode
 * hangs in the kernel in D state, unkillable, and never reaches the daemon
 * (measured: `echo 1 > op` never arrives while `echo -1 > op` waits).  The
 * cure, measured to work: give such files a fresh node id on every lookup
 * (fuse_entry_param.ino unique per LOOKUP, entry timeout 0, the stable
 * number in attr.st_ino; FORGET frees it), so that every open has its own
 * inode (ino.c does this: NODE_DYNAMIC).  Reads take no inode lock
 * (direct_io), so receive files need nothing of the kind.  Tested by
 * test_p_blocks_until_v_by_another_process and
 * test_concurrent_senders_on_a_full_queue.
 *
 * Every call may be made from any thread at any time between
 * blocking_start() and blocking_stop(), concurrently.
 *
 * Errors: a removed object (EIDRM, or EINVAL for a stale id) is ENOENT; an
 * interrupted wait EINTR; would-block under O_NONBLOCK EAGAIN; a value
 * over SEMVMX ERANGE: the core's errors through fs_errno.h's table.
 * Permissions are the caller's (may.c checks them with access.h before
 * calling these): the daemon runs as root.
 */
#ifndef IPCFS_BLOCKING_H
#define IPCFS_BLOCKING_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

struct mq_polls;
struct msgbufs;
struct waiters;

/* The shared pool of waiters (see LIMITS above). */
#define BLOCKING_MAX_WAITERS 8192

/* Default per-user limit: 1/8 of the pool, ~13 MiB of RSS and 1024
 * threads; eight users at their limit fill the pool. */
#define BLOCKING_MAX_WAITERS_PER_USER 1024

/* Waits a user always gets, even with the pool full. */
#define BLOCKING_RESERVED_WAITERS 16

/* The waiters' wake-up signal is SIGRTMIN + this. */
#define BLOCKING_SIGNAL_OFFSET 3

/* The limits of LIMITS above; 0 in a field means its default. */
struct blocking_limits {
	unsigned int max_waiters;      /* BLOCKING_MAX_WAITERS */
	unsigned int max_per_user;     /* BLOCKING_MAX_WAITERS_PER_USER */
};

/* The state of the waiting calls: a handle to the others of fs/; the
 * calls' own files reach its parts. */
struct blocking {
	struct waiters *waiters; /* the engine (waiter.h) */
	struct mq_polls *polls;  /* poll handles, their watcher (mq_poll.h) */
	struct msgbufs *msgbufs; /* the fast paths' buffers (msgbuf.h) */
};

/* Creates the state (the engine, the poll watcher thread, the per-thread
 * message buffers' key) and installs
 * the wake-up signal's handler.  Call before the session loop starts.
 * limits may be NULL (the defaults).  Returns 0 or -errno. */
int blocking_start(struct blocking **out, struct fuse_session *se,
		   const struct blocking_limits *limits);

/* Ends every pending wait (their callers get EINTR) and poll, joins the
 * threads and frees the state.  Call after the session loop has
 * returned. */
void blocking_stop(struct blocking *b);

#endif /* IPCFS_BLOCKING_H */
