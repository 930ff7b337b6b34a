/*
 * The dispatcher: libfuse's low-level operations.  It resolves inode
 * numbers (layout in ipcfs.h) to objects and files, serves directories and
 * attributes itself, and hands data files to shm_data.c and the calls that
 * can wait (op, send, receive, poll) to blocking.c.
 */
#include "ipcfs.h"
#include "blocking.h"
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
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
static int find_child_object(const struct ino_parts *parent, const char *name,
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
	if (!names_parse_key(name, &kn))
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
};

static bool node_has_obj(const struct ino_parts *p)
{
	return p->node >= NODE_OBJ;
}

static int resolve(fuse_ino_t ino, struct node_ref *n)
{
	int rc;

	memset(n, 0, sizeof(*n));
	if (!ino_resolve(ino, &n->p, &n->type))
		return -ESTALE;
	if (!node_has_obj(&n->p))
		return 0;
	rc = obj_stat(n->p.kind, n->p.id, &n->o);
	if (rc)
		return rc;
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

/* A file's permissions: the object's read bits where reading it needs IPC
 * read permission, its write bits where writing needs IPC write (alter)
 * permission.  Owner-only files (IPC_SET) are writable by the owner, and by
 * everyone when the creator is someone else, so that the creator gets
 * through the kernel's check too: the daemon then checks (caller_owns). */
static mode_t file_mode(const struct file_def *f,
			const struct ipcore_perm *perm)
{
	mode_t m = 0;

	if (f->access & ACC_READ)
		m |= perm->mode & 0444;
	if (f->access & ACC_WRITE)
		m |= perm->mode & 0222;
	if (f->access & ACC_OWNER)
		m |= perm->uid == perm->cuid ? 0200 : 0222;
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
		st->st_nlink = 5;
		return;
	case NODE_KIND:
		st->st_mode = S_IFDIR | 01777;
		return;
	case NODE_BYID:
		st->st_mode = S_IFDIR | 0555;
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
		e.generation = obj_generation(&n->o);
		e.attr_timeout = VOLATILE_ATTR_TIMEOUT;
		e.entry_timeout = n->p.node == NODE_OBJ || node_is_dynamic(n) ?
					  VOLATILE_ENTRY_TIMEOUT :
					  FIXED_NAME_TIMEOUT;
	} else {
		e.attr_timeout = STABLE_TIMEOUT;
		e.entry_timeout = STABLE_TIMEOUT;
	}
	if (node_is_dynamic(n)) {
		rc = dynamic_new(e.attr.st_ino, n->type, &e.ino);
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

/* Fills child with the node called name in directory parent. */
static int lookup_child(const struct node_ref *parent, const char *name,
			struct node_ref *child)
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
	switch (pp->node) {
	case NODE_ROOT:
		for (i = 0; i < 3; i++)
			if (!strcmp(name, kind_dirs[i])) {
				*cp = (struct ino_parts){
					.node = NODE_KIND,
					.kind = (enum ipcore_kind)i };
				return 0;
			}
		return -ENOENT;
	case NODE_KIND:
		if (!strcmp(name, "by-id")) {
			*cp = (struct ino_parts){ .node = NODE_BYID,
						  .kind = pp->kind };
			return 0;
		}
		/* fall through */
	case NODE_BYID:
		cp->node = NODE_OBJ;
		rc = find_child_object(pp, name, &child->o, &cp->via);
		cp->id = child->o.id;
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
	case NODE_FILE:
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
		rc = lookup_child(&p, name, &c);
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

/* The state of every open directory and message file is kept in a list:
 * what is still open when the session ends gets no release, and is freed
 * by ipcfs_files_clear(). */
struct open_file {
	struct open_file *prev, *next;
	bool is_dir;
};

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_file *open_files;

static void open_track(struct open_file *f, bool is_dir)
{
	f->is_dir = is_dir;
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

static void dirbuf_free(struct open_file *f);

void ipcfs_files_clear(void)
{
	pthread_mutex_lock(&open_lock);
	while (open_files) {
		struct open_file *f = open_files;

		open_files = f->next;
		if (f->is_dir)
			dirbuf_free(f);
		else
			free(f);
	}
	pthread_mutex_unlock(&open_lock);
}

/* ------------------------------------------------------------------ */
/* Directories                                                        */
/* ------------------------------------------------------------------ */

/* A listing, built when a read starts at offset 0 and replied in slices.
 * The lock is held over each reply: the caller may close the directory as
 * soon as the kernel has the bytes, and releasedir must not free them under
 * a writev that has not returned yet. */
struct dirbuf {
	struct open_file link; /* first: the list holds it by this */
	pthread_mutex_t lock;
	char *p;
	size_t len, cap;
};

static int dir_add(fuse_req_t req, struct dirbuf *d, const char *name,
		   const struct ino_parts *p, bool dir)
{
	struct stat st = { .st_ino = ino_make(p),
			   .st_mode = dir ? S_IFDIR : S_IFREG };
	size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);

	if (d->len + need > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		char *np;

		while (cap < d->len + need)
			cap *= 2;
		np = realloc(d->p, cap);
		if (!np)
			return -ENOMEM;
		d->p = np;
		d->cap = cap;
	}
	fuse_add_direntry(req, d->p + d->len, d->cap - d->len, name, &st,
			  (off_t)(d->len + need));
	d->len += need;
	return 0;
}

static int list_objects(fuse_req_t req, struct dirbuf *d,
			const struct ino_parts *dir)
{
	struct ipcore_entry *e;
	size_t count, i;
	char name[24];
	int rc = ipcore_list(dir->kind, &e, &count);
	struct ino_parts p = { .node = NODE_OBJ, .kind = dir->kind,
			       .via = dir->node == NODE_BYID ? VIA_BYID :
							       VIA_KEY };

	if (rc)
		return rc;
	for (i = 0; i < count && !rc; i++) {
		if (dir->node == NODE_KIND) {
			if (e[i].key == IPC_PRIVATE)
				continue;
			snprintf(name, sizeof(name), "%d", (int)e[i].key);
		} else {
			snprintf(name, sizeof(name), "%d", e[i].id);
		}
		p.id = e[i].id;
		rc = dir_add(req, d, name, &p, true);
	}
	free(e);
	return rc;
}

static int list_files(fuse_req_t req, struct dirbuf *d,
		      const struct node_ref *n, unsigned where)
{
	size_t count, i;
	const struct file_def *t = file_table(n->p.kind, &count);
	struct ino_parts p = { .node = NODE_FILE, .kind = n->p.kind,
			       .id = n->p.id,
			       .param = where == IN_OBJ ? 0 : n->p.param };
	int rc = 0;

	for (i = 0; i < count && !rc; i++) {
		if (!(t[i].where & where) ||
		    (where == IN_TYPE && t[i].role == ROLE_SEND &&
		     n->type <= 0))
			continue;
		p.file = (unsigned)i;
		rc = dir_add(req, d, t[i].name, &p, false);
	}
	return rc;
}

static int build_listing(fuse_req_t req, struct dirbuf *d,
			 const struct node_ref *n)
{
	struct ino_parts self = n->p, parent = { .node = NODE_ROOT };
	unsigned i;
	char name[16];
	int rc;

	switch (n->p.node) {
	case NODE_BYID:
		parent = (struct ino_parts){ .node = NODE_KIND,
					     .kind = n->p.kind };
		break;
	case NODE_OBJ:
		parent = (struct ino_parts){
			.node = n->p.via == VIA_BYID ? NODE_BYID : NODE_KIND,
			.kind = n->p.kind };
		break;
	case NODE_ELEM:
	case NODE_TYPES:
		parent = (struct ino_parts){ .node = NODE_OBJ,
					     .kind = n->p.kind,
					     .via = n->p.via, .id = n->p.id };
		break;
	case NODE_TYPE:
		parent = (struct ino_parts){ .node = NODE_TYPES,
					     .kind = n->p.kind,
					     .via = n->p.via, .id = n->p.id };
		break;
	default:
		break;
	}
	d->len = 0;
	rc = dir_add(req, d, ".", &self, true);
	if (!rc)
		rc = dir_add(req, d, "..", &parent, true);
	if (rc)
		return rc;

	switch (n->p.node) {
	case NODE_ROOT:
		for (i = 0; i < 3 && !rc; i++) {
			struct ino_parts k = { .node = NODE_KIND,
					       .kind = (enum ipcore_kind)i };

			rc = dir_add(req, d, kind_dirs[i], &k, true);
		}
		return rc;
	case NODE_KIND: {
		struct ino_parts b = { .node = NODE_BYID, .kind = n->p.kind };

		rc = dir_add(req, d, "by-id", &b, true);
		return rc ? rc : list_objects(req, d, &n->p);
	}
	case NODE_BYID:
		return list_objects(req, d, &n->p);
	case NODE_OBJ:
		rc = list_files(req, d, n, IN_OBJ);
		if (!rc && n->p.kind == IPCORE_SEM && n->o.u.sem.nsems > 1) {
			struct ino_parts e = self;

			e.node = NODE_ELEM;
			for (i = 0; i < elements(&n->o) && !rc; i++) {
				e.param = i;
				snprintf(name, sizeof(name), "%u", i);
				rc = dir_add(req, d, name, &e, true);
			}
		}
		if (!rc && n->p.kind == IPCORE_MQ) {
			struct ino_parts t = self;

			t.node = NODE_TYPES;
			rc = dir_add(req, d, "type", &t, true);
		}
		return rc;
	case NODE_ELEM:
		return list_files(req, d, n, IN_ELEM);
	case NODE_TYPE:
		return list_files(req, d, n, IN_TYPE);
	case NODE_TYPES: /* any type can be looked up; none is listed */
		return 0;
	case NODE_FILE:
	case NODE_DYNAMIC:
		break;
	}
	return -ENOTDIR;
}

static void dirbuf_free(struct open_file *f)
{
	struct dirbuf *d = (struct dirbuf *)f;

	pthread_mutex_destroy(&d->lock);
	free(d->p);
	free(d);
}

static void ipcfs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct node_ref n;
	struct dirbuf *d;
	int rc = resolve(ino, &n);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (n.p.node == NODE_FILE) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	open_track(&d->link, true);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi)) {
		open_untrack(&d->link);
		dirbuf_free(&d->link);
	}
}

