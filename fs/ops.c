/*
 * The dispatcher: libfuse's low-level operations.  It resolves inode
 * numbers (layout in ipcfs.h) to objects and files, serves directories and
 * attributes itself, and hands data files to shm_data.c and the calls that
 * can wait (op, send, receive, poll) to blocking.c.
 */
#include "ipcfs.h"
#include "access.h"
#include "listing.h"
#include "mq_files.h"
#include "mq_poll.h"
#include "mq_wait.h"
#include "names.h"
#include "quota.h"
#include "sem_wait.h"
#include "sysinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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
 * (ipcfs.h) are the exception: each lookup must make a new one.
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

static const char *const kind_dirs[] = { "sem", "shm", "mq" };

/* ------------------------------------------------------------------ */
/* Names (the parsers are in names.c)                                 */
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
	switch (kind) {
	case IPCORE_SEM:
		rc = ipcore_sem_get(kn->key, IPCORE_KEY_GIVEN, 0, 0, 0, &ob);
		break;
	case IPCORE_SHM:
		rc = ipcore_shm_get(kn->key, IPCORE_KEY_GIVEN, 0, 0, 0, &ob);
		break;
	default:
		rc = ipcore_mq_get(kn->key, IPCORE_KEY_GIVEN, 0, 0, &ob);
		break;
	}
	if (rc < 0)
		return -ipcfs_errno(rc, IPCORE_OP_GET);
	rc = obj_stat(kind, ob.id, o);
	if (rc)
		return rc;
	if (kn->sized && kn->size != obj_size(o))
		return -ENOENT;
	return 0;
}

/* Finds the object named in <kind>/ or <kind>/by-id/. */
static int find_child_object(const struct ipcfs *fs,
			     const struct ino_parts *parent, const char *name,
			     struct obj *o, enum via *via)
{
	struct key_name kn;
	long long id;
	bool canonical;

	if (parent->node == NODE_BYID) {
		*via = VIA_BYID;
		if (!names_parse_dec(name, 0, INT_MAX, &id, &canonical) || !canonical)
			return -ENOENT;
		return obj_stat(parent->kind, (int)id, o);
	}
	if (!names_parse_key(name, fs->keys, &kn))
		return -ENOENT;
	*via = kn.via;
	return find_by_key(parent->kind, &kn, o);
}

/* ------------------------------------------------------------------ */
/* Nodes                                                              */
/* ------------------------------------------------------------------ */

/* A node resolved from its inode number: the object is stat'ed (once)
 * for every node below an object directory. */
struct node_ref {
	struct ino_parts p;
	struct obj o;
	const struct file_def *file; /* NODE_FILE */
	long type;                   /* message type of mq files/type dirs */
	uint64_t gen;                /* the generation it was looked up on */
};

static bool node_has_obj(const struct ino_parts *p)
{
	return p->node >= NODE_OBJ && p->node != NODE_INFO &&
	       p->node != NODE_INFO_FILE;
}

/* Not a directory: an object's file, or one of limits/ and usage/. */
static bool node_is_file(const struct ino_parts *p)
{
	return p->node == NODE_FILE || p->node == NODE_INFO_FILE;
}

