/*
 * The files of each kind of object: one table per kind, the attribute
 * getters and setters, the roles' operations, and those of op and data
 * files (see files.h).
 */
#include "files.h"
#include "attr_files.h"
#include "blocking.h"
#include "sem_wait.h"
#include "may.h"
#include "mq_file_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Getters and setters                                                */
/* ------------------------------------------------------------------ */

#define GETTER(name, expr)                                              \
	static int name(const struct obj *o, unsigned elem, long long *v) \
	{                                                               \
		(void)elem;                                             \
		*v = (long long)(expr);                                 \
		return 0;                                               \
	}

GETTER(get_id, o->id)
GETTER(get_key, obj_perm(o)->key)
GETTER(get_mode, obj_perm(o)->mode)
GETTER(get_uid, obj_perm(o)->uid)
GETTER(get_gid, obj_perm(o)->gid)
GETTER(get_cuid, obj_perm(o)->cuid)
GETTER(get_cgid, obj_perm(o)->cgid)

GETTER(sem_nsems, o->u.sem.nsems)
GETTER(sem_otime, o->u.sem.otime)
GETTER(sem_ctime, o->u.sem.ctime)

GETTER(shm_size, o->u.shm.size)
GETTER(shm_cpid, o->u.shm.cpid)
GETTER(shm_lpid, o->u.shm.lpid)
GETTER(shm_nattch, o->u.shm.nattch)
GETTER(shm_atime, o->u.shm.atime)
GETTER(shm_dtime, o->u.shm.dtime)
GETTER(shm_ctime, o->u.shm.ctime)

GETTER(mq_qnum, o->u.mq.qnum)
GETTER(mq_cbytes, o->u.mq.cbytes)
GETTER(mq_qbytes, o->u.mq.qbytes)
GETTER(mq_stime, o->u.mq.stime)
GETTER(mq_rtime, o->u.mq.rtime)
GETTER(mq_ctime, o->u.mq.ctime)
GETTER(mq_lspid, o->u.mq.lspid)
GETTER(mq_lrpid, o->u.mq.lrpid)

