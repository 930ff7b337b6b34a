/*
 * The names of the filesystem (see tree.h): node ids resolved to objects
 * and files, lookups, attributes and their timeouts.
 */
#include "tree.h"
#include "names.h"
#include "sysinfo.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Root, kind and by-id directories never change. */
#define STABLE_TIMEOUT 86400.0

/*
 * Object directories (<kind>/<key>, by-id/<id>): names never cached (entry
 * timeout 0), so every path walk through one asks again and sees the
 * object made, removed or replaced at once.
 *
 * The names below an object directory are the object's fixed files and
 * directories, which it has for as long as it lives: their entries are
 * kept, because the kernel can only reach them through a directory entry
 * it has just revalidated: a LOOKUP that answers another inode number or
 * generation (another object) or ENOENT drops the directory's dentry and
 * every cached name below it.  A path walk to sem/<key>/mode then makes
 * one LOOKUP, not two.  A walk that starts below (a shell cd'ed into the
 * directory) meets the inode as before: every operation on it stats the
 * object first and answers ENOENT once it is gone.  Dynamic nodes
 * (ino.h) are the exception: each lookup must make a new one.
 *
 * Attributes of everything below the kind directories are fresh from the
 * LOOKUP or GETATTR that answered them and kept for one clock tick (the
 * kernel rounds 1 ms up to a jiffy), so that the stat(2) or permission
 * check that follows a path walk costs no second request.  Only fstat(2)
 * of an open file can see attributes a tick old.  ls -l then makes 3
 * requests per object (statx and the two ACL getxattrs each walk the path)
 * instead of 4.
 */
#define VOLATILE_ENTRY_TIMEOUT 0.0
#define VOLATILE_ATTR_TIMEOUT 0.001
#define FIXED_NAME_TIMEOUT STABLE_TIMEOUT

/* ------------------------------------------------------------------ */
/* Node ids                                                           */
/* ------------------------------------------------------------------ */

int tree_node(struct ipcfs *fs, fuse_ino_t ino, struct node_ref *n)
{
	n->file = NULL;
	n->type = 0;
	if (!ino_resolve(&fs->nodes, ino, &n->p, &n->type, &n->gen))
		return -ESTALE;
	if (n->p.node == NODE_INFO_FILE)
		n->file = &file_info;
	if (n->p.node != NODE_FILE)
		return 0;
	n->file = file_get(n->p.kind, n->p.file);
	if (!n->file)
		return -ESTALE;
	/* Untyped send and receive: type 1 and any; typed ones got theirs
	 * from the dynamic node. */
	if (n->p.kind == IPCORE_MQ && !n->p.param)
		n->type = n->file->role == ROLE_SEND ? 1 : 0;
	return 0;
}

int tree_stat(struct node_ref *n)
{
	int rc;

	if (!node_has_obj(&n->p))
		return 0;
	rc = obj_stat(n->p.kind, n->p.id, &n->o);
	if (rc)
		return rc;
	/* Another object at the same id: the one this node was looked up
	 * on is gone (ino.h, node ids). */
	if (obj_generation(&n->o) != n->gen)
		return -ENOENT;
	if (n->p.kind == IPCORE_SEM && (n->p.node == NODE_ELEM ||
					n->p.node == NODE_FILE) &&
	    n->p.param >= n->o.u.sem.nsems)
		return -ENOENT;
	return 0;
}

int tree_resolve(struct ipcfs *fs, fuse_ino_t ino, struct node_ref *n)
{
	int rc = tree_node(fs, ino, n);

	return rc ? rc : tree_stat(n);
}

void tree_forget(struct ipcfs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	ino_dynamic_forget(&fs->nodes, ino, nlookup);
}

/* ------------------------------------------------------------------ */
/* Names                                                              */
/* ------------------------------------------------------------------ */

/* Finds the object named by a key name; IPC_PRIVATE names nothing (a get
 * of it would create an object). */
static int find_by_key(enum ipcore_kind kind, const struct key_name *kn,
		       struct obj *o)
{
	struct ipcore_object ob;
	int rc;

	if (kn->key == IPC_PRIVATE)
		return -ENOENT;
	rc = kind_get(kind, kn->key, 0, 0, 0, &ob);
	if (rc < 0)
		return -fs_errno(rc, IPCORE_OP_GET);
	rc = obj_stat(kind, ob.id, o);
	if (rc)
		return rc;
	if (kn->sized && kn->size != obj_size(o))
		return -ENOENT;
	return 0;
}

int tree_find_object(const struct ipcfs *fs, const struct ino_parts *parent,
		     const char *name, struct obj *o, enum via *via)
{
	struct key_name kn;
	long long id;
	bool canonical;

	if (parent->node == NODE_BYID) {
		*via = VIA_BYID;
		if (!names_parse_dec(name, 0, INT_MAX, &id, &canonical) ||
		    !canonical)
			return -ENOENT;
		return obj_stat(parent->kind, (int)id, o);
	}
	if (!names_parse_key(name, fs->keys, &kn))
		return -ENOENT;
	*via = kn.via;
	return find_by_key(parent->kind, &kn, o);
}