static int resolve(fuse_ino_t ino, struct node_ref *n)
{
	int rc;

	memset(n, 0, sizeof(*n));
	if (!ino_resolve(ino, &n->p, &n->type, &n->gen))
		return -ESTALE;
	if (!node_has_obj(&n->p))
		return 0;
	rc = obj_stat(n->p.kind, n->p.id, &n->o);
	if (rc)
		return rc;
	/* Another object at the same id: the one this node was looked up
	 * on is gone (ipcfs.h, node ids). */
	if (obj_generation(&n->o) != n->gen)
		return -ENOENT;
	if (n->p.node == NODE_FILE) {
		n->file = file_get(n->p.kind, n->p.file);
		if (!n->file)
			return -ESTALE;
	}
	if (n->p.kind == IPCORE_SEM && (n->p.node == NODE_ELEM ||
					n->p.node == NODE_FILE) &&
	    n->p.param >= n->o.u.sem.nsems)
		return -ENOENT;
	/* Untyped send and receive: type 1 and any; typed ones got theirs
	 * from the dynamic node. */
	if (n->p.kind == IPCORE_MQ && n->p.node == NODE_FILE && !n->p.param)
		n->type = n->file->role == ROLE_SEND ? 1 : 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Who may                                                            */
/* ------------------------------------------------------------------ */

/* Checks that the caller of req has the IPC permission want (MAY_READ,
 * MAY_WRITE) on n's object: 0 or -EACCES, ipcperms()'s answer. */
static int check_may(fuse_req_t req, const struct node_ref *n, unsigned want)
{
	struct caller c;
	bool ok;

	caller_of(&c, req);
	ok = caller_may(&c, obj_perm(&n->o), want);
	caller_done(&c);
	return ok ? 0 : -EACCES;
}

/* IPC_SET and IPC_RMID: 0 or -EPERM. */
static int check_control(fuse_req_t req, const struct obj *o)
{
	struct caller c;
	bool ok;

	caller_of(&c, req);
	ok = caller_may_control(&c, obj_perm(o));
	caller_done(&c);
	return ok ? 0 : -EPERM;
}

/* What reading and writing an attribute file need (its ACC_* bits).
 * Writing one that has no setter is refused outright. */
static int check_attr(fuse_req_t req, const struct node_ref *n, bool reading,
		      bool writing)
{
	const struct file_def *f = n->file;
	int rc = 0;

	if (writing && !f->set)
		return -EACCES;
	if (reading && (f->access & ACC_READ))
		rc = check_may(req, n, MAY_READ);
	if (!rc && writing && (f->access & ACC_WRITE))
		rc = check_may(req, n, MAY_WRITE);
	if (!rc && writing && (f->access & ACC_OWNER))
		rc = check_control(req, &n->o);
	return rc;
}

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

static time_t obj_ctime(const struct obj *o)
{
	switch (o->kind) {
	case IPCORE_SEM:
		return o->u.sem.ctime;
	case IPCORE_SHM:
		return o->u.shm.ctime;
	case IPCORE_MQ:
		break;
	}
	return o->u.mq.ctime;
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
	case NODE_INFO_FILE: /* anyone may run ipcs -l and ipcs -u */
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
	if (n->file->role == ROLE_DATA) {
		st->st_size = (off_t)n->o.u.shm.size;
		st->st_blocks = (blkcnt_t)((n->o.u.shm.size + 511) / 512);
	}
}

/* Nodes that are looked up as a new dynamic node each time (ipcfs.h):
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
	return n->file->role == ROLE_OP || n->file->role == ROLE_SEND ||
	       (n->p.kind == IPCORE_MQ && n->p.param);
}

/* Answers a lookup (or mkdir) with node n. */
static void reply_node(fuse_req_t req, const struct node_ref *n)
{
	struct fuse_entry_param e;
	int rc;

	memset(&e, 0, sizeof(e));
	node_stat(ipcfs_of(req), n, &e.attr);
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
		rc = dynamic_new(e.attr.st_ino, n->type, n->gen,
				 node_is_dynamic(n), &e.ino);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
	}
	if (fuse_reply_entry(req, &e))
		dynamic_forget(e.ino, 1); /* the kernel never got it */
}

/* ------------------------------------------------------------------ */
/* lookup, forget, getattr                                            */
/* ------------------------------------------------------------------ */

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
	size_t count, f;
	const struct file_def *t = file_table(IPCORE_MQ, &count);
	long long v;
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
	for (f = 0; f < count && t[f].role != role; f++)
		;
	child->p.node = NODE_FILE;
	child->p.via = VIA_KEY;
	child->p.file = (unsigned)f;
	child->p.param = type_tag((long)v);
	child->file = &t[f];
	child->type = (long)v;
	return 0;
}

