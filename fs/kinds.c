/* The kinds of object, one row each (see kinds.h). */
#include "kinds.h"
#include "fs_errno.h"

#include <errno.h>

static int sem_stat(int id, struct obj *o)
{
	return ipcore_sem_stat(id, &o->u.sem);
}

static int shm_stat(int id, struct obj *o)
{
	return ipcore_shm_stat(id, &o->u.shm);
}

static int mq_stat(int id, struct obj *o)
{
	return ipcore_mq_stat(id, &o->u.mq);
}

static unsigned long long sem_size(const struct obj *o)
{
	return o->u.sem.nsems;
}

static unsigned long long shm_size(const struct obj *o)
{
	return o->u.shm.size;
}

static unsigned long long mq_size(const struct obj *o)
{
	(void)o;
	return 0;
}

static const struct ipcore_perm *sem_perm(const struct obj *o)
{
	return &o->u.sem.perm;
}

static const struct ipcore_perm *shm_perm(const struct obj *o)
{
	return &o->u.shm.perm;
}

static const struct ipcore_perm *mq_perm(const struct obj *o)
{
	return &o->u.mq.perm;
}

static time_t sem_ctime(const struct obj *o)
{
	return o->u.sem.ctime;
}

static time_t shm_ctime(const struct obj *o)
{
	return o->u.shm.ctime;
}

static time_t mq_ctime(const struct obj *o)
{
	return o->u.mq.ctime;
}

static int sem_get(key_t key, unsigned long long size, int flags,
		   unsigned mode, struct ipcore_object *ob)
{
	return ipcore_sem_get(key, IPCORE_KEY_GIVEN, (int)size, flags, mode,
			      ob);
}

static int shm_get(key_t key, unsigned long long size, int flags,
		   unsigned mode, struct ipcore_object *ob)
{
	return ipcore_shm_get(key, IPCORE_KEY_GIVEN, (size_t)size, flags,
			      mode, ob);
}

static int mq_get(key_t key, unsigned long long size, int flags,
		  unsigned mode, struct ipcore_object *ob)
{
	(void)size;
	return ipcore_mq_get(key, IPCORE_KEY_GIVEN, flags, mode, ob);
}

struct kind_def {
	int (*stat)(int id, struct obj *o);
	unsigned long long (*size)(const struct obj *o);
	int (*get)(key_t key, unsigned long long size, int flags,
		   unsigned mode, struct ipcore_object *ob);
	const struct ipcore_perm *(*perm)(const struct obj *o);
	time_t (*ctime)(const struct obj *o);
};

static const struct kind_def kinds[] = {
	[IPCORE_SEM] = { sem_stat, sem_size, sem_get, sem_perm, sem_ctime },
	[IPCORE_SHM] = { shm_stat, shm_size, shm_get, shm_perm, shm_ctime },
	[IPCORE_MQ] = { mq_stat, mq_size, mq_get, mq_perm, mq_ctime },
};

/* The row of kind; the last one for a value out of range, as the
 * switches this table replaced did (kinds come from ino_split(), which
 * checks them, or from the table itself). */
static const struct kind_def *kind_def(enum ipcore_kind kind)
{
	return &kinds[(unsigned)kind <= IPCORE_MQ ? kind : IPCORE_MQ];
}

int obj_stat(enum ipcore_kind kind, int id, struct obj *o)
{
	int rc;

	o->kind = kind;
	o->id = id;
	rc = kind_def(kind)->stat(id, o);
	return rc ? -fs_errno(rc, IPCORE_OP_STAT) : 0;
}

const struct ipcore_perm *obj_perm(const struct obj *o)
{
	return kind_def(o->kind)->perm(o);
}

unsigned long long obj_size(const struct obj *o)
{
	return kind_def(o->kind)->size(o);
}

time_t obj_ctime(const struct obj *o)
{
	return kind_def(o->kind)->ctime(o);
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

int kind_get(enum ipcore_kind kind, key_t key, unsigned long long size,
	     int flags, unsigned mode, struct ipcore_object *ob)
{
	return kind_def(kind)->get(key, size, flags, mode, ob);
}
