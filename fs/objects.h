/*
 * objects — administering objects through the tree: mkdir <kind>/<key>
 * creates one as the caller would (semget/shmget/msgget with IPC_CREAT |
 * IPC_EXCL, the caller owner and creator), rmdir removes one (IPC_RMID),
 * chmod and chown of its directory are IPC_SET, and truncate(2) of its
 * files is what each file's role makes of it (files.h).  Each answers
 * the request.
 */
#ifndef IPCFS_OBJECTS_H
#define IPCFS_OBJECTS_H

#include "tree.h"

/* mkdir name in parent (resolved). */
void objects_mkdir(fuse_req_t req, const struct node_ref *parent,
		   const char *name, mode_t mode);
/* rmdir name in parent (resolved). */
void objects_rmdir(fuse_req_t req, const struct node_ref *parent,
		   const char *name);
/* setattr of node ino, n (resolved): the fields valid of attr. */
void objects_setattr(fuse_req_t req, fuse_ino_t ino, struct node_ref *n,
		     const struct stat *attr, int valid);

#endif /* IPCFS_OBJECTS_H */