/* Fills child with the node called name in directory parent. */
static int lookup_child(const struct ipcfs *fs, const struct node_ref *parent,
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
		for (i = 0; i < 3; i++)
			if (!strcmp(name, kind_dirs[i])) {
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
		rc = find_child_object(fs, pp, name, &child->o, &cp->via);
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
		cp->param = type_tag((long)v);
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

static void ipcfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node_ref p, c;
	int rc = resolve(parent, &p);

	if (!rc)
		rc = lookup_child(ipcfs_of(req), &p, name, &c);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_node(req, &c);
}

static void ipcfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	dynamic_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void ipcfs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		dynamic_forget(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void reply_attr(fuse_req_t req, const struct node_ref *n)
{
	struct stat st;

	node_stat(ipcfs_of(req), n, &st);
	fuse_reply_attr(req, &st, node_has_obj(&n->p) ? VOLATILE_ATTR_TIMEOUT :
							STABLE_TIMEOUT);
}

static void ipcfs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct node_ref n;
	int rc = resolve(ino, &n);

	(void)fi;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_attr(req, &n);
}

/* ------------------------------------------------------------------ */
/* Open files and directories                                         */
/* ------------------------------------------------------------------ */

/* The state of every open message file is kept in a list: what is still
 * open when the session ends gets no release, and is freed by
 * ipcfs_files_clear().  Open directories hold nothing (listing.h). */
struct open_file {
	struct open_file *prev, *next;
	void (*free)(struct open_file *f); /* frees the whole handle */
	uid_t uid; /* the opener, whose quota of open files it counts in */
};

static void msg_handle_free(struct open_file *f);

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_file *open_files;

static void open_track(struct open_file *f)
{
	f->prev = NULL;
	pthread_mutex_lock(&open_lock);
	f->next = open_files;
	if (open_files)
		open_files->prev = f;
	open_files = f;
	pthread_mutex_unlock(&open_lock);
}

static void open_untrack(struct open_file *f)
{
	pthread_mutex_lock(&open_lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		open_files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&open_lock);
}

/* A new handle of size bytes (its struct open_file first) for an open by
 * req's caller, counted in the caller's quota of open files: NULL once
 * req is answered ENFILE (quota) or ENOMEM. */
static void *open_handle_new(fuse_req_t req, size_t size,
			     void (*free_handle)(struct open_file *f))
{
	struct quota *q = ipcfs_of(req)->open_quota;
	uid_t uid = fuse_req_ctx(req)->uid;
	struct open_file *f;

	if (!quota_take(q, uid)) {
		fuse_reply_err(req, ENFILE);
		return NULL;
	}
	f = calloc(1, size);
	if (!f) {
		quota_give(q, uid);
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	f->uid = uid;
	f->free = free_handle;
	return f;
}

/* Forgets and frees a handle, and gives its quota back. */
static void open_handle_free(fuse_req_t req, struct open_file *f)
{
	open_untrack(f);
	quota_give(ipcfs_of(req)->open_quota, f->uid);
	f->free(f);
}

/* Answers the open with handle f; frees it if the caller has gone (no
 * release will come). */
static void open_handle_reply(fuse_req_t req, struct fuse_file_info *fi,
			      struct open_file *f)
{
	open_track(f);
	fi->fh = (uintptr_t)f;
	if (fuse_reply_open(req, fi))
		open_handle_free(req, f);
}

void ipcfs_files_clear(void)
{
	pthread_mutex_lock(&open_lock);
	while (open_files) {
		struct open_file *f = open_files;

		open_files = f->next;
		f->free(f);
	}
	pthread_mutex_unlock(&open_lock);
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
	int rc = resolve(ino, &n);

	if (!rc && node_is_file(&n.p))
		rc = -ENOTDIR;
	/* The directories of an object are listed to those who may read it
	 * (IPC_STAT), as its mode shows; <kind>/ and by-id/ to everyone, as
	 * /proc/sysvipc. */
	if (!rc && node_has_obj(&n.p))
		rc = check_may(req, &n, MAY_READ);
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
	int rc = resolve(ino, &n);

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
/* mkdir and rmdir                                                    */
/* ------------------------------------------------------------------ */

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
	switch (kind) {
	case IPCORE_SEM:
		rc = ipcore_sem_get(key, IPCORE_KEY_GIVEN, (int)size, flags,
				    mode, ob);
		break;
	case IPCORE_SHM:
		rc = ipcore_shm_get(key, IPCORE_KEY_GIVEN, (size_t)size, flags,
				    mode, ob);
		break;
	default:
		rc = ipcore_mq_get(key, IPCORE_KEY_GIVEN, flags, mode, ob);
		break;
	}
	if (become) {
		/* Cannot fail: the saved set-user-ID is still 0. */
		if (syscall(SYS_setresuid, -1, fs->daemon_uid, -1) ||
		    syscall(SYS_setresgid, -1, fs->daemon_gid, -1))
			abort();
	}
	if (rc < 0)
		return -ipcfs_errno(rc, IPCORE_OP_GET);
	if (!become && (ctx->uid != fs->daemon_uid ||
			ctx->gid != fs->daemon_gid)) {
		rc = ipcore_set_owner_mode(kind, ob->id, ctx->uid, ctx->gid,
					   (unsigned)-1);
		if (rc) {
			ipcore_remove(kind, ob->id);
			return -ipcfs_errno(rc, IPCORE_OP_SET);
		}
	}
	return 0;
}

static void ipcfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct node_ref p, c;
	struct key_name kn;
	struct ipcore_object ob;
	unsigned long long size;
	int rc = resolve(parent, &p);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (p.p.node != NODE_KIND) {
		fuse_reply_err(req, p.p.node == NODE_FILE ? ENOTDIR : EPERM);
		return;
	}
	if (!strcmp(name, "by-id")) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	if (!names_parse_key(name, fs->keys, &kn) || kn.key == IPC_PRIVATE ||
	    (kn.sized && p.p.kind == IPCORE_MQ) ||
	    (p.p.kind == IPCORE_SEM && kn.size > INT_MAX)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	size = kn.sized ? kn.size : p.p.kind == IPCORE_SEM ? 1 : fs->shm_size;
	/* Execute bits mean nothing to IPC: mkdir -m 755 gives mode 0644. */
	rc = create_as_caller(fs, fuse_req_ctx(req), p.p.kind, kn.key, size,
			      mode & 0666, &ob);
	if (!rc)
		rc = obj_stat(p.p.kind, ob.id, &c.o);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	c.p = (struct ino_parts){ .node = NODE_OBJ, .kind = p.p.kind,
				  .via = kn.via, .id = ob.id };
	c.file = NULL;
	c.type = 0;
	c.gen = obj_generation(&c.o);
	reply_node(req, &c);
}

static void ipcfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node_ref p;
	struct obj o;
	enum via via;
	int rc = resolve(parent, &p);

	if (!rc && p.p.node != NODE_KIND && p.p.node != NODE_BYID)
		rc = p.p.node == NODE_FILE ? -ENOTDIR : -EPERM;
	if (!rc && p.p.node == NODE_KIND && !strcmp(name, "by-id"))
		rc = -EPERM;
	if (!rc)
		rc = find_child_object(ipcfs_of(req), &p.p, name, &o, &via);
	if (!rc)
		rc = check_control(req, &o);
	if (!rc) {
		rc = ipcore_remove(o.kind, o.id);
		if (rc)
			rc = -ipcfs_errno(rc, IPCORE_OP_REMOVE);
	}
	fuse_reply_err(req, -rc);
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
/* setattr: chmod, chown, truncate                                    */
/* ------------------------------------------------------------------ */

static void ipcfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int valid, struct fuse_file_info *fi)
{
	const int owner = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			  FUSE_SET_ATTR_GID;
	struct node_ref n;
	int rc = resolve(ino, &n);

	(void)fi;
	if (!rc && (valid & owner)) {
		if (n.p.node != NODE_OBJ)
			rc = -EPERM;
		else
			rc = check_control(req, &n.o);
		if (!rc) {
			rc = ipcore_set_owner_mode(
				n.p.kind, n.p.id,
				valid & FUSE_SET_ATTR_UID ? attr->st_uid :
							    (uid_t)-1,
				valid & FUSE_SET_ATTR_GID ? attr->st_gid :
							    (gid_t)-1,
				valid & FUSE_SET_ATTR_MODE ?
					(unsigned)attr->st_mode & 0666 :
					(unsigned)-1);
			if (rc)
				rc = -ipcfs_errno(rc, IPCORE_OP_SET);
		}
	}
	if (!rc && (valid & FUSE_SET_ATTR_SIZE)) {
		if (n.p.node != NODE_FILE)
			rc = n.p.node == NODE_INFO_FILE ? -EACCES : -EISDIR;
		else if (n.file->role == ROLE_DATA)
			rc = check_may(req, &n, MAY_READ | MAY_WRITE);
		else if (attr->st_size != 0)
			rc = -EINVAL;
		else if (n.file->role == ROLE_ATTR) /* nothing to do */
			rc = check_attr(req, &n, false, true);
		if (!rc && n.file->role == ROLE_DATA)
			rc = shm_data_truncate(ipcfs_of(req)->shm_data, n.p.id,
					       attr->st_size);
	}
	if (!rc)
		rc = resolve(ino, &n);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_attr(req, &n); /* times cannot be set: ignored */
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

/* What an open send or receive file remembers.  Each counts against its
 * opener's quota of open message files (ipcfs.h), so that no user can
 * take all the daemon's memory with them. */
struct msg_handle {
	struct open_file link; /* first: the list holds it by this */
	long type;        /* send and receive; the position for messages/ */
	struct blocking_rx rx; /* receive: its message and what is left */
	struct mq_open mq;     /* send: the message; peek, messages/: copy */
};

static void msg_handle_free(struct open_file *f)
{
	struct msg_handle *h = (struct msg_handle *)f;

	mq_wait_rx_free(&h->rx);
	mq_open_destroy(&h->mq);
	free(h);
}

/* The files whose opens hold a msg_handle. */
static bool role_has_handle(enum file_role role)
{
	return role == ROLE_SEND || role == ROLE_RECEIVE ||
	       role == ROLE_PEEK || role == ROLE_MSG || role == ROLE_MSG_TYPE;
}

/* What opening a file of role n->file->role with flags needs: the IPC
 * permission of the system call behind it, as far as it is known at open.
 * The calls are checked again when they are made (read, write), as the
 * kernel checks every semop and msgrcv; a data file is checked once, as
 * shmat() is: its reads and writes are those of an attachment. */
static int check_open(fuse_req_t req, const struct node_ref *n, int flags)
{
	int acc = flags & O_ACCMODE;
	bool reading = acc != O_WRONLY, writing = acc != O_RDONLY;

	switch (n->file->role) {
	case ROLE_ATTR:
		return check_attr(req, n, reading, writing);
	case ROLE_DATA: /* shmat(): read, and read+write to write */
		return check_may(req, n, writing || (flags & O_TRUNC) ?
					 MAY_READ | MAY_WRITE :
					 MAY_READ);
	case ROLE_OP: /* a Z needs read, a P or V write (alter): either */
		if (reading)
			return -EACCES;
		return check_may(req, n, MAY_READ) &&
				       check_may(req, n, MAY_WRITE) ?
			       -EACCES :
			       0;
	case ROLE_SEND:
		return reading ? -EACCES : check_may(req, n, MAY_WRITE);
	case ROLE_RECEIVE:
	case ROLE_PEEK: /* msgrcv(MSG_COPY) needs read, as msgrcv */
	case ROLE_MSG:
	case ROLE_MSG_TYPE:
		return writing ? -EACCES : check_may(req, n, MAY_READ);
	}
	return -EACCES;
}

/*
 * What an open attribute file remembers: the text its last read from
 * offset 0 gave, so that a reader taking the text in pieces (or cat's
 * second read, at the end) gets the rest of that same text, never the
 * tail of a newer value ("0\n" then "0\n" of "100\n").  A read from
 * offset 0 always reads the kernel anew.
 */
struct attr_handle {
	struct open_file link; /* first: the list holds it by this */
	int len;               /* -1: nothing read yet */
	char text[32];
};

static pthread_mutex_t attr_text_lock = PTHREAD_MUTEX_INITIALIZER;

static void attr_handle_free(struct open_file *f)
{
	free(f);
}

static void open_attr(fuse_req_t req, struct fuse_file_info *fi)
{
	struct attr_handle *h = open_handle_new(req, sizeof(*h),
						attr_handle_free);

	if (h) {
		h->len = -1;
		open_handle_reply(req, fi, &h->link);
	}
}

/* The text an open attribute (or limits/, usage/) file answers a read at
 * off with: made anew by make(arg) for a read from offset 0 (or the first
 * read), else the one this open last made.  Returns its length or -errno. */
static int open_text(struct attr_handle *h, off_t off, char text[32],
		     int (*make)(const void *arg, char *text, size_t len),
		     const void *arg)
{
	int len;

	pthread_mutex_lock(&attr_text_lock);
	len = h->len;
	if (len >= 0)
		memcpy(text, h->text, (size_t)len);
	pthread_mutex_unlock(&attr_text_lock);
	if (off != 0 && len >= 0)
		return len;
	len = make(arg, text, 32);
	if (len >= 0) {
		pthread_mutex_lock(&attr_text_lock);
		memcpy(h->text, text, (size_t)len);
		h->len = len;
		pthread_mutex_unlock(&attr_text_lock);
	}
	return len;
}

/* Answers a read of size at off from text. */
static void reply_text(fuse_req_t req, const char *text, int len, size_t size,
		       off_t off)
{
	if (len < 0)
		fuse_reply_err(req, -len);
	else if (off < 0)
		fuse_reply_err(req, EINVAL);
	else if (off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, text + off,
			       (size_t)(len - off) < size ? (size_t)(len - off) :
							    size);
}

/* limits/ and usage/ files: read-only, read afresh from offset 0. */
static void info_open(fuse_req_t req, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 1;
	open_attr(req, fi);
}

static int make_info_text(const void *arg, char *text, size_t len)
{
	const struct ino_parts *p = arg;

	return info_read(p->param, p->file, text, len);
}

static void info_read_reply(fuse_req_t req, const struct ino_parts *p,
			    size_t size, off_t off, struct attr_handle *h)
{
	char text[32];

	reply_text(req, text, open_text(h, off, text, make_info_text, p), size,
		   off);
}

static void ipcfs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct msg_handle *h;
	struct node_ref n;
	int rc = resolve(ino, &n);

	if (!rc && n.p.node == NODE_INFO_FILE) {
		info_open(req, fi);
		return;
	}
	if (!rc && n.p.node != NODE_FILE)
		rc = -EISDIR;
	if (!rc)
		rc = check_open(req, &n, fi->flags);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* Only a send file does anything at close (mq_files.h): the others
	 * spare the kernel its FLUSH. */
	fi->noflush = n.file->role != ROLE_SEND;
	switch (n.file->role) {
	case ROLE_DATA:
		shm_data_open(ipcfs_of(req)->shm_data, req, n.p.id, fi);
		return;
	case ROLE_ATTR:
		break;
	case ROLE_OP:
	case ROLE_SEND:
	case ROLE_RECEIVE:
	case ROLE_PEEK:
	case ROLE_MSG:
	case ROLE_MSG_TYPE:
		fi->nonseekable = 1;
		break;
	}
	fi->direct_io = 1;
	if (n.file->role == ROLE_ATTR) {
		open_attr(req, fi);
		return;
	}
	if (role_has_handle(n.file->role)) {
		h = open_handle_new(req, sizeof(*h), msg_handle_free);
		if (h) {
			h->type = n.type;
			mq_open_init(&h->mq, fi->flags);
			open_handle_reply(req, fi, &h->link);
		}
		return;
	}
	fuse_reply_open(req, fi);
}

/* The file definition of an open file's inode, without a system call. */
static const struct file_def *open_file(fuse_ino_t ino, struct ino_parts *p)
{
	uint64_t gen;
	long type;

	if (!ino_resolve(ino, p, &type, &gen) || p->node != NODE_FILE)
		return NULL;
	return file_get(p->kind, p->file);
}

/* Resolves an open file's node for a call on it and checks the IPC
 * permission the call needs: 0, or -errno (ENOENT once its object is gone,
 * even if another one now has its id). */
static int resolve_for_call(fuse_req_t req, fuse_ino_t ino,
			    struct node_ref *n, unsigned want)
{
	int rc = resolve(ino, n);

	if (!rc && n->p.node != NODE_FILE)
		rc = -EBADF;
	if (!rc && want)
		rc = check_may(req, n, want);
	return rc;
}

/* The text of the attribute of n (make for open_text()). */
static int make_attr_text(const void *arg, char *text, size_t len)
{
	const struct node_ref *n = arg;
	long long v;
	int rc = n->file->get(&n->o, n->p.param, &v);

	return rc ? rc : attr_format(n->file, v, text, len);
}

static void read_attr(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct attr_handle *h)
{
	struct node_ref n;
	char text[32];
	int rc = resolve_for_call(req, ino, &n, 0);

	if (!rc)
		rc = check_attr(req, &n, true, false);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_text(req, text, open_text(h, off, text, make_attr_text, &n),
		   size, off);
}

/* peek, messages/<i>, messages/<i>.type: pieces of the copy taken at the
 * open's first read (mq_files.h). */
static void read_copy(fuse_req_t req, fuse_ino_t ino, struct msg_handle *h,
		      enum file_role role, size_t size)
{
	struct node_ref n;
	char *piece;
	size_t len;
	int rc = resolve_for_call(req, ino, &n, MAY_READ);

	if (!rc)
		rc = mq_copy_read(&h->mq, n.p.id, role == ROLE_PEEK ? 0 : h->type,
				  role == ROLE_MSG_TYPE, role == ROLE_PEEK, size,
				  &piece, &len);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_buf(req, piece, len);
	free(piece);
}

static void ipcfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);
	struct node_ref n;
	int rc;

	if (!f && ino_split(ino, &p) && p.node == NODE_INFO_FILE) {
		info_read_reply(req, &p, size, off,
				(struct attr_handle *)(uintptr_t)fi->fh);
		return;
	}
	switch (f ? f->role : ROLE_OP) {
	case ROLE_ATTR:
		read_attr(req, ino, size, off,
			  (struct attr_handle *)(uintptr_t)fi->fh);
		return;
	case ROLE_DATA:
		shm_data_read(fs->shm_data, req, size, off, fi);
		return;
	case ROLE_RECEIVE:
		/* The rest of a message this open took is the reader's, even
		 * once its queue is gone: it comes from the open, not the
		 * queue.  Taking one is a msgrcv, checked as such. */
		if (mq_wait_delivered(fs->blocking, &h->rx)) {
			mq_wait_receive(fs->blocking, req, -1, h->type,
					size, true, &h->rx);
			return;
		}
		rc = resolve_for_call(req, ino, &n, MAY_READ);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		mq_wait_receive(fs->blocking, req, n.p.id, h->type, size,
				fi->flags & O_NONBLOCK, &h->rx);
		return;
	case ROLE_PEEK:
	case ROLE_MSG:
	case ROLE_MSG_TYPE:
		read_copy(req, ino, h, f->role, size);
		return;
	default:
		fuse_reply_err(req, EBADF);
	}
}

