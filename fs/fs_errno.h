/*
 * The errno a file user expects for a failure of the core: the one place
 * in fs/ where ipcore_error_kind() becomes an errno for fuse_reply_err().
 */
#ifndef IPCFS_FS_ERRNO_H
#define IPCFS_FS_ERRNO_H

#include "ipcore.h"

/* The errno for rc (a negated errno from the core) of operation op, as a
 * positive value for fuse_reply_err(); 0 for rc >= 0. */
int fs_errno(int rc, enum ipcore_op op);

#endif /* IPCFS_FS_ERRNO_H */
