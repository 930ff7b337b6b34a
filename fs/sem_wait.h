/*
 * sem_wait — the semaphore policy of the waiting calls (blocking.h): a P,
 * V or Z written to an op file, made with IPC_NOWAIT in the worker first,
 * then, if it would block, by a waiter (waiter.h).
 *
 * Giving back: a unit taken for a caller who is gone (interrupted at the
 * instant its P completed, or whose reply failed) is given back by the
 * inverse semop, before the interrupted caller is answered EINTR, so its
 * call ends with the value as it was (only when the reply itself fails
 * does the giving back come after it).  When the inverse semop cannot be
 * made at once (others raised the value near SEMVMX meanwhile), it is
 * tried again every millisecond until it is done or blocking_stop(); a
 * unit that could not be given back is reported with fuse_log.
 *
 * A completed Z (wait for zero) of an interrupted caller answers EINTR
 * (nothing was taken).
 *
 * SEM_UNDO is not offered: the undo would belong to the daemon, not to the
 * caller, and would run when the daemon exits.
 */
#ifndef IPCFS_SEM_WAIT_H
#define IPCFS_SEM_WAIT_H

#include "blocking.h"
#include <stdbool.h>
#include <stddef.h>

/*
 * Adds delta to element num of set semid (P < 0, V > 0, Z == 0) and, on
 * success, answers req with fuse_reply_write(req, ack_size), ack_size being
 * the number of bytes the caller wrote to the op file.  A P that has to
 * wait takes its units only when they are all there (one semop), so an
 * interrupted P leaves the value as it was.  A V beyond SEMVMX is ERANGE.
 */
void sem_wait_op(struct blocking *b, fuse_req_t req, int semid,
		 unsigned short num, short delta, bool nonblock,
		 size_t ack_size);

#endif /* IPCFS_SEM_WAIT_H */