static void write_attr(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off)
{
	struct node_ref n;
	struct caller who;
	long long v;
	int rc = resolve_for_call(req, ino, &n, 0);

	if (!rc)
		rc = check_attr(req, &n, false, true);
	if (!rc && (off != 0 || attr_parse(n.file, buf, size, &v)))
		rc = -EINVAL;
	if (!rc) {
		caller_of(&who, req);
		rc = n.file->set(&n.o, n.p.param, v, &who);
		caller_done(&who);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

/* op: one signed delta per write, "-1" (P), "+2" or "2" (V), "0" (Z).  A
 * Z needs read permission, a P or V write (alter), as semop(2) says. */
static void write_op(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, bool nonblock)
{
	static const struct file_def delta_fmt = { .fmt = FMT_DEC };
	long long delta;
	struct node_ref n;
	int rc;

	if (attr_parse(&delta_fmt, buf, size, &delta) || delta < SHRT_MIN ||
	    delta > SHRT_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = resolve_for_call(req, ino, &n, delta ? MAY_WRITE : MAY_READ);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	sem_wait_op(ipcfs_of(req)->blocking, req, n.p.id,
		    (unsigned short)n.p.param, (short)delta, nonblock,
		    size);
}

static void ipcfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	bool nonblock = fi->flags & O_NONBLOCK;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);
	struct node_ref n;
	int rc;

	switch (f ? f->role : ROLE_RECEIVE) {
	case ROLE_ATTR:
		write_attr(req, ino, buf, size, off);
		return;
	case ROLE_OP:
		write_op(req, ino, buf, size, nonblock);
		return;
	case ROLE_DATA:
		shm_data_write(fs->shm_data, req, buf, size, off, fi);
		return;
	case ROLE_SEND: /* gathered; sent at close (ipcfs_flush) */
		rc = resolve_for_call(req, ino, &n, MAY_WRITE);
		if (!rc)
			rc = mq_send_append(&h->mq, buf, size,
					    mq_send_limit(n.o.u.mq.qbytes),
					    nonblock);
		if (rc)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_write(req, size);
		return;
	default:
		fuse_reply_err(req, EBADF);
	}
}

static void ipcfs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);

	if (f && f->role == ROLE_DATA) {
		shm_data_release(ipcfs_of(req)->shm_data, req, fi);
		return;
	}
	if (f && role_has_handle(f->role)) {
		struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
		struct node_ref n;

		/* The empty message of an O_TRUNC open closed once, without
		 * writes (mq_files.h): nobody to tell or to wait.  A RELEASE
		 * carries no caller (uid 0, pid 0): the open checked. */
		if (f->role == ROLE_SEND && mq_send_release_due(&h->mq) &&
		    !resolve_for_call(req, ino, &n, 0))
			mq_wait_send_detached(ipcfs_of(req)->blocking,
					      h->link.uid, n.p.id, h->type,
					      NULL, 0);
		open_handle_free(req, &h->link);
	}
	if ((f && f->role == ROLE_ATTR) ||
	    (!f && ino_split(ino, &p) && p.node == NODE_INFO_FILE)) {
		open_handle_free(req, (struct open_file *)(uintptr_t)fi->fh);
	}
	fuse_reply_err(req, 0);
}