static int sem_value(const struct obj *o, unsigned elem, long long *v)
{
	int n = 0, rc = ipcore_sem_get_value(o->id, (int)elem, &n);

	*v = n;
	return rc ? -fs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int sem_pid(const struct obj *o, unsigned elem, long long *v)
{
	pid_t pid = 0;
	int rc = ipcore_sem_get_pid(o->id, (int)elem, &pid);

	*v = pid;
	return rc ? -fs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int sem_ncount(const struct obj *o, unsigned elem, long long *v)
{
	int n = 0, rc = ipcore_sem_get_ncount(o->id, (int)elem, &n);

	*v = n;
	return rc ? -fs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int sem_zcount(const struct obj *o, unsigned elem, long long *v)
{
	int n = 0, rc = ipcore_sem_get_zcount(o->id, (int)elem, &n);

	*v = n;
	return rc ? -fs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int set_sem_value(const struct obj *o, unsigned elem, long long v,
			 struct caller *who)
{
	int rc;

	(void)who;
	if (v < 0 || v > IPCORE_SEM_VALUE_MAX)
		return -ERANGE;
	rc = ipcore_sem_set_value(o->id, (int)elem, (int)v);
	return rc ? -fs_errno(rc, IPCORE_OP_SET) : 0;
}

static int set_owner_mode(const struct obj *o, uid_t uid, gid_t gid,
			  unsigned mode)
{
	int rc = ipcore_set_owner_mode(o->kind, o->id, uid, gid, mode);

	return rc ? -fs_errno(rc, IPCORE_OP_SET) : 0;
}

static int set_mode(const struct obj *o, unsigned elem, long long v,
		    struct caller *who)
{
	(void)elem;
	(void)who;
	if (v < 0 || v > 07777)
		return -EINVAL;
	return set_owner_mode(o, (uid_t)-1, (gid_t)-1, (unsigned)v & 0777);
}

static int set_uid(const struct obj *o, unsigned elem, long long v,
		   struct caller *who)
{
	(void)elem;
	(void)who;
	return set_owner_mode(o, (uid_t)v, (gid_t)-1, (unsigned)-1);
}

static int set_gid(const struct obj *o, unsigned elem, long long v,
		   struct caller *who)
{
	(void)elem;
	(void)who;
	return set_owner_mode(o, (uid_t)-1, (gid_t)v, (unsigned)-1);
}

/* MSGMNB, the limit above which raising msg_qbytes needs
 * CAP_SYS_RESOURCE.  Read when needed: writes to max_size are rare. */
static unsigned long msgmnb_limit(void)
{
	unsigned long v = 16384;
	FILE *f = fopen("/proc/sys/kernel/msgmnb", "re");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 16384;
		fclose(f);
	}
	return v;
}

static int set_max_size(const struct obj *o, unsigned elem, long long v,
			struct caller *who)
{
	int rc;

	(void)elem;
	if (v < 0 || (unsigned long long)v > ULONG_MAX)
		return -EINVAL;
	/* msgctl's rule, which the daemon's own CAP_SYS_RESOURCE would
	 * bypass: above MSGMNB only for a privileged caller. */
	if ((unsigned long)v > msgmnb_limit() &&
	    !caller_capable(who, CAPABILITY_SYS_RESOURCE))
		return -EPERM;
	rc = ipcore_mq_set_max_bytes(o->id, (unsigned long)v);
	return rc ? -fs_errno(rc, IPCORE_OP_SET) : 0;
}

/* ------------------------------------------------------------------ */
/* The tables                                                         */
/* ------------------------------------------------------------------ */

#define ATTR_RO(n, w, g) { n, ROLE_ATTR, w, ACC_READ, FMT_DEC, g, NULL }
#define OWNED(n, fmt, g, s) { n, ROLE_ATTR, IN_OBJ, ACC_READ | ACC_OWNER, fmt, g, s }
#define PERM_FILES                                                  \
	ATTR_RO("id", IN_OBJ, get_id), ATTR_RO("key", IN_OBJ, get_key), \
	OWNED("mode", FMT_OCT, get_mode, set_mode),                  \
	OWNED("uid", FMT_UID, get_uid, set_uid),                     \
	OWNED("gid", FMT_GID, get_gid, set_gid),                     \
	ATTR_RO("cuid", IN_OBJ, get_cuid), ATTR_RO("cgid", IN_OBJ, get_cgid)

static const struct file_def sem_files[] = {
	{ "value", ROLE_ATTR, IN_OBJ | IN_ELEM, ACC_READ | ACC_WRITE, FMT_DEC,
	  sem_value, set_sem_value },
	{ "op", ROLE_OP, IN_OBJ | IN_ELEM, ACC_WRITE, FMT_DEC, NULL, NULL },
	PERM_FILES,
	ATTR_RO("nsems", IN_OBJ, sem_nsems),
	ATTR_RO("last_pid", IN_OBJ | IN_ELEM, sem_pid),
	ATTR_RO("o_time", IN_OBJ, sem_otime),
	ATTR_RO("c_time", IN_OBJ, sem_ctime),
	ATTR_RO("waiting_for_nonzero", IN_OBJ | IN_ELEM, sem_ncount),
	ATTR_RO("waiting_for_zero", IN_OBJ | IN_ELEM, sem_zcount),
};

static const struct file_def shm_files[] = {
	{ "data", ROLE_DATA, IN_OBJ, ACC_READ | ACC_WRITE, FMT_DEC, NULL, NULL },
	PERM_FILES,
	ATTR_RO("size", IN_OBJ, shm_size),
	ATTR_RO("creator_pid", IN_OBJ, shm_cpid),
	ATTR_RO("last_pid", IN_OBJ, shm_lpid),
	ATTR_RO("number_attached", IN_OBJ, shm_nattch),
	ATTR_RO("last_attach_time", IN_OBJ, shm_atime),
	ATTR_RO("last_detach_time", IN_OBJ, shm_dtime),
	ATTR_RO("last_change_time", IN_OBJ, shm_ctime),
};

static const struct file_def mq_files[] = {
	{ "send", ROLE_SEND, IN_OBJ | IN_TYPE, ACC_WRITE, FMT_DEC, NULL, NULL },
	{ "receive", ROLE_RECEIVE, IN_OBJ | IN_TYPE, ACC_READ, FMT_DEC, NULL,
	  NULL },
	{ "peek", ROLE_PEEK, IN_OBJ, ACC_READ, FMT_DEC, NULL, NULL },
	/* messages/<i> and <i>.type: not found by name (lookup parses it) */
	{ "<i>", ROLE_MSG, IN_MSGS, ACC_READ, FMT_DEC, NULL, NULL },
	{ "<i>.type", ROLE_MSG_TYPE, IN_MSGS, ACC_READ, FMT_DEC, NULL, NULL },
	PERM_FILES,
	ATTR_RO("current_messages", IN_OBJ, mq_qnum),
	ATTR_RO("current_bytes", IN_OBJ, mq_cbytes),
	OWNED("max_size", FMT_DEC, mq_qbytes, set_max_size),
	ATTR_RO("last_send_time", IN_OBJ, mq_stime),
	ATTR_RO("last_receive_time", IN_OBJ, mq_rtime),
	ATTR_RO("last_change_time", IN_OBJ, mq_ctime),
	ATTR_RO("last_send_pid", IN_OBJ, mq_lspid),
	ATTR_RO("last_receive_pid", IN_OBJ, mq_lrpid),
};

const struct file_def file_info = { "limits/, usage/", ROLE_INFO, 0,
				    ACC_READ, FMT_DEC, NULL, NULL };

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const struct file_def *files;
	size_t count;
} tables[] = {
	[IPCORE_SEM] = { sem_files, LEN(sem_files) },
	[IPCORE_SHM] = { shm_files, LEN(shm_files) },
	[IPCORE_MQ] = { mq_files, LEN(mq_files) },
};

const struct file_def *file_table(enum ipcore_kind kind, size_t *count)
{
	/* The last one for a value out of range, as ipcore_kind's switches
	 * do (kinds come from ino_split(), which checks them). */
	unsigned k = (unsigned)kind <= IPCORE_MQ ? kind : IPCORE_MQ;

	*count = tables[k].count;
	return tables[k].files;
}

int file_find(enum ipcore_kind kind, unsigned where, const char *name)
{
	size_t i, n;
	const struct file_def *t = file_table(kind, &n);

	for (i = 0; i < n; i++)
		if ((t[i].where & where) && !strcmp(t[i].name, name))
			return (int)i;
	return -1;
}

int file_find_role(enum ipcore_kind kind, enum file_role role)
{
	size_t i, n;
	const struct file_def *t = file_table(kind, &n);

	for (i = 0; i < n; i++)
		if (t[i].role == role)
			return (int)i;
	return -1;
}

const struct file_def *file_get(enum ipcore_kind kind, unsigned index)
{
	size_t n;
	const struct file_def *t = file_table(kind, &n);

	return index < n ? &t[index] : NULL;
}

/* ------------------------------------------------------------------ */
/* Calls on open files                                                */
/* ------------------------------------------------------------------ */

int file_call(fuse_req_t req, struct node_ref *n, unsigned want)
{
	int rc = tree_stat(n);

	if (!rc && want)
		rc = may_ipc(req, n, want);
	return rc;
}

/* ------------------------------------------------------------------ */
/* op files                                                           */
/* ------------------------------------------------------------------ */

/* Opens of the files whose calls reach the kernel only when made: a plain
 * open, not seekable (a write is a call, not a place in a file). */
static void open_call(fuse_req_t req, const struct node_ref *n,
		      struct fuse_file_info *fi)
{
	(void)n;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

/* op: one signed delta per write, "-1" (P), "+2" or "2" (V), "0" (Z).  A
 * Z needs read permission, a P or V write (alter), as semop(2) says. */
static void op_write(fuse_req_t req, struct node_ref *n, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	long long delta;
	int rc;

	(void)off;
	if (attr_parse_delta(buf, size, &delta)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	rc = file_call(req, n, delta ? MAY_WRITE : MAY_READ);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	sem_wait_op(ipcfs_of(req)->blocking, req, n->p.id,
		    (unsigned short)n->p.param, (short)delta,
		    fi->flags & O_NONBLOCK, size);
}

static const struct file_ops op_ops = {
	.may_open = may_open_op,
	.open = open_call,
	.write = op_write,
	.waits = true,
};

/* ------------------------------------------------------------------ */
/* data files: shm_data.c                                             */
/* ------------------------------------------------------------------ */

static void data_open(fuse_req_t req, const struct node_ref *n,
		      struct fuse_file_info *fi)
{
	shm_data_open(ipcfs_of(req)->shm_data, req, n->p.id, fi);
}

static void data_read(fuse_req_t req, struct node_ref *n, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	(void)n;
	shm_data_read(ipcfs_of(req)->shm_data, req, size, off, fi);
}

static void data_write(fuse_req_t req, struct node_ref *n, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)n;
	shm_data_write(ipcfs_of(req)->shm_data, req, buf, size, off, fi);
}

static void data_release(fuse_req_t req, struct node_ref *n,
			 struct fuse_file_info *fi)
{
	(void)n;
	shm_data_release(ipcfs_of(req)->shm_data, req, fi);
}

/* As an attachment that writes: read and write permission. */
static int data_truncate(fuse_req_t req, const struct node_ref *n,
			 off_t size)
{
	int rc = may_ipc(req, n, MAY_READ | MAY_WRITE);

	return rc ? rc : shm_data_truncate(ipcfs_of(req)->shm_data, n->p.id,
					   size);
}

static const struct file_ops data_ops = {
	.may_open = may_open_data,
	.open = data_open,
	.read = data_read,
	.write = data_write,
	.release = data_release,
	.truncate = data_truncate,
	.sized = true,
};

/* ------------------------------------------------------------------ */
/* Each role's operations                                             */
/* ------------------------------------------------------------------ */

static const struct file_ops *const role_ops[] = {
	[ROLE_ATTR] = &attr_file_ops,
	[ROLE_OP] = &op_ops,
	[ROLE_DATA] = &data_ops,
	[ROLE_SEND] = &mq_send_ops,
	[ROLE_RECEIVE] = &mq_receive_ops,
	[ROLE_PEEK] = &mq_copy_ops,
	[ROLE_MSG] = &mq_copy_ops,
	[ROLE_MSG_TYPE] = &mq_copy_ops,
	[ROLE_INFO] = &info_file_ops,
};

const struct file_ops *file_ops(const struct file_def *f)
{
	return role_ops[f->role];
}