/* The elements of a set that have a directory: semop(2) numbers them with
 * an unsigned short, and so does the inode number's param field. */
static unsigned elements(const struct obj *o)
{
	return o->u.sem.nsems < 65536 ? o->u.sem.nsems : 65536;
}

/* messages/<i> and messages/<i>.type: the message at position i of the
 * queue now (i canonical decimal); the position is kept as the dynamic
 * node's type. */
static int lookup_message(const struct node_ref *parent, const char *name,
			  struct node_ref *child)
{
	char digits[24];
	const char *dot = strchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);
	enum file_role role = ROLE_MSG;
	long long v;
	int f;
	bool canonical;

	if (dot) {
		if (strcmp(dot, ".type"))
			return -ENOENT;
		role = ROLE_MSG_TYPE;
	}
	if (len == 0 || len >= sizeof(digits))
		return -ENOENT;
	memcpy(digits, name, len);
	digits[len] = '\0';
	if (!names_parse_dec(digits, 0, LONG_MAX, &v, &canonical) ||
	    !canonical || (unsigned long long)v >= parent->o.u.mq.qnum)
		return -ENOENT;
	f = file_find_role(IPCORE_MQ, role);
	child->p.node = NODE_FILE;
	child->p.via = VIA_KEY;
	child->p.file = (unsigned)f;
	child->p.param = ino_type_tag((long)v);
	child->file = file_get(IPCORE_MQ, (unsigned)f);
	child->type = (long)v;
	return 0;
}