static void ipcfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct dirbuf *d = (struct dirbuf *)(uintptr_t)fi->fh;
	struct node_ref n;
	int rc;

	pthread_mutex_lock(&d->lock);
	if (off == 0) {
		rc = resolve(ino, &n);
		if (!rc)
			rc = build_listing(req, d, &n);
		if (rc) {
			fuse_reply_err(req, -rc);
			goto out;
		}
	}
	if (off < 0 || (size_t)off >= d->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, d->p + off,
			       d->len - (size_t)off < size ?
				       d->len - (size_t)off : size);
out:
	pthread_mutex_unlock(&d->lock);
}

static void ipcfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	struct dirbuf *d = (struct dirbuf *)(uintptr_t)fi->fh;

	(void)ino;
	pthread_mutex_lock(&d->lock); /* a reply may still be on its way */
	pthread_mutex_unlock(&d->lock);
	open_untrack(&d->link);
	dirbuf_free(&d->link);
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
	if (!names_parse_key(name, &kn) || kn.key == IPC_PRIVATE ||
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
		rc = find_child_object(&p.p, name, &o, &via);
	if (!rc && !caller_owns(fuse_req_ctx(req), obj_perm(&o)))
		rc = -EPERM;
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
		if (n.p.node != NODE_OBJ) {
			rc = -EPERM;
		} else if (!caller_owns(fuse_req_ctx(req), obj_perm(&n.o))) {
			rc = -EPERM;
		} else {
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
			rc = -EISDIR;
		else if (n.file->role == ROLE_DATA)
			rc = shm_data_truncate(ipcfs_of(req)->shm_data, n.p.id,
					       attr->st_size);
		else if (attr->st_size != 0)
			rc = -EINVAL; /* O_TRUNC of an attribute: nothing to do */
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

/* What an open send or receive file remembers. */
struct msg_handle {
	struct open_file link; /* first: the list holds it by this */
	long type;
	bool delivered; /* receive: the one message of this open is read */
};

static void ipcfs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE;
	struct msg_handle *h;
	struct node_ref n;
	int rc = resolve(ino, &n);

	if (!rc && n.p.node != NODE_FILE)
		rc = -EISDIR;
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* The kernel checked the caller against the file's mode; root passes
	 * any check, so refuse what the file cannot do at all. */
	switch (n.file->role) {
	case ROLE_DATA:
		shm_data_open(ipcfs_of(req)->shm_data, req, n.p.id, fi);
		return;
	case ROLE_ATTR:
		if (acc != O_RDONLY && !n.file->set)
			rc = -EACCES;
		break;
	case ROLE_OP:
	case ROLE_SEND:
		if (acc == O_RDONLY)
			rc = -EACCES;
		fi->nonseekable = 1;
		break;
	case ROLE_RECEIVE:
		if (acc != O_RDONLY)
			rc = -EACCES;
		fi->nonseekable = 1;
		break;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->direct_io = 1;
	if (n.file->role == ROLE_SEND || n.file->role == ROLE_RECEIVE) {
		h = calloc(1, sizeof(*h));
		if (!h) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		h->type = n.type;
		open_track(&h->link, false);
		fi->fh = (uintptr_t)h;
		if (fuse_reply_open(req, fi)) {
			open_untrack(&h->link);
			free(h);
		}
		return;
	}
	fuse_reply_open(req, fi);
}

/* The file definition of an open file's inode, without a system call. */
static const struct file_def *open_file(fuse_ino_t ino, struct ino_parts *p)
{
	long type;

	if (!ino_resolve(ino, p, &type) || p->node != NODE_FILE)
		return NULL;
	return file_get(p->kind, p->file);
}

static void read_attr(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off)
{
	struct node_ref n;
	long long v;
	char text[32];
	int len, rc = resolve(ino, &n);

	if (!rc)
		rc = n.file->get(&n.o, n.p.param, &v);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	len = attr_format(n.file, v, text, sizeof(text));
	if (len < 0) {
		fuse_reply_err(req, -len);
		return;
	}
	if (off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, text + off,
			       (size_t)(len - off) < size ? (size_t)(len - off) :
							    size);
}

static void ipcfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);

	switch (f ? f->role : ROLE_OP) {
	case ROLE_ATTR:
		read_attr(req, ino, size, off);
		return;
	case ROLE_DATA:
		shm_data_read(fs->shm_data, req, size, off, fi);
		return;
	case ROLE_RECEIVE:
		blocking_mq_receive(fs->blocking, req, p.id, h->type, size,
				    fi->flags & O_NONBLOCK, &h->delivered);
		return;
	default:
		fuse_reply_err(req, EBADF);
	}
}

