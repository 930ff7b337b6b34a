/*
 * Object administration: mkdir (creating as the caller), rmdir, and
 * setattr's chmod, chown and truncate (see objects.h).
 */
#include "objects.h"
#include "may.h"
#include "names.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Creates an object as the caller would with semget/shmget/msgget: a root
 * daemon takes the caller's uid and gid for the calling thread only (the
 * raw system calls; glibc's wrappers would change every thread), so that
 * the kernel records the caller as both owner and creator (uid/gid and
 * cuid/cgid).  A daemon that cannot do that creates the object itself and
 * hands it over with IPC_SET (its creator then stays the daemon's user).
 */
static int create_as_caller(const struct ipcfs *fs, const struct fuse_ctx *ctx,
			    enum ipcore_kind kind, key_t key,
			    unsigned long long size, unsigned mode,
			    struct ipcore_object *ob)
{
	const int flags = IPC_CREAT | IPC_EXCL;
	bool become = fs->daemon_uid == 0 &&
		      (ctx->uid != fs->daemon_uid || ctx->gid != fs->daemon_gid);
	int rc;

	if (become) {
		if (syscall(SYS_setresgid, -1, ctx->gid, -1) ||
		    syscall(SYS_setresuid, -1, ctx->uid, -1)) {
			syscall(SYS_setresgid, -1, fs->daemon_gid, -1);
			become = false;
		}
	}
	rc = kind_get(kind, key, size, flags, mode, ob);
	if (become) {
		/* Cannot fail: the saved set-user-ID is still 0. */
		if (syscall(SYS_setresuid, -1, fs->daemon_uid, -1) ||
		    syscall(SYS_setresgid, -1, fs->daemon_gid, -1))
			abort();
	}
	if (rc < 0)
		return -fs_errno(rc, IPCORE_OP_GET);
	if (!become && (ctx->uid != fs->daemon_uid ||
			ctx->gid != fs->daemon_gid)) {
		rc = ipcore_set_owner_mode(kind, ob->id, ctx->uid, ctx->gid,
					   (unsigned)-1);
		if (rc) {
			ipcore_remove(kind, ob->id);
			return -fs_errno(rc, IPCORE_OP_SET);
		}
	}
	return 0;
}

void objects_mkdir(fuse_req_t req, const struct node_ref *parent,
		   const char *name, mode_t mode)
{
	struct ipcfs *fs = ipcfs_of(req);
	const struct node_ref *p = parent;
	struct node_ref c;
	struct key_name kn;
	struct ipcore_object ob;
	unsigned long long size;
	int rc;

	if (p->p.node != NODE_KIND) {
		fuse_reply_err(req, p->p.node == NODE_FILE ? ENOTDIR : EPERM);
		return;
	}
	if (!strcmp(name, "by-id")) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	if (!names_parse_key(name, fs->keys, &kn) || kn.key == IPC_PRIVATE ||
	    (kn.sized && p->p.kind == IPCORE_MQ) ||
	    (p->p.kind == IPCORE_SEM && kn.size > INT_MAX)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	size = kn.sized ? kn.size : p->p.kind == IPCORE_SEM ? 1 : fs->shm_size;
	/* Execute bits mean nothing to IPC: mkdir -m 755 gives mode 0644. */
	rc = create_as_caller(fs, fuse_req_ctx(req), p->p.kind, kn.key, size,
			      mode & 0666, &ob);
	if (!rc)
		rc = obj_stat(p->p.kind, ob.id, &c.o);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	c.p = (struct ino_parts){ .node = NODE_OBJ, .kind = p->p.kind,
				  .via = kn.via, .id = ob.id };
	c.file = NULL;
	c.type = 0;
	c.gen = obj_generation(&c.o);
	tree_reply_entry(req, &c);
}

void objects_rmdir(fuse_req_t req, const struct node_ref *parent,
		   const char *name)
{
	const struct node_ref *p = parent;
	struct obj o;
	enum via via;
	int rc = 0;

	if (p->p.node != NODE_KIND && p->p.node != NODE_BYID)
		rc = p->p.node == NODE_FILE ? -ENOTDIR : -EPERM;
	if (!rc && p->p.node == NODE_KIND && !strcmp(name, "by-id"))
		rc = -EPERM;
	if (!rc)
		rc = tree_find_object(ipcfs_of(req), &p->p, name, &o, &via);
	if (!rc)
		rc = may_control(req, &o);
	if (!rc) {
		rc = ipcore_remove(o.kind, o.id);
		if (rc)
			rc = -fs_errno(rc, IPCORE_OP_REMOVE);
	}
	fuse_reply_err(req, -rc);
}

void objects_setattr(fuse_req_t req, fuse_ino_t ino, struct node_ref *n,
		     const struct stat *attr, int valid)
{
	const int owner = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			  FUSE_SET_ATTR_GID;
	const struct file_ops *ops;
	int rc = 0;

	if (valid & owner) {
		if (n->p.node != NODE_OBJ)
			rc = -EPERM;
		else
			rc = may_control(req, &n->o);
		if (!rc) {
			rc = ipcore_set_owner_mode(
				n->p.kind, n->p.id,
				valid & FUSE_SET_ATTR_UID ? attr->st_uid :
							    (uid_t)-1,
				valid & FUSE_SET_ATTR_GID ? attr->st_gid :
							    (gid_t)-1,
				valid & FUSE_SET_ATTR_MODE ?
					(unsigned)attr->st_mode & 0666 :
					(unsigned)-1);
			if (rc)
				rc = -fs_errno(rc, IPCORE_OP_SET);
		}
	}
	/* What truncating a file means is its role's (files.h). */
	if (!rc && (valid & FUSE_SET_ATTR_SIZE)) {
		ops = node_is_file(&n->p) ? file_ops(n->file) : NULL;
		if (!ops)
			rc = -EISDIR;
		else if (ops->truncate)
			rc = ops->truncate(req, n, attr->st_size);
		else if (attr->st_size != 0)
			rc = -EINVAL;
	}
	if (!rc)
		rc = tree_resolve(ipcfs_of(req), ino, n);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		tree_reply_attr(req, n); /* times cannot be set: ignored */
}