int tree_lookup(const struct ipcfs *fs, const struct node_ref *parent,
		const char *name, struct node_ref *child)
{
	const struct ino_parts *pp = &parent->p;
	struct ino_parts *cp = &child->p;
	long long v;
	bool canonical;
	int i, rc;

	memset(child, 0, sizeof(*child));
	*cp = (struct ino_parts){ .kind = pp->kind, .id = pp->id,
				  .via = pp->via };
	child->o = parent->o;
	child->gen = parent->gen;
	switch (pp->node) {
	case NODE_ROOT:
		for (i = IPCORE_SEM; i <= IPCORE_MQ; i++)
			if (!strcmp(name,
				    ipcore_kind_name((enum ipcore_kind)i))) {
				*cp = (struct ino_parts){
					.node = NODE_KIND,
					.kind = (enum ipcore_kind)i };
				return 0;
			}
		i = info_dir_find(name);
		if (i < 0)
			return -ENOENT;
		*cp = (struct ino_parts){ .node = NODE_INFO,
					  .param = (unsigned)i };
		return 0;
	case NODE_INFO:
		i = info_file_find(pp->param, name);
		if (i < 0)
			return -ENOENT;
		*cp = (struct ino_parts){ .node = NODE_INFO_FILE,
					  .param = pp->param,
					  .file = (unsigned)i };
		return 0;
	case NODE_KIND:
		if (!strcmp(name, "by-id")) {
			*cp = (struct ino_parts){ .node = NODE_BYID,
						  .kind = pp->kind };
			return 0;
		}
		/* fall through */
	case NODE_BYID:
		cp->node = NODE_OBJ;
		rc = tree_find_object(fs, pp, name, &child->o, &cp->via);
		cp->id = child->o.id;
		child->gen = rc ? 0 : obj_generation(&child->o);
		return rc;
	case NODE_OBJ:
	case NODE_ELEM:
		if (pp->kind == IPCORE_SEM && pp->node == NODE_OBJ &&
		    parent->o.u.sem.nsems > 1 &&
		    names_parse_dec(name, 0, (long long)elements(&parent->o) - 1,
			      &v, &canonical) && canonical) {
			cp->node = NODE_ELEM;
			cp->param = (unsigned)v;
			return 0;
		}
		if (pp->kind == IPCORE_MQ && !strcmp(name, "type")) {
			cp->node = NODE_TYPES;
			return 0;
		}
		if (pp->kind == IPCORE_MQ && pp->node == NODE_OBJ &&
		    !strcmp(name, "messages")) {
			cp->node = NODE_MSGS;
			return 0;
		}
		i = file_find(pp->kind,
			      pp->node == NODE_OBJ ? IN_OBJ : IN_ELEM, name);
		if (i < 0)
			return -ENOENT;
		cp->node = NODE_FILE;
		cp->via = VIA_KEY;
		cp->file = (unsigned)i;
		cp->param = pp->node == NODE_ELEM ? pp->param : 0;
		child->file = file_get(pp->kind, (unsigned)i);
		child->type = child->file->role == ROLE_SEND ? 1 : 0;
		return 0;
	case NODE_TYPES:
		/* LONG_MIN has no absolute value for msgrcv(2) to take. */
		if (!names_parse_dec(name, LONG_MIN + 1, LONG_MAX, &v, &canonical) ||
		    !canonical)
			return -ENOENT;
		cp->node = NODE_TYPE;
		cp->param = ino_type_tag((long)v);
		child->type = (long)v;
		return 0;
	case NODE_TYPE:
		i = file_find(IPCORE_MQ, IN_TYPE, name);
		if (i < 0 || (file_get(IPCORE_MQ, (unsigned)i)->role ==
				      ROLE_SEND && parent->type <= 0))
			return -ENOENT;
		cp->node = NODE_FILE;
		cp->via = VIA_KEY;
		cp->file = (unsigned)i;
		cp->param = pp->param;
		child->file = file_get(IPCORE_MQ, (unsigned)i);
		child->type = parent->type;
		return 0;
	case NODE_MSGS:
		return lookup_message(parent, name, child);
	case NODE_FILE:
	case NODE_INFO_FILE:
	case NODE_DYNAMIC: /* resolved to what it stands for */
		return -ENOTDIR;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------------ */
/* Attributes                                                         */
/* ------------------------------------------------------------------ */

/* Directory permissions from the object's mode: the same read and write
 * bits, and search (x) for every class that has either. */
static mode_t dir_mode(unsigned mode)
{
	mode_t m = mode & 0666;
	int shift;

	for (shift = 0; shift <= 6; shift += 3)
		if (m & (06u << shift))
			m |= 01u << shift;
	return S_IFDIR | m;
}

/* A file's permissions, for ls (the daemon decides, access.h): the
 * object's read bits where reading it needs IPC read permission, its write
 * bits where writing needs IPC write (alter) permission, and the owner's
 * write bit where writing is IPC_SET. */
static mode_t file_mode(const struct file_def *f,
			const struct ipcore_perm *perm)
{
	mode_t m = 0;

	if (f->access & ACC_READ)
		m |= perm->mode & 0444;
	if (f->access & ACC_WRITE)
		m |= perm->mode & 0222;
	if (f->access & ACC_OWNER)
		m |= 0200;
	return S_IFREG | m;
}

static void node_stat(const struct ipcfs *fs, const struct node_ref *n,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino_make(&n->p);
	st->st_nlink = 2;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->started;
	switch (n->p.node) {
	case NODE_ROOT:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2 + 3 + INFO_DIRS;
		return;
	case NODE_KIND:
		st->st_mode = S_IFDIR | 01777;
		return;
	case NODE_BYID:
	case NODE_INFO:
		st->st_mode = S_IFDIR | 0555;
		return;
	case NODE_INFO_FILE: /* anyone may run ipcs -l and ipcs -u (may.c) */
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		return;
	default:
		break;
	}
	const struct ipcore_perm *perm = obj_perm(&n->o);

	st->st_uid = perm->uid;
	st->st_gid = perm->gid;
	st->st_atime = st->st_mtime = st->st_ctime = obj_ctime(&n->o);
	if (n->p.node != NODE_FILE) {
		st->st_mode = dir_mode(perm->mode);
		return;
	}
	st->st_nlink = 1;
	st->st_mode = file_mode(n->file, perm);
	if (file_ops(n->file)->sized) {
		st->st_size = (off_t)n->o.u.shm.size;
		st->st_blocks = (blkcnt_t)((n->o.u.shm.size + 511) / 512);
	}
}

/* Nodes that are looked up as a new dynamic node each time (ino.h):
 * typed message nodes, and files whose writes can wait. */
static bool node_is_dynamic(const struct node_ref *n)
{
	if (n->p.node == NODE_TYPE)
		return true;
	if (n->p.node != NODE_FILE)
		return false;
	/* param is the element of a semaphore file (sem/<key>/<n>/op is as
	 * much a waiting file as sem/<key>/op) but the type tag of a message
	 * file, whose type only the dynamic node keeps. */
	return file_ops(n->file)->waits || (n->p.kind == IPCORE_MQ && n->p.param);
}

/* Answers a lookup (or mkdir) with node n. */
void tree_reply_entry(fuse_req_t req, const struct node_ref *n)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	node_stat(fs, n, &e.attr);
	e.ino = e.attr.st_ino;
	if (node_has_obj(&n->p)) {
		e.generation = n->gen;
		e.attr_timeout = VOLATILE_ATTR_TIMEOUT;
		e.entry_timeout = n->p.node == NODE_OBJ || node_is_dynamic(n) ?
					  VOLATILE_ENTRY_TIMEOUT :
					  FIXED_NAME_TIMEOUT;
	} else {
		e.attr_timeout = STABLE_TIMEOUT;
		e.entry_timeout = STABLE_TIMEOUT;
	}
	if (node_has_obj(&n->p)) {
		rc = ino_dynamic_new(&fs->nodes, e.attr.st_ino, n->type,
				     n->gen, node_is_dynamic(n), &e.ino);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
	}
	if (fuse_reply_entry(req, &e))
		ino_dynamic_forget(&fs->nodes, e.ino, 1); /* never got it */
}

void tree_reply_attr(fuse_req_t req, const struct node_ref *n)
{
	struct stat st;

	node_stat(ipcfs_of(req), n, &st);
	fuse_reply_attr(req, &st, node_has_obj(&n->p) ? VOLATILE_ATTR_TIMEOUT :
							STABLE_TIMEOUT);
}

