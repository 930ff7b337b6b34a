/*
 * The inode scheme (layout in ipcfs.h) and the dynamic nodes.
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
/* Dynamic nodes                                                      */
/* ------------------------------------------------------------------ */

struct dynamic {
	fuse_ino_t base;  /* the node's number in the static layout */
	long type;        /* message type, for type dirs and typed files */
	uint64_t nlookup; /* 0: free */
};

/* One array, freed indices reused from a stack, under one lock. */
static pthread_mutex_t dyn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dynamic *dyns;
static uint32_t *dyn_free;
static size_t dyn_count, dyn_nfree, dyn_cap;

static bool dynamic_index(fuse_ino_t ino, size_t *index)
{
	if ((uint64_t)ino >> SHIFT_NODE != NODE_DYNAMIC)
		return false;
	*index = (uint32_t)ino;
	return true;
}

static int dyn_grow(void)
{
	size_t cap = dyn_cap ? 2 * dyn_cap : 64;
	struct dynamic *d;
	uint32_t *f;

	if (dyn_cap >= UINT32_MAX)
		return -ENOSPC;
	d = realloc(dyns, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	dyns = d;
	f = realloc(dyn_free, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	dyn_free = f;
	dyn_cap = cap;
	return 0;
}

int dynamic_new(fuse_ino_t base, long type, fuse_ino_t *ino)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&dyn_lock);
	if (dyn_nfree) {
		i = dyn_free[--dyn_nfree];
	} else {
		if (dyn_count == dyn_cap)
			rc = dyn_grow();
		if (rc)
			goto out;
		i = dyn_count++;
	}
	dyns[i] = (struct dynamic){ base, type, 1 };
	*ino = ((uint64_t)NODE_DYNAMIC << SHIFT_NODE) | (uint32_t)i;
out:
	pthread_mutex_unlock(&dyn_lock);
	return rc;
}

void dynamic_forget(fuse_ino_t ino, uint64_t n)
{
	size_t i;

	if (!dynamic_index(ino, &i))
		return;
	pthread_mutex_lock(&dyn_lock);
	if (i < dyn_count && dyns[i].nlookup) {
		dyns[i].nlookup -= n < dyns[i].nlookup ? n : dyns[i].nlookup;
		if (!dyns[i].nlookup)
			dyn_free[dyn_nfree++] = (uint32_t)i;
	}
	pthread_mutex_unlock(&dyn_lock);
}

bool ino_resolve(fuse_ino_t ino, struct ino_parts *p, long *type)
{
	size_t i;
	bool found = false;

	if (!dynamic_index(ino, &i))
		return ino_split(ino, p);
	pthread_mutex_lock(&dyn_lock);
	if (i < dyn_count && dyns[i].nlookup) {
		ino = dyns[i].base;
		*type = dyns[i].type;
		found = true;
	}
	pthread_mutex_unlock(&dyn_lock);
	return found && ino_split(ino, p);
}

void inode_tables_clear(void)
{
	pthread_mutex_lock(&dyn_lock);
	free(dyns);
	free(dyn_free);
	dyns = NULL;
	dyn_free = NULL;
	dyn_count = dyn_nfree = dyn_cap = 0;
	pthread_mutex_unlock(&dyn_lock);
}

unsigned type_tag(long type)
{
	uint64_t h = (uint64_t)type * UINT64_C(0x9e3779b97f4a7c15);

	return 1 + (unsigned)(h >> 49); /* 1 .. 32768: never 0 (untyped) */
}
