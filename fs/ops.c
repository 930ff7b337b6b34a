/*
 * The low-level operations: libfuse's table, the session's init and
 * destroy, and thin handlers.  Each resolves the node it is given (tree.h)
 * and hands the request to what serves it: the tree (lookup, getattr,
 * listings), object administration (objects.h: mkdir, rmdir, setattr), or
 * the file's role (files.h: open, read, write, flush, release, poll).
 */
#include "ipcfs.h"
#include "blocking.h"
#include "listing.h"
#include "may.h"
#include "objects.h"
#include "tree.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Names                                                              */
/* ------------------------------------------------------------------ */

static void ipcfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct node_ref p, c;
	int rc = tree_resolve(fs, parent, &p);

	if (!rc)
		rc = tree_lookup(fs, &p, name, &c);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		tree_reply_entry(req, &c);
}

static void ipcfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	tree_forget(ipcfs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void ipcfs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		tree_forget(ipcfs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ipcfs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct node_ref n;
	int rc = tree_resolve(ipcfs_of(req), ino, &n);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		tree_reply_attr(req, &n);
}

static void ipcfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct node_ref n;
	int rc = tree_resolve(ipcfs_of(req), ino, &n);

	if (!rc)
		rc = may_access(req, &n, mask);
	fuse_reply_err(req, -rc);
}

/* ------------------------------------------------------------------ */
/* Directories                                                        */
/* ------------------------------------------------------------------ */

/* Listings are served by listing.c, from the offset alone: an open
 * directory keeps nothing, so open and release only check and answer. */

static void ipcfs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct node_ref n;
	int rc = tree_resolve(ipcfs_of(req), ino, &n);

	if (!rc && node_is_file(&n.p))
		rc = -ENOTDIR;
	/* The directories of an object are listed to those who may read it
	 * (IPC_STAT), as its mode shows; <kind>/ and by-id/ to everyone, as
	 * /proc/sysvipc. */
	if (!rc && node_has_obj(&n.p))
		rc = may_ipc(req, &n, MAY_READ);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_open(req, fi);
}

static void ipcfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct node_ref n;
	struct listing_dir d;
	int rc = tree_resolve(ipcfs_of(req), ino, &n);

	(void)fi;
	if (!rc && node_is_file(&n.p))
		rc = -ENOTDIR;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	d = (struct listing_dir){ .p = n.p, .type = n.type,
				  .o = node_has_obj(&n.p) ? &n.o : NULL };
	listing_readdir(req, &d, size, off);
}

static void ipcfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0);
}

/* ------------------------------------------------------------------ */
/* Objects: mkdir, rmdir, chmod, chown, truncate (objects.c)          */
/* ------------------------------------------------------------------ */

static void ipcfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct node_ref p;
	int rc = tree_resolve(ipcfs_of(req), parent, &p);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		objects_mkdir(req, &p, name, mode);
}

static void ipcfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node_ref p;
	int rc = tree_resolve(ipcfs_of(req), parent, &p);

	if (rc)
		fuse_reply_err(req, -rc);
	else
		objects_rmdir(req, &p, name);
}

static void ipcfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int valid, struct fuse_file_info *fi)
{
	struct node_ref n;
	int rc = tree_resolve(ipcfs_of(req), ino, &n);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		objects_setattr(req, ino, &n, attr, valid);
}

/* Names cannot be made or removed any other way. */
static void ipcfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EPERM);
}

static void ipcfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EPERM);
}

static void ipcfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void ipcfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EPERM);
}

static void ipcfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void ipcfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EPERM);
}

/* ------------------------------------------------------------------ */
/* Files: each call goes to the operations of the file's role          */
/* ------------------------------------------------------------------ */

static void ipcfs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	const struct file_ops *ops = NULL;
	struct node_ref n;
	int rc = tree_resolve(ipcfs_of(req), ino, &n);

	if (!rc && !node_is_file(&n.p))
		rc = -EISDIR;
	if (!rc) {
		ops = file_ops(n.file);
		rc = ops->may_open(req, &n, fi->flags);
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* Only a file that does something at close gets the kernel's
	 * FLUSH (send, mq_files.h). */
	fi->noflush = !ops->flush;
	ops->open(req, &n, fi);
}