/*
 * close(2) of a send file: its message goes now (mq_files.h), through
 * blocking.c, which answers (waiting on a full queue unless O_NONBLOCK).
 * Every other file opened with noflush: the kernel sends no FLUSH.
 */
static void ipcfs_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);
	enum mq_caller who;
	struct node_ref n;
	bool nonblock;
	char *data;
	size_t len;
	int rc;

	if (!f || f->role != ROLE_SEND) {
		fuse_reply_err(req, 0);
		return;
	}
	/* The FLUSH of a writer's death is no close: what the open gathered,
	 * whole or not, is not sent for it, nor an O_TRUNC's empty message
	 * at release. */
	who = mq_caller_state(fuse_req_ctx(req)->pid);
	if (who == MQ_CALLER_KILLED) {
		mq_send_drop(&h->mq);
		fuse_reply_err(req, EINTR);
		return;
	}
	rc = mq_send_take(&h->mq, &data, &len, &nonblock);
	if (rc == 1) {
		rc = resolve_for_call(req, ino, &n, MAY_WRITE);
		/* max_size lowered since the writes: the kernel would wait
		 * for ever (blocking_mq_send() checks as much). */
		if (!rc && len > mq_send_limit(n.o.u.mq.qbytes))
			rc = -EMSGSIZE;
		if (!rc && who == MQ_CALLER_EXITING) {
			/* Nobody to wait for room: an exiting process cannot
			 * be interrupted (mq_files.h). */
			mq_wait_send_detached(ipcfs_of(req)->blocking,
					      h->link.uid, n.p.id, h->type,
					      data, len);
			free(data);
			fuse_reply_err(req, 0);
			return;
		}
		if (!rc) {
			mq_wait_send(ipcfs_of(req)->blocking, req, n.p.id,
				     h->type, data ? data : "", len,
				     nonblock);
			free(data);
			return;
		}
	}
	free(data);
	fuse_reply_err(req, -rc);
}

