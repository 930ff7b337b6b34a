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
 * A give-back that has to wait (see below) takes a waiter of the user whose
 * call took the message.
 *
 * Interrupts: every waiting request registers fuse_req_interrupt_func(); an
 * interrupted caller gets EINTR at once, and a message or semaphore unit
 * taken at the instant its caller went away (fuse_reply_* fails) is given
 * back, so nothing is ever lost or taken on behalf of a caller who is gone.
 * The waiter leaves its system call on the real-time signal
 * SIGRTMIN + BLOCKING_SIGNAL_OFFSET (a no-op handler installed without
 * SA_RESTART by blocking_start(); waiter threads block every other signal),
 * sent again every millisecond until it has left the call.  Before
 * answering with what it took, a waiter also checks /proc/<tid>/status of
 * the caller: a caller with SIGKILL pending (killed, or a default-action
 * SIGINT/SIGTERM) gets EINTR and the unit or message is given back, which
 * closes most of the window before the kernel's INTERRUPT arrives.
 *
 * Giving back: a semaphore unit by the inverse semop; a message by sending
 * it again, with its type and bytes, with IPC_NOWAIT.  Both happen before
 * the interrupted caller is answered EINTR, so its call ends with the value
 * or the queue as it was (only when the reply itself fails does the giving
 * back come after it; on a full queue the waiter thread then waits for
 * room).  The compromise: a message given back goes to the back of its
 * queue (System V cannot put it in front), so in that rare race messages of
 * the same type sent meanwhile come before it, and its sender pid and time
 * become the daemon's.  A message taken for nobody is only lost when the
 * queue is removed (then it would have been anyway) or when the daemon stops
 * while the queue stays full (reported with fuse_log).
 * It is also lost when no waiter can be had for a give-back that must wait
 * for room (the user whose call took it is at its limit, see LIMITS): only
 * a user who can receive from the queue, and so could have taken the
 * message and thrown it away anyway, can bring that about.
 *
 * Measured (2 cores): 2000 blocked callers cost ~11 KiB of daemon RSS each;
 * stat/readdir/read meanwhile answer in 0.6 ms (median); 2000 killed
 * callers are reaped in 0.3 s.  With the limits (3 users x 1100 blocked
 * `dd bs=1M` reads, on a loaded machine): 3 x 1024 wait, 3 x 76 get
 * EAGAIN; 12.6 KiB of RSS and 118 KiB of address space per waiter (1141
 * KiB before receive buffers were cut to MSGMAX); 3072 killed callers
 * reaped in 0.9 s.
 *
 * A completed send stays completed: its close succeeds even if its caller
 * was interrupted at that instant.  A completed Z (wait for zero) of an
 * interrupted caller answers EINTR (nothing was taken).
 *
 * SEM_UNDO is not offered: the undo would belong to the daemon, not to the
 * caller, and would run when the daemon exits.
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
 * inode (inode.c does this: NODE_DYNAMIC).  Reads take no inode lock
 * (direct_io), so receive files need nothing of the kind.  Tested by
 * test_p_blocks_until_v_by_another_process and
 * test_concurrent_senders_on_a_full_queue.
 *
 * Every function may be called from any thread at any time between
 * blocking_start() and blocking_stop(), concurrently.
 *
 * Errors: a removed object (EIDRM, or EINVAL for a stale id) is ENOENT; an
 * interrupted wait EINTR; would-block under O_NONBLOCK EAGAIN; a value
 * over SEMVMX ERANGE.  Permissions are the caller's (ops.c checks them
 * with access.h before calling these): the daemon runs as root.
 */
#ifndef IPCFS_BLOCKING_H
#define IPCFS_BLOCKING_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>

struct blocking;

/* The shared pool of waiters (see LIMITS above). */
#define BLOCKING_MAX_WAITERS 8192

/* Default per-user limit: 1/8 of the pool, ~13 MiB of RSS and 1024
 * threads; eight users at their limit fill the pool. */
#define BLOCKING_MAX_WAITERS_PER_USER 1024

/* Waits a user always gets, even with the pool full. */
#define BLOCKING_RESERVED_WAITERS 16

/* Poll handles: a user keeps at most BLOCKING_MAX_POLLS_PER_USER; all
 * users together BLOCKING_MAX_POLLS, plus BLOCKING_RESERVED_POLLS per user
 * polling (see blocking_mq_poll). */
#define BLOCKING_MAX_POLLS 4096
#define BLOCKING_MAX_POLLS_PER_USER 1024
#define BLOCKING_RESERVED_POLLS 16

/* The waiters' wake-up signal is SIGRTMIN + this. */
#define BLOCKING_SIGNAL_OFFSET 3

/* The limits of LIMITS above; 0 in a field means its default. */
struct blocking_limits {
	unsigned int max_waiters;      /* BLOCKING_MAX_WAITERS */
	unsigned int max_per_user;     /* BLOCKING_MAX_WAITERS_PER_USER */
};

/* Creates the module's state (the poll watcher thread) and installs the
 * wake-up signal's handler.  Call before the session loop starts, once per
 * process.  limits may be NULL (the defaults).  Returns 0 or -errno. */