/* The node of an open file, and its role's operations, without a system
 * call: NULL for a node that is not an open file's (then forgotten). */
static const struct file_ops *open_node(fuse_req_t req, fuse_ino_t ino,
					struct node_ref *n)
{
	if (tree_node(ipcfs_of(req), ino, n) || !node_is_file(&n->p))
		return NULL;
	return file_ops(n->file);
}

static void ipcfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct node_ref n;
	const struct file_ops *ops = open_node(req, ino, &n);

	if (ops && ops->read)
		ops->read(req, &n, size, off, fi);
	else
		fuse_reply_err(req, EBADF);
}

static void ipcfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct node_ref n;
	const struct file_ops *ops = open_node(req, ino, &n);

	if (ops && ops->write)
		ops->write(req, &n, buf, size, off, fi);
	else
		fuse_reply_err(req, EBADF);
}

static void ipcfs_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct node_ref n;
	const struct file_ops *ops = open_node(req, ino, &n);

	if (ops && ops->flush)
		ops->flush(req, &n, fi);
	else
		fuse_reply_err(req, 0);
}

static void ipcfs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct node_ref n;
	const struct file_ops *ops = open_node(req, ino, &n);

	if (ops && ops->release)
		ops->release(req, &n, fi);
	else
		fuse_reply_err(req, 0);
}

static void ipcfs_poll(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct node_ref n;
	const struct file_ops *ops = open_node(req, ino, &n);

	if (ops && ops->poll) {
		ops->poll(req, &n, fi, ph);
		return;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

/* ------------------------------------------------------------------ */
/* The session and its state                                          */
/* ------------------------------------------------------------------ */

static void ipcfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ipcfs *fs = userdata;

	/* O_TRUNC arrives with the open (shm_data_open zero-fills), not as
	 * a separate setattr. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Listings carry no attributes (they would be stale at once), and
	 * pages are never cached dirty: data goes to the segment. */
	conn->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS |
				  FUSE_CAP_READDIRPLUS_AUTO |
				  FUSE_CAP_WRITEBACK_CACHE);
	shm_data_init(fs->shm_data, conn);
}

/* At fuse_session_destroy(), after the unmount: the session's state goes
 * with it. */
static void ipcfs_destroy(void *userdata)
{
	ipcfs_state_free(userdata);
}

int ipcfs_state_init(struct ipcfs *fs, size_t shm_size,
		     unsigned int max_files_per_user)
{
	fs->shm_size = shm_size;
	fs->daemon_uid = geteuid();
	fs->daemon_gid = getegid();
	fs->started = time(NULL);
	access_userns_load(&fs->userns);
	ino_table_init(&fs->nodes);
	pthread_mutex_init(&fs->attr_text_lock, NULL);
	return open_table_init(&fs->opens, max_files_per_user);
}

void ipcfs_state_free(struct ipcfs *fs)
{
	/* The waiters first: a pending receive writes to its open's
	 * handle. */
	blocking_stop(fs->blocking);
	fs->blocking = NULL;
	open_table_free(&fs->opens);
	shm_data_destroy(fs->shm_data);
	fs->shm_data = NULL;
	ino_table_clear(&fs->nodes);
}

const struct fuse_lowlevel_ops ipcfs_ops = {
	.init = ipcfs_init,
	.destroy = ipcfs_destroy,
	.lookup = ipcfs_lookup,
	.forget = ipcfs_forget,
	.forget_multi = ipcfs_forget_multi,
	.getattr = ipcfs_getattr,
	.setattr = ipcfs_setattr,
	.mknod = ipcfs_mknod,
	.mkdir = ipcfs_mkdir,
	.unlink = ipcfs_unlink,
	.rmdir = ipcfs_rmdir,
	.symlink = ipcfs_symlink,
	.rename = ipcfs_rename,
	.link = ipcfs_link,
	.open = ipcfs_open,
	.read = ipcfs_read,
	.write = ipcfs_write,
	.release = ipcfs_release,
	.flush = ipcfs_flush,
	.opendir = ipcfs_opendir,
	.readdir = ipcfs_readdir,
	.releasedir = ipcfs_releasedir,
	.create = ipcfs_create,
	.poll = ipcfs_poll,
	.access = ipcfs_access,
};