static void ipcfs_poll(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);
	struct blocking *b = ipcfs_of(req)->blocking;
	unsigned events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
	struct node_ref n;

	/* The flag is read under blocking's lock: a read of this open may be
	 * setting it in a waiter thread right now.  A queue that is gone, or
	 * that the caller may no longer read, is not watched: the read that
	 * the poll wakes says why. */
	if (f && f->role == ROLE_RECEIVE &&
	    !mq_wait_delivered(b, &h->rx)) {
		if (!resolve_for_call(req, ino, &n, MAY_READ)) {
			mq_poll_answer(b, req, n.p.id, h->type, ph);
			return;
		}
		events = POLLIN | POLLERR;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, events);
}

/*
 * access(2), test -r/-w, and the kernel's question before chdir: answered
 * with the rules the calls themselves follow.  Files: as opening them for
 * reading (R_OK) or writing (W_OK); nothing is executable.  Directories:
 * search and read as opendir; write only where mkdir works (<kind>/).
 */
static void ipcfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct node_ref n;
	int rc = resolve(ino, &n);

	if (rc || mask == F_OK) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (n.p.node == NODE_INFO_FILE) {
		if (mask & (W_OK | X_OK))
			rc = -EACCES;
	} else if (n.p.node == NODE_FILE) {
		if (mask & X_OK)
			rc = -EACCES;
		if (!rc && (mask & R_OK))
			rc = check_open(req, &n, O_RDONLY);
		if (!rc && (mask & W_OK))
			rc = check_open(req, &n, O_WRONLY);
	} else {
		if ((mask & W_OK) && n.p.node != NODE_KIND)
			rc = -EACCES;
		if (!rc && (mask & (R_OK | X_OK)) && node_has_obj(&n.p))
			rc = check_may(req, &n, MAY_READ);
	}
	fuse_reply_err(req, -rc);
}

/* ------------------------------------------------------------------ */
/* init                                                               */
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

int ipcfs_state_init(struct ipcfs *fs, size_t shm_size,
		     unsigned int max_files_per_user)
{
	fs->shm_size = shm_size;
	fs->daemon_uid = geteuid();
	fs->daemon_gid = getegid();
	fs->started = time(NULL);
	access_userns_load(&fs->userns);
	return quota_new(&fs->open_quota, max_files_per_user);
}

void ipcfs_state_free(struct ipcfs *fs)
{
	quota_free(fs->open_quota);
	fs->open_quota = NULL;
}

const struct fuse_lowlevel_ops ipcfs_ops = {
	.init = ipcfs_init,
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
