/* See fs_errno.h. */
#include "fs_errno.h"

#include <errno.h>
#include <limits.h>

#ifndef EHWPOISON
#define EHWPOISON 133
#endif

int fs_errno(int rc, enum ipcore_op op)
{
	/* A read smaller than the next message: the message stays queued, and
	 * EMSGSIZE says why better than E2BIG ("argument list too long"). */
	if (rc == -E2BIG && op == IPCORE_OP_RECEIVE)
		return EMSGSIZE;
	/* A store into a segment's data file that has no page to be had
	 * (MADV_POPULATE_WRITE says EFAULT where the store would have been
	 * SIGBUS: no free huge page, a NORESERVE segment beyond memory; see
	 * shm_guard.c) is "no space", what write(2) to a full tmpfs says.
	 * A page with a memory error (EHWPOISON) is an I/O error. */
	if (op == IPCORE_OP_ACCESS && rc == -EFAULT)
		return ENOSPC;
	if (op == IPCORE_OP_ACCESS && rc == -EHWPOISON)
		return EIO;
	switch (ipcore_error_kind(rc, op)) {
	case IPCORE_ERR_NONE:
		return 0;
	case IPCORE_ERR_EXISTENTIAL:
		return rc == -EEXIST ? EEXIST : ENOENT;
	case IPCORE_ERR_PERMISSIONS:
		return rc == -EPERM ? EPERM : EACCES;
	case IPCORE_ERR_BUSY:
		return EAGAIN;
	case IPCORE_ERR_NOT_ATTACHED:
		return EINVAL;
	case IPCORE_ERR_RANGE:
		return rc == -ERANGE ? ERANGE : EINVAL;
	case IPCORE_ERR_MEMORY:
		return -rc;
	case IPCORE_ERR_INTERRUPTED:
		return EINTR;
	case IPCORE_ERR_OTHER:
		break;
	}
	return rc < 0 && rc != INT_MIN ? -rc : EIO;
}
