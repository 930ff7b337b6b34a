/*
 * may — who may do what through the files: which of the kernel's rules
 * (access.h: ipcperms(), IPC_SET/IPC_RMID, capabilities) each call on a
 * node needs.  The rules themselves are access.c's; this is the policy
 * that picks them, in one place.
 *
 * The system call behind a file is checked as the kernel checks it, when
 * it is made: an open checks what is known at open (may_open_*), and the
 * calls are checked again when they are made (read, write), as the kernel
 * checks every semop and msgrcv; a data file is checked once, as shmat()
 * is: its reads and writes are those of an attachment.
 */
#ifndef IPCFS_MAY_H
#define IPCFS_MAY_H

#include "tree.h"

/* The IPC permission want (MAY_READ, MAY_WRITE) on n's object, for the
 * caller of req: 0 or -EACCES, ipcperms()'s answer. */
int may_ipc(fuse_req_t req, const struct node_ref *n, unsigned want);
/* IPC_SET and IPC_RMID on o: 0 or -EPERM. */
int may_control(fuse_req_t req, const struct obj *o);
/* What reading and writing an attribute file need (its ACC_* bits).
 * Writing one that has no setter is refused outright. */
int may_attr(fuse_req_t req, const struct node_ref *n, bool reading,
	     bool writing);

/* What opening a file of each role with flags needs (file_ops'
 * may_open). */
int may_open_attr(fuse_req_t req, const struct node_ref *n, int flags);
int may_open_data(fuse_req_t req, const struct node_ref *n, int flags);
int may_open_op(fuse_req_t req, const struct node_ref *n, int flags);
int may_open_send(fuse_req_t req, const struct node_ref *n, int flags);
/* receive, peek, messages/<i> and <i>.type: all msgrcv()s. */
int may_open_msgrcv(fuse_req_t req, const struct node_ref *n, int flags);
int may_open_info(fuse_req_t req, const struct node_ref *n, int flags);

/* access(2) of mask (R_OK, W_OK, X_OK; F_OK) on n: 0 or -EACCES. */
int may_access(fuse_req_t req, const struct node_ref *n, int mask);

#endif /* IPCFS_MAY_H */
