/*
 * The files of each kind of object: one table per kind, the attribute
 * getters and setters, and the text of attributes.
 */
#include "ipcfs.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Objects                                                            */
/* ------------------------------------------------------------------ */

int obj_stat(enum ipcore_kind kind, int id, struct obj *o)
{
	int rc = -EINVAL;

	o->kind = kind;
	o->id = id;
	switch (kind) {
	case IPCORE_SEM:
		rc = ipcore_sem_stat(id, &o->u.sem);
		break;
	case IPCORE_SHM:
		rc = ipcore_shm_stat(id, &o->u.shm);
		break;
	case IPCORE_MQ:
		rc = ipcore_mq_stat(id, &o->u.mq);
		break;
	}
	return rc ? -ipcfs_errno(rc, IPCORE_OP_STAT) : 0;
}

const struct ipcore_perm *obj_perm(const struct obj *o)
{
	switch (o->kind) {
	case IPCORE_SEM:
		return &o->u.sem.perm;
	case IPCORE_SHM:
		return &o->u.shm.perm;
	case IPCORE_MQ:
		break;
	}
	return &o->u.mq.perm;
}

unsigned long long obj_size(const struct obj *o)
{
	switch (o->kind) {
	case IPCORE_SEM:
		return o->u.sem.nsems;
	case IPCORE_SHM:
		return o->u.shm.size;
	case IPCORE_MQ:
		break;
	}
	return 0;
}

uint64_t obj_generation(const struct obj *o)
{
	const struct ipcore_perm *perm = obj_perm(o);
	uint64_t words[5] = { (uint64_t)o->kind, perm->cuid, perm->cgid,
			      obj_size(o),
			      o->kind == IPCORE_SHM ? (uint64_t)o->u.shm.cpid :
						      (uint32_t)perm->key };
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i, b;

	/* FNV-1a */
	for (i = 0; i < 5; i++)
		for (b = 0; b < 8; b++) {
			h ^= (words[i] >> (8 * b)) & 0xff;
			h *= UINT64_C(1099511628211);
		}
	return h | 1; /* never 0, the generation of the stable nodes */
}


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
	return rc ? -ipcfs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int sem_pid(const struct obj *o, unsigned elem, long long *v)
{
	pid_t pid = 0;
	int rc = ipcore_sem_get_pid(o->id, (int)elem, &pid);

	*v = pid;
	return rc ? -ipcfs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int sem_ncount(const struct obj *o, unsigned elem, long long *v)
{
	int n = 0, rc = ipcore_sem_get_ncount(o->id, (int)elem, &n);

	*v = n;
	return rc ? -ipcfs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int sem_zcount(const struct obj *o, unsigned elem, long long *v)
{
	int n = 0, rc = ipcore_sem_get_zcount(o->id, (int)elem, &n);

	*v = n;
	return rc ? -ipcfs_errno(rc, IPCORE_OP_STAT) : 0;
}

static int set_sem_value(const struct obj *o, unsigned elem, long long v,
			 struct caller *who)
{
	int rc;

	(void)who;
	if (v < 0 || v > IPCORE_SEM_VALUE_MAX)
		return -ERANGE;
	rc = ipcore_sem_set_value(o->id, (int)elem, (int)v);
	return rc ? -ipcfs_errno(rc, IPCORE_OP_SET) : 0;
}

static int set_owner_mode(const struct obj *o, uid_t uid, gid_t gid,
			  unsigned mode)
{
	int rc = ipcore_set_owner_mode(o->kind, o->id, uid, gid, mode);

	return rc ? -ipcfs_errno(rc, IPCORE_OP_SET) : 0;
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
	return rc ? -ipcfs_errno(rc, IPCORE_OP_SET) : 0;
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

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

const struct file_def *file_table(enum ipcore_kind kind, size_t *count)
{
	switch (kind) {
	case IPCORE_SEM:
		*count = LEN(sem_files);
		return sem_files;
	case IPCORE_SHM:
		*count = LEN(shm_files);
		return shm_files;
	case IPCORE_MQ:
		break;
	}
	*count = LEN(mq_files);
	return mq_files;
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

const struct file_def *file_get(enum ipcore_kind kind, unsigned index)
{
	size_t n;
	const struct file_def *t = file_table(kind, &n);

	return index < n ? &t[index] : NULL;
}

/* ------------------------------------------------------------------ */
/* Attribute text                                                     */
/* ------------------------------------------------------------------ */

int attr_format(const struct file_def *f, long long v, char *buf, size_t len)
{
	int n = f->fmt == FMT_OCT ? snprintf(buf, len, "0%03llo\n", v) :
				    snprintf(buf, len, "%lld\n", v);

	return n < 0 || (size_t)n >= len ? -EOVERFLOW : n;
}

static int parse_id_name(enum attr_fmt fmt, const char *s, long long *v)
{
	char buf[1024];
	int rc;

	if (fmt == FMT_UID) {
		struct passwd pw, *res = NULL;

		rc = getpwnam_r(s, &pw, buf, sizeof(buf), &res);
		if (rc || !res)
			return -EINVAL;
		*v = res->pw_uid;
	} else {
		struct group gr, *res = NULL;

		rc = getgrnam_r(s, &gr, buf, sizeof(buf), &res);
		if (rc || !res)
			return -EINVAL;
		*v = res->gr_gid;
	}
	return 0;
}

int attr_parse(const struct file_def *f, const char *text, size_t len,
	       long long *v)
{
	char s[64], *end;
	size_t a = 0, b = len;
	int base = f->fmt == FMT_OCT ? 8 : 10;

	/* The text is a byte string, not a C string: a NUL in it would end
	 * the number early ("5\0junk" read as 5, "\0" as 0). */
	if (memchr(text, '\0', len))
		return -EINVAL;
	while (a < b && isspace((unsigned char)text[a]))
		a++;
	while (b > a && isspace((unsigned char)text[b - 1]))
		b--;
	if (a == b || b - a >= sizeof(s))
		return -EINVAL;
	memcpy(s, text + a, b - a);
	s[b - a] = '\0';

	if ((f->fmt == FMT_UID || f->fmt == FMT_GID) &&
	    !isdigit((unsigned char)s[0]))
		return parse_id_name(f->fmt, s, v);
	end = s;
	if (f->fmt == FMT_OCT && s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		end += 2;
	if (f->fmt != FMT_DEC && !isdigit((unsigned char)*end))
		return -EINVAL;
	errno = 0;
	*v = strtoll(end, &end, base);
	if (errno || *end)
		return -EINVAL;
	/* (uid_t)-1 would mean "leave it" to IPC_SET. */
	if ((f->fmt == FMT_UID || f->fmt == FMT_GID) &&
	    (*v < 0 || *v >= (long long)UINT32_MAX))
		return -EINVAL;
	return 0;
}
