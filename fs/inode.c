/*
 * The inode scheme (layout in ipcfs.h) and the message type slots.
 */
#include "ipcfs.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define SHIFT_NODE 59
#define SHIFT_KIND 57
#define SHIFT_VIA 55
#define SHIFT_FILE 48
#define SHIFT_PARAM 32

#define MASK(bits) ((UINT64_C(1) << (bits)) - 1)

fuse_ino_t ino_make(const struct ino_parts *p)
{
	if (p->node == NODE_ROOT)
		return FUSE_ROOT_ID;
	return ((uint64_t)p->node << SHIFT_NODE) |
	       ((uint64_t)p->kind << SHIFT_KIND) |
	       ((uint64_t)p->via << SHIFT_VIA) |
	       ((uint64_t)(p->file & MASK(7)) << SHIFT_FILE) |
	       ((uint64_t)(p->param & MASK(16)) << SHIFT_PARAM) |
	       (uint32_t)p->id;
}

bool ino_split(fuse_ino_t ino, struct ino_parts *p)
{
	uint64_t v = ino;

	*p = (struct ino_parts){ .node = NODE_ROOT };
	if (ino == FUSE_ROOT_ID)
		return true;
	p->node = (enum node)(v >> SHIFT_NODE);
	p->kind = (enum ipcore_kind)((v >> SHIFT_KIND) & MASK(2));
	p->via = (enum via)((v >> SHIFT_VIA) & MASK(2));
	p->file = (unsigned)((v >> SHIFT_FILE) & MASK(7));
	p->param = (unsigned)((v >> SHIFT_PARAM) & MASK(16));
	p->id = (int)(uint32_t)v;
	return p->node >= NODE_KIND && p->node <= NODE_FILE &&
	       p->kind <= IPCORE_MQ && p->id >= 0;
}

/* ------------------------------------------------------------------ */
/* Instances of op and send files                                     */
/* ------------------------------------------------------------------ */

/* One per inode the kernel holds; freed indices are reused from a stack. */
struct instance {
	fuse_ino_t base;
	uint64_t nlookup; /* 0: free */
};

static pthread_mutex_t inst_lock = PTHREAD_MUTEX_INITIALIZER;
static struct instance *insts;
static uint32_t *inst_free; /* stack of free indices */
static size_t inst_count, inst_nfree, inst_cap;

#define INSTANCE_MAX UINT32_MAX

static bool instance_index(fuse_ino_t ino, size_t *index)
{
	if ((uint64_t)ino >> SHIFT_NODE != NODE_INSTANCE)
		return false;
	*index = (uint32_t)ino;
	return true;
}

int instance_new(fuse_ino_t base, fuse_ino_t *ino)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&inst_lock);
	if (inst_nfree) {
		i = inst_free[--inst_nfree];
	} else {
		if (inst_count == INSTANCE_MAX) {
			rc = -ENOSPC;
			goto out;
		}
		if (inst_count == inst_cap) {
			size_t cap = inst_cap ? 2 * inst_cap : 64;
			struct instance *n = realloc(insts, cap * sizeof(*n));
			uint32_t *f;

			if (!n) {
				rc = -ENOMEM;
				goto out;
			}
			insts = n;
			f = realloc(inst_free, cap * sizeof(*f));
			if (!f) {
				rc = -ENOMEM;
				goto out;
			}
			inst_free = f;
			inst_cap = cap;
		}
		i = inst_count++;
	}
	insts[i] = (struct instance){ base, 1 };
	*ino = ((uint64_t)NODE_INSTANCE << SHIFT_NODE) | (uint32_t)i;
out:
	pthread_mutex_unlock(&inst_lock);
	return rc;
}

bool instance_forget(fuse_ino_t ino, uint64_t n, fuse_ino_t *base)
{
	bool freed = false;
	size_t i;

	if (!instance_index(ino, &i))
		return false;
	pthread_mutex_lock(&inst_lock);
	if (i < inst_count && insts[i].nlookup) {
		insts[i].nlookup -= n < insts[i].nlookup ? n : insts[i].nlookup;
		if (!insts[i].nlookup) {
			*base = insts[i].base;
			inst_free[inst_nfree++] = (uint32_t)i;
			freed = true;
		}
	}
	pthread_mutex_unlock(&inst_lock);
	return freed;
}

