/*
 * files — the files below an object directory: one table per kind (which
 * names, where they appear, who may read and write them, the attributes'
 * getters and setters), and what each kind of file (its role) does when
 * it is opened, read, written, flushed, released, polled or truncated:
 * one struct file_ops per role, so that what a file is can be read in one
 * place.
 *
 * The roles' operations live beside what they serve: attributes and the
 * root's limits/ and usage/ files in attr_files.c, the queue's files in
 * mq_file_ops.c, op and data files here; what opening each needs in
 * may.c; the handles of open files in open_files.c.
 */
#ifndef IPCFS_FILES_H
#define IPCFS_FILES_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stddef.h>

#include "access.h"
#include "kinds.h"

struct node_ref;

/* What a file is for, which decides how it is served (file_ops()). */
enum file_role {
	ROLE_ATTR,    /* text, read (and maybe written) through get/set */
	ROLE_OP,      /* sem op: write a delta */
	ROLE_DATA,    /* shm data: shm_data.c */
	ROLE_SEND,    /* mq send */
	ROLE_RECEIVE, /* mq receive */
	ROLE_PEEK,    /* mq peek: the next message, not taken (mq_files.h) */
	ROLE_MSG,     /* mq messages/<i>: a queued message's text */
	ROLE_MSG_TYPE, /* mq messages/<i>.type: its type */
	ROLE_INFO,    /* limits/<name>, usage/<name> (sysinfo.h) */
};

/* Where a file appears. */
#define IN_OBJ 1u   /* the object directory */
#define IN_ELEM 2u  /* sem/<key>/<n>/ */
#define IN_TYPE 4u  /* mq/<key>/type/<t>/ */
#define IN_MSGS 8u  /* mq/<key>/messages/ (named by position, not name) */

/* Who may do what (checked by may.c, access.h), and shown in the file's
 * mode from the object's mode. */
#define ACC_READ 1u   /* reading needs IPC read permission */
#define ACC_WRITE 2u  /* writing needs IPC write (alter) permission */
#define ACC_OWNER 4u  /* writing is IPC_SET: owner, creator, CAP_SYS_ADMIN */

/* How an attribute's number is written and parsed. */
enum attr_fmt {
	FMT_DEC, /* decimal */
	FMT_OCT, /* octal, with a leading 0 */
	FMT_UID, /* decimal; a user name is accepted on write */
	FMT_GID, /* decimal; a group name is accepted on write */
};

struct file_def {
	const char *name;
	enum file_role role;
	unsigned char where;  /* IN_* */
	unsigned char access; /* ACC_* */
	enum attr_fmt fmt;
	/* ROLE_ATTR: reads the value for element elem (0 where it has no
	 * meaning).  Returns 0 or -errno. */
	int (*get)(const struct obj *o, unsigned elem, long long *v);
	/* ROLE_ATTR, writable ones: stores v for who, whose access may.c
	 * has checked (ACC_*). */
	int (*set)(const struct obj *o, unsigned elem, long long v,
		   struct caller *who);
};

/*
 * What a role's files do.  The calls on an open file get its node as
 * tree_node() gives it (no system call made yet: n->o is not filled);
 * those that reach the object call file_call() first, which stats it and
 * checks the permission the call needs.  A NULL operation: read and write
 * answer EBADF, release and flush 0, poll "ready both ways".
 */
struct file_ops {
	/* What opening with flags (open(2)'s) needs, as far as it is known
	 * at open: 0 or -errno (may.c).  Also access(2)'s answer. */
	int (*may_open)(fuse_req_t req, const struct node_ref *n, int flags);
	/* Answers the open, allowed by may_open (n stat'ed). */
	void (*open)(fuse_req_t req, const struct node_ref *n,
		     struct fuse_file_info *fi);
	void (*read)(fuse_req_t req, struct node_ref *n, size_t size,
		     off_t off, struct fuse_file_info *fi);
	void (*write)(fuse_req_t req, struct node_ref *n, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi);
	/* close(2).  Without one the file is opened noflush: the kernel
	 * then spares itself the FLUSH. */
	void (*flush)(fuse_req_t req, struct node_ref *n,
		      struct fuse_file_info *fi);
	/* Frees what the open took, and answers. */
	void (*release)(fuse_req_t req, struct node_ref *n,
			struct fuse_file_info *fi);
	void (*poll)(fuse_req_t req, struct node_ref *n,
		     struct fuse_file_info *fi, struct fuse_pollhandle *ph);
	/* truncate(2) to size (n stat'ed): 0 or -errno.  NULL: only to 0,
	 * which changes nothing. */
	int (*truncate)(fuse_req_t req, const struct node_ref *n, off_t size);
	bool waits; /* its writes can wait: a new node per lookup (ino.h) */
	bool sized; /* st_size and st_blocks are the segment's */
};

/* The operations of f's role. */
const struct file_ops *file_ops(const struct file_def *f);

/* The file table of a kind, and its length. */
const struct file_def *file_table(enum ipcore_kind kind, size_t *count);
/* Finds name among the files of kind that appear in where; returns its
 * index or -1. */
int file_find(enum ipcore_kind kind, unsigned where, const char *name);
/* Finds the file of kind with role; returns its index or -1. */
int file_find_role(enum ipcore_kind kind, enum file_role role);
const struct file_def *file_get(enum ipcore_kind kind, unsigned index);
/* The definition of every file of limits/ and usage/. */
extern const struct file_def file_info;

/* Stats the object of an open file's node n for a call on it and checks
 * the IPC permission want (MAY_*, 0 for none) the call needs: 0, or
 * -errno (ENOENT once its object is gone, even if another one now has
 * its id). */
int file_call(fuse_req_t req, struct node_ref *n, unsigned want);

#endif /* IPCFS_FILES_H */
