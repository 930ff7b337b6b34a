/*
 * The one place where an errno value gets a meaning (see ipcore.h).
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>

/* An op value that matches every operation. */
#define ANY_OP (-1)

struct error_row {
	int err;
	int op; /* an enum ipcore_op, or ANY_OP */
	enum ipcore_error_kind kind;
};

/*
 * Searched from the top; the first row whose errno and op match wins, so
 * rows for a particular op must come before an ANY_OP row of the same
 * errno.  An errno not in the table is IPCORE_ERR_OTHER.
 */
static const struct error_row error_table[] = {
	/* No such key (get without IPC_CREAT), or the object was removed
	 * under us, or IPC_CREAT|IPC_EXCL found one already there. */
	{ ENOENT, ANY_OP, IPCORE_ERR_EXISTENTIAL },
	{ EIDRM, ANY_OP, IPCORE_ERR_EXISTENTIAL },
	{ EEXIST, ANY_OP, IPCORE_ERR_EXISTENTIAL },

	/*
	 * EINVAL is the overloaded one.  shmdt() says EINVAL when nothing is
	 * attached at the address, and the core's bounded read/write say it
	 * for an unattached mapping: both are "not attached".
	 */
	{ EINVAL, IPCORE_OP_DETACH, IPCORE_ERR_NOT_ATTACHED },
	{ EINVAL, IPCORE_OP_ACCESS, IPCORE_ERR_NOT_ATTACHED },
	/* From a get, EINVAL is a bad size: nsems above SEMMSL or above an
	 * existing set's, a segment size outside SHMMIN..SHMMAX or above an
	 * existing segment's.  That is a value out of range. */
	{ EINVAL, IPCORE_OP_GET, IPCORE_ERR_RANGE },
	/*
	 * Every call that takes an id says EINVAL when the id names no object
	 * (sysv_ipc raises ExistentialError).  The kernel also uses EINVAL
	 * for a few bad arguments in these calls (a semaphore number outside
	 * the set in semctl, a message over MSGMAX, an unaligned shmat
	 * address); it gives no way to tell them apart, so callers that can
	 * check such arguments first should do so.
	 */
	{ EINVAL, IPCORE_OP_STAT, IPCORE_ERR_EXISTENTIAL },
	{ EINVAL, IPCORE_OP_SET, IPCORE_ERR_EXISTENTIAL },
	{ EINVAL, IPCORE_OP_REMOVE, IPCORE_ERR_EXISTENTIAL },
	{ EINVAL, IPCORE_OP_SEMOP, IPCORE_ERR_EXISTENTIAL },
	{ EINVAL, IPCORE_OP_ATTACH, IPCORE_ERR_EXISTENTIAL },
	{ EINVAL, IPCORE_OP_SEND, IPCORE_ERR_EXISTENTIAL },
	{ EINVAL, IPCORE_OP_RECEIVE, IPCORE_ERR_EXISTENTIAL },

	/*
	 * The core's own EACCES for a write through a read-only mapping is not
	 * an object permission: sysv_ipc raises a plain OSError for it, so it
	 * is reported as is.
	 */
	{ EACCES, IPCORE_OP_ACCESS, IPCORE_ERR_OTHER },
	/* The object's mode refuses the call (EACCES), or the caller is not
	 * its owner or creator for IPC_SET/IPC_RMID (EPERM). */
	{ EACCES, ANY_OP, IPCORE_ERR_PERMISSIONS },
	{ EPERM, ANY_OP, IPCORE_ERR_PERMISSIONS },

	/* Would block under IPC_NOWAIT, or a semtimedop timeout expired
	 * (EAGAIN); no matching message under IPC_NOWAIT (ENOMSG). */
	{ EAGAIN, ANY_OP, IPCORE_ERR_BUSY },
	{ ENOMSG, ANY_OP, IPCORE_ERR_BUSY },

	/*
	 * ENOMEM: the kernel could not allocate the object or the mapping.
	 * ENOSPC: a get would exceed a system-wide limit (SEMMNI, SEMMNS,
	 * SHMMNI, SHMALL, MSGMNI).  To a user both mean "the system has no
	 * room for what you asked" and no retry with other arguments of the
	 * same call helps, so ENOSPC is a MemoryError too rather than an
	 * OSError that would look like a full disk.
	 */
	{ ENOMEM, ANY_OP, IPCORE_ERR_MEMORY },
	{ ENOSPC, ANY_OP, IPCORE_ERR_MEMORY },

	/* A semaphore value outside 0..SEMVMX, or a shared memory range
	 * outside the segment (from the core's bounds checks). */
	{ ERANGE, ANY_OP, IPCORE_ERR_RANGE },
	/*
	 * semop() on a semaphore number outside the set says EFBIG.  Upstream
	 * sysv_ipc never meets it (it only uses element 0), and for a set it
	 * is a bad argument, like ERANGE, rather than an opaque OSError.
	 */
	{ EFBIG, IPCORE_OP_SEMOP, IPCORE_ERR_RANGE },

	/* A signal arrived during a wait; the caller runs its handlers. */
	{ EINTR, ANY_OP, IPCORE_ERR_INTERRUPTED },

	/*
	 * A message longer than the receive buffer (it stays queued), or more
	 * semaphore operations than SEMOPM.  sysv_ipc raises OSError with
	 * E2BIG, so this row only makes the default explicit.
	 */
	{ E2BIG, ANY_OP, IPCORE_ERR_OTHER },
};

enum ipcore_error_kind ipcore_error_kind(int rc, enum ipcore_op op)
{
	size_t i;

	if (rc >= 0)
		return IPCORE_ERR_NONE;
	if (rc == INT_MIN)
		return IPCORE_ERR_OTHER;

	for (i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
		const struct error_row *row = &error_table[i];

		if (row->err == -rc &&
		    (row->op == ANY_OP || row->op == (int)op))
			return row->kind;
	}
	return IPCORE_ERR_OTHER;
}
