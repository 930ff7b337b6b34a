/*
 * The inode scheme (layout in ipcfs.h) and the table of the nodes that
 * belong to an object.
 */
#include "ipcfs.h"
#include "sysinfo.h"

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
	if (p->node == NODE_INFO || p->node == NODE_INFO_FILE)
		return p->kind == 0 && p->via == 0 && p->id == 0 &&
		       (p->node == NODE_INFO ?
				p->file == 0 && info_dir_name(p->param) :
				info_file_name(p->param, p->file) != NULL);
	return ((p->node >= NODE_KIND && p->node <= NODE_FILE) ||
		p->node == NODE_MSGS) &&
	       p->kind <= IPCORE_MQ && p->id >= 0;
}

/* ------------------------------------------------------------------ */
/* Node table                                                         */
/* ------------------------------------------------------------------ */

struct dynamic {
	fuse_ino_t base;  /* the node's number in the static layout */
	long type;        /* message type, for type dirs and typed files */
	uint64_t gen;     /* obj_generation() of its object */
	uint64_t nlookup; /* 0: free */
	uint32_t next;    /* 1 + the next entry in its hash chain, or 0 */
	bool unique;      /* made for one lookup, never found by another */
};

/* One array, freed indices reused from a stack, and a hash of the entries
 * that lookups share (keyed by base, type and generation), under one lock.
 * The hash has as many buckets as the array has room (a power of two). */
static pthread_mutex_t dyn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dynamic *dyns;
static uint32_t *dyn_free;
static uint32_t *dyn_buckets; /* 1 + index of a chain's first entry, or 0 */
static size_t dyn_count, dyn_nfree, dyn_cap;

static bool dynamic_index(fuse_ino_t ino, size_t *index)
{
	if ((uint64_t)ino >> SHIFT_NODE != NODE_DYNAMIC)
		return false;
	*index = (uint32_t)ino;
	return true;
}

static size_t dyn_hash(fuse_ino_t base, long type, uint64_t gen)
{
	uint64_t h = (uint64_t)base * UINT64_C(0x9e3779b97f4a7c15);

	h ^= ((uint64_t)type + gen) * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 29;
	return (size_t)h & (dyn_cap - 1);
}

static void dyn_link(size_t i)
{
	size_t b = dyn_hash(dyns[i].base, dyns[i].type, dyns[i].gen);

	dyns[i].next = dyn_buckets[b];
	dyn_buckets[b] = (uint32_t)i + 1;
}

static void dyn_unlink(size_t i)
{
	uint32_t *p = &dyn_buckets[dyn_hash(dyns[i].base, dyns[i].type,
					    dyns[i].gen)];

	while (*p && *p != i + 1)
		p = &dyns[*p - 1].next;
	if (*p)
		*p = dyns[i].next;
}

static int dyn_grow(void)
{
	size_t cap = dyn_cap ? 2 * dyn_cap : 64, i;
	struct dynamic *d;
	uint32_t *f, *b;

	if (dyn_cap >= UINT32_MAX / 2)
		return -ENOSPC;
	d = realloc(dyns, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	dyns = d;
	f = realloc(dyn_free, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	dyn_free = f;
	b = calloc(cap, sizeof(*b));
	if (!b)
		return -ENOMEM;
	free(dyn_buckets);
	dyn_buckets = b;
	dyn_cap = cap;
	for (i = 0; i < dyn_count; i++)
		if (dyns[i].nlookup && !dyns[i].unique)
			dyn_link(i);
	return 0;
}

static fuse_ino_t dyn_ino(size_t i)
{
	return ((uint64_t)NODE_DYNAMIC << SHIFT_NODE) | (uint32_t)i;
}

int dynamic_new(fuse_ino_t base, long type, uint64_t gen, bool unique,
		fuse_ino_t *ino)
{
	size_t i;
	uint32_t e;
	int rc = 0;

	pthread_mutex_lock(&dyn_lock);
	if (!unique && dyn_cap) {
		for (e = dyn_buckets[dyn_hash(base, type, gen)]; e;
		     e = dyns[e - 1].next) {
			struct dynamic *d = &dyns[e - 1];

			if (d->base == base && d->type == type &&
			    d->gen == gen) {
				d->nlookup++;
				*ino = dyn_ino(e - 1);
				goto out;
			}
		}
	}
	if (dyn_nfree) {
		i = dyn_free[--dyn_nfree];
	} else {
		if (dyn_count == dyn_cap)
			rc = dyn_grow();
		if (rc)
			goto out;
		i = dyn_count++;
	}
	dyns[i] = (struct dynamic){ .base = base, .type = type, .gen = gen,
				    .nlookup = 1, .unique = unique };
	if (!unique)
		dyn_link(i);
	*ino = dyn_ino(i);
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
		if (!dyns[i].nlookup) {
			if (!dyns[i].unique)
				dyn_unlink(i);
			dyn_free[dyn_nfree++] = (uint32_t)i;
		}
	}
	pthread_mutex_unlock(&dyn_lock);
}

bool ino_resolve(fuse_ino_t ino, struct ino_parts *p, long *type,
		 uint64_t *gen)
{
	size_t i;
	bool found = false;

	*gen = 0;
	if (!dynamic_index(ino, &i))
		return ino_split(ino, p) &&
		       (p->node < NODE_OBJ || p->node == NODE_INFO ||
			p->node == NODE_INFO_FILE);
	pthread_mutex_lock(&dyn_lock);
	if (i < dyn_count && dyns[i].nlookup) {
		ino = dyns[i].base;
		*type = dyns[i].type;
		*gen = dyns[i].gen;
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
	free(dyn_buckets);
	dyns = NULL;
	dyn_free = NULL;
	dyn_buckets = NULL;
	dyn_count = dyn_nfree = dyn_cap = 0;
	pthread_mutex_unlock(&dyn_lock);
}

unsigned type_tag(long type)
{
	uint64_t h = (uint64_t)type * UINT64_C(0x9e3779b97f4a7c15);

	return 1 + (unsigned)(h >> 49); /* 1 .. 32768: never 0 (untyped) */
}