static void write_attr(fuse_req_t req, fuse_ino_t ino, const char *buf,
		       size_t size, off_t off)
{
	struct node_ref n;
	long long v;
	int rc = resolve(ino, &n);

	if (!rc && !n.file->set)
		rc = -EACCES;
	if (!rc && (off != 0 || attr_parse(n.file, buf, size, &v)))
		rc = -EINVAL;
	if (!rc && (n.file->access & ACC_OWNER) &&
	    !caller_owns(fuse_req_ctx(req), obj_perm(&n.o)))
		rc = -EPERM;
	if (!rc)
		rc = n.file->set(&n.o, n.p.param, v, fuse_req_ctx(req));
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

/* op: one signed delta per write, "-1" (P), "+2" or "2" (V), "0" (Z). */
static void write_op(fuse_req_t req, const struct ino_parts *p,
		     const char *buf, size_t size, bool nonblock)
{
	static const struct file_def delta_fmt = { .fmt = FMT_DEC };
	long long delta;

	if (attr_parse(&delta_fmt, buf, size, &delta) || delta < SHRT_MIN ||
	    delta > SHRT_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	blocking_sem_op(ipcfs_of(req)->blocking, req, p->id,
			(unsigned short)p->param, (short)delta, nonblock, size);
}

static void ipcfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct ipcfs *fs = ipcfs_of(req);
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	bool nonblock = fi->flags & O_NONBLOCK;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);

	switch (f ? f->role : ROLE_RECEIVE) {
	case ROLE_ATTR:
		write_attr(req, ino, buf, size, off);
		return;
	case ROLE_OP:
		write_op(req, &p, buf, size, nonblock);
		return;
	case ROLE_DATA:
		shm_data_write(fs->shm_data, req, buf, size, off, fi);
		return;
	case ROLE_SEND:
		blocking_mq_send(fs->blocking, req, p.id, h->type, buf, size,
				 nonblock);
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
	if (f && (f->role == ROLE_SEND || f->role == ROLE_RECEIVE)) {
		struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;

		open_untrack(&h->link);
		free(h);
	}
	fuse_reply_err(req, 0);
}

static void ipcfs_poll(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct msg_handle *h = (struct msg_handle *)(uintptr_t)fi->fh;
	struct ino_parts p;
	const struct file_def *f = open_file(ino, &p);

	struct blocking *b = ipcfs_of(req)->blocking;

	/* The flag is read under blocking's lock: a read of this open may be
	 * setting it in a waiter thread right now. */
	if (f && f->role == ROLE_RECEIVE && !blocking_mq_delivered(b, &h->delivered)) {
		blocking_mq_poll(b, req, p.id, h->type, ph);
		return;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
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
	.opendir = ipcfs_opendir,
	.readdir = ipcfs_readdir,
	.releasedir = ipcfs_releasedir,
	.create = ipcfs_create,
	.poll = ipcfs_poll,
};