int blocking_start(struct blocking **out, struct fuse_session *se,
		   const struct blocking_limits *limits);

/* Ends every pending wait (their callers get EINTR), joins the threads and
 * frees the state.  Call after the session loop has returned. */
void blocking_stop(struct blocking *b);

/*
 * Adds delta to element num of set semid (P < 0, V > 0, Z == 0) and, on
 * success, answers req with fuse_reply_write(req, ack_size), ack_size being
 * the number of bytes the caller wrote to the op file.  A P that has to
 * wait takes its units only when they are all there (one semop), so an
 * interrupted P leaves the value as it was.  A V beyond SEMVMX is ERANGE.
 */
void blocking_sem_op(struct blocking *b, fuse_req_t req, int semid,
		     unsigned short num, short delta, bool nonblock,
		     size_t ack_size);

/*
 * Sends len bytes at data (copied before return) with type to queue msqid:
 * the message of a send file, at its close (a FLUSH, see mq_files.h), so
 * success is answered fuse_reply_err(req, 0).  A message longer than the
 * queue can ever hold is EMSGSIZE, never truncated: longer than MSGMAX, or
 * than the queue's msg_qbytes (which the kernel would wait on forever).
 * type must be > 0 (else EINVAL).
 */
void blocking_mq_send(struct blocking *b, fuse_req_t req, int msqid,
		      long type, const void *data, size_t len, bool nonblock);

/*
 * Sends the same for a caller that is not waiting for the outcome (a
 * writer that exits without closing, see mq_files.h): at once when there
 * is room, else from a waiter counted for uid (LIMITS) that waits for room
 * until the queue is removed or the daemon stops.  A message no waiter
 * can be had for is dropped and logged.
 */
void blocking_mq_send_detached(struct blocking *b, uid_t uid, int msqid,
			       long type, const void *data, size_t len);

/*
 * What an open receive file keeps between its reads: read and written under
 * the module's lock (a waiter may be filling it), freed by
 * blocking_rx_free() at release.  The kernel sends no release while a read
 * is in progress, so it stays valid while a read of its open waits.
 */
struct blocking_rx {
	bool delivered; /* the one message of this open is taken */
	char *rest;     /* the part of it no read has returned yet */
	size_t rest_len, rest_off;
};

/* Drops what a reader never read (the message was taken: it is gone). */
void blocking_rx_free(struct blocking_rx *rx);

/*
 * Receives one message (type as msgrcv(2)) for a read of size bytes and
 * answers fuse_reply_buf with its first size bytes.  The message is taken
 * whole whatever size is (up to MSGMAX, or longer should MSGMAX have been
 * lowered since it was sent): the part that does not fit stays in rx, and
 * the next reads of that open return it in pieces, then end of file (each
 * open of a receive file yields at most one message).  rx is read and
 * written under the module's lock.  Serve receive files with direct_io, so
 * that every read reaches the daemon with the caller's size.  A read of 0
 * bytes takes nothing.
 */
void blocking_mq_receive(struct blocking *b, fuse_req_t req, int msqid,
			 long type, size_t size, bool nonblock,
			 struct blocking_rx *rx);

/*
 * Answers a poll on a receive file: POLLIN when a message of that type is
 * waiting.  When ph is not NULL, keeps it and calls
 * fuse_lowlevel_notify_poll(ph) once such a message arrives (or the queue
 * is removed), then destroys it.
 *
 * System V gives no wake-up, so a watcher thread checks the queues of the
 * kept handles every 2 ms, and only while there are any (1-3 ms latency):
 * one IPC_STAT per queue and tick; for a type other than 0, a MSG_COPY scan
 * of the queue when its state changed (at most every 100 ms otherwise),
 * which takes nothing.  Without MSG_COPY a typed poll reports POLLIN for
 * any message (a spurious wake-up, never a lost one).  A removed queue
 * answers POLLIN|POLLERR (the read then says ENOENT).  The kernel asks
 * anew on every poll(2), and nothing tells the daemon when a poller went
 * away, so handles are bounded: one is notified (a harmless spurious
 * wake-up: a poller still there asks again) after 30 s, or when its user
 * keeps too many: a user's new handle makes the oldest handle OF THE SAME
 * USER go when that user already keeps BLOCKING_MAX_POLLS_PER_USER, or when
 * all users keep BLOCKING_MAX_POLLS and this user BLOCKING_RESERVED_POLLS
 * or more.  One user's polls thus never wake, let alone lose, another's;
 * handles stay under BLOCKING_MAX_POLLS + BLOCKING_RESERVED_POLLS x (users
 * polling).  (A poll(2) of more files than its user's share keeps waking
 * itself: correct, but it spins.)  The caller should answer POLLIN
 * itself for an open whose message was already taken (it reads the rest,
 * then EOF):
 * see blocking_mq_delivered().
 */
void blocking_mq_poll(struct blocking *b, fuse_req_t req, int msqid,
		      long type, struct fuse_pollhandle *ph);

/* Reads an open's delivered flag (rx as given to blocking_mq_receive)
 * under the module's lock: a waiter may be setting it at that moment. */
bool blocking_mq_delivered(struct blocking *b, const struct blocking_rx *rx);

#endif /* IPCFS_BLOCKING_H */