bool ino_resolve(fuse_ino_t ino, struct ino_parts *p)
{
	size_t i;
	fuse_ino_t base = 0;

	if (instance_index(ino, &i)) {
		pthread_mutex_lock(&inst_lock);
		if (i < inst_count && insts[i].nlookup)
			base = insts[i].base;
		pthread_mutex_unlock(&inst_lock);
		if (!base)
			return false;
		ino = base;
	}
	return ino_split(ino, p);
}

uint64_t ino_generation(enum ipcore_kind kind, const struct ipcore_perm *perm,
			unsigned long long size)
{
	/* FNV-1a over the fields an object never changes. */
	uint64_t words[5] = { (uint64_t)kind, (uint32_t)perm->key, perm->cuid,
			      perm->cgid, size };
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i, b;

	for (i = 0; i < 5; i++)
		for (b = 0; b < 8; b++) {
			h ^= (words[i] >> (8 * b)) & 0xff;
			h *= UINT64_C(1099511628211);
		}
	return h | 1; /* never 0, the generation of the stable nodes */
}

/* ------------------------------------------------------------------ */
/* Message type slots                                                 */
/* ------------------------------------------------------------------ */

/*
 * A few slots are in use at a time (one per type directory the kernel
 * holds), so a linear search under one lock is enough.  The param field
 * holds 1 + the slot number, so at most 65535 slots.
 */
#define SLOT_MAX 65535u

struct type_slot {
	int msqid;
	long type;
	uint64_t nlookup; /* 0: free */
};

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct type_slot *slots;
static size_t slot_count, slot_cap;

int type_slot_get(int msqid, long type)
{
	size_t i, free_at = slot_count;
	int rc;

	pthread_mutex_lock(&slot_lock);
	for (i = 0; i < slot_count; i++) {
		if (slots[i].nlookup && slots[i].msqid == msqid &&
		    slots[i].type == type) {
			slots[i].nlookup++;
			rc = (int)i;
			goto out;
		}
		if (!slots[i].nlookup && free_at == slot_count)
			free_at = i;
	}
	if (free_at == slot_count) {
		if (slot_count == SLOT_MAX) {
			rc = -ENOSPC;
			goto out;
		}
		if (slot_count == slot_cap) {
			size_t cap = slot_cap ? 2 * slot_cap : 16;
			struct type_slot *n = realloc(slots, cap * sizeof(*n));

			if (!n) {
				rc = -ENOMEM;
				goto out;
			}
			slots = n;
			slot_cap = cap;
		}
		slot_count++;
	}
	slots[free_at] = (struct type_slot){ msqid, type, 1 };
	rc = (int)free_at;
out:
	pthread_mutex_unlock(&slot_lock);
	return rc;
}

void type_slot_ref(unsigned slot, uint64_t n)
{
	pthread_mutex_lock(&slot_lock);
	if (slot < slot_count && slots[slot].nlookup)
		slots[slot].nlookup += n;
	pthread_mutex_unlock(&slot_lock);
}

void type_slot_forget(unsigned slot, uint64_t n)
{
	pthread_mutex_lock(&slot_lock);
	if (slot < slot_count)
		slots[slot].nlookup -= n < slots[slot].nlookup ?
					       n : slots[slot].nlookup;
	while (slot_count && !slots[slot_count - 1].nlookup)
		slot_count--;
	if (!slot_count) {
		free(slots);
		slots = NULL;
		slot_cap = 0;
	}
	pthread_mutex_unlock(&slot_lock);
}

bool type_slot_type(unsigned slot, long *type)
{
	bool ok;

	pthread_mutex_lock(&slot_lock);
	ok = slot < slot_count && slots[slot].nlookup;
	if (ok)
		*type = slots[slot].type;
	pthread_mutex_unlock(&slot_lock);
	return ok;
}

void inode_tables_clear(void)
{
	pthread_mutex_lock(&slot_lock);
	free(slots);
	slots = NULL;
	slot_count = slot_cap = 0;
	pthread_mutex_unlock(&slot_lock);
	pthread_mutex_lock(&inst_lock);
	free(insts);
	free(inst_free);
	insts = NULL;
	inst_free = NULL;
	inst_count = inst_nfree = inst_cap = 0;
	pthread_mutex_unlock(&inst_lock);
}
