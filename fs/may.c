/* Who may do what through the files (see may.h). */
#include "may.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int may_ipc(fuse_req_t req, const struct node_ref *n, unsigned want)
{
	struct caller c;
	bool ok;

	ipcfs_caller(&c, req);
	ok = caller_may(&c, obj_perm(&n->o), want);
	caller_done(&c);
	return ok ? 0 : -EACCES;
}

int may_control(fuse_req_t req, const struct obj *o)
{
	struct caller c;
	bool ok;

	ipcfs_caller(&c, req);
	ok = caller_may_control(&c, obj_perm(o));
	caller_done(&c);
	return ok ? 0 : -EPERM;
}

/* One caller for every check of the call: /proc/<tid>/status is read at
 * most once (access.h). */
int may_attr(fuse_req_t req, const struct node_ref *n, bool reading,
	     bool writing)
{
	const struct file_def *f = n->file;
	const struct ipcore_perm *perm = obj_perm(&n->o);
	struct caller c;
	int rc = 0;

	if (writing && !f->set)
		return -EACCES;
	ipcfs_caller(&c, req);
	if (reading && (f->access & ACC_READ) &&
	    !caller_may(&c, perm, MAY_READ))
		rc = -EACCES;
	else if (writing && (f->access & ACC_WRITE) &&
		 !caller_may(&c, perm, MAY_WRITE))
		rc = -EACCES;
	else if (writing && (f->access & ACC_OWNER) &&
		 !caller_may_control(&c, perm))
		rc = -EPERM;
	caller_done(&c);
	return rc;
}

static bool reads(int flags)
{
	return (flags & O_ACCMODE) != O_WRONLY;
}

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

int may_open_attr(fuse_req_t req, const struct node_ref *n, int flags)
{
	return may_attr(req, n, reads(flags), writes(flags));
}

/* shmat(): read, and read+write to write. */
int may_open_data(fuse_req_t req, const struct node_ref *n, int flags)
{
	return may_ipc(req, n, writes(flags) || (flags & O_TRUNC) ?
				       MAY_READ | MAY_WRITE :
				       MAY_READ);
}

/* A Z needs read, a P or V write (alter): either, judged for one caller. */
int may_open_op(fuse_req_t req, const struct node_ref *n, int flags)
{
	const struct ipcore_perm *perm = obj_perm(&n->o);
	struct caller c;
	bool ok;

	if (reads(flags))
		return -EACCES;
	ipcfs_caller(&c, req);
	ok = caller_may(&c, perm, MAY_READ) || caller_may(&c, perm, MAY_WRITE);
	caller_done(&c);
	return ok ? 0 : -EACCES;
}

int may_open_send(fuse_req_t req, const struct node_ref *n, int flags)
{
	return reads(flags) ? -EACCES : may_ipc(req, n, MAY_WRITE);
}

/* msgrcv(MSG_COPY) (peek, messages/) needs read, as msgrcv. */
int may_open_msgrcv(fuse_req_t req, const struct node_ref *n, int flags)
{
	return writes(flags) ? -EACCES : may_ipc(req, n, MAY_READ);
}

/* limits/ and usage/: anyone may run ipcs -l and ipcs -u; read-only. */
int may_open_info(fuse_req_t req, const struct node_ref *n, int flags)
{
	(void)req, (void)n;
	return writes(flags) || (flags & O_TRUNC) ? -EACCES : 0;
}

/*
 * access(2), test -r/-w, and the kernel's question before chdir: answered
 * with the rules the calls themselves follow.  Files: as opening them for
 * reading (R_OK) or writing (W_OK); nothing is executable.  Directories:
 * search and read as opendir; write only where mkdir works (<kind>/).
 */
int may_access(fuse_req_t req, const struct node_ref *n, int mask)
{
	const struct file_ops *ops;
	int rc = 0;

	if (mask == F_OK)
		return 0;
	if (node_is_file(&n->p)) {
		ops = file_ops(n->file);
		if (mask & X_OK)
			rc = -EACCES;
		if (!rc && (mask & R_OK))
			rc = ops->may_open(req, n, O_RDONLY);
		if (!rc && (mask & W_OK))
			rc = ops->may_open(req, n, O_WRONLY);
		return rc;
	}
	if ((mask & W_OK) && n->p.node != NODE_KIND)
		rc = -EACCES;
	if (!rc && (mask & (R_OK | X_OK)) && node_has_obj(&n->p))
		rc = may_ipc(req, n, MAY_READ);
	return rc;
}
