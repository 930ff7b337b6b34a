/*
 * The inode scheme and the table of the nodes that belong to an object
 * (see ino.h).
 */
#include "ino.h"
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

struct ino_dynamic {
	fuse_ino_t base;  /* the node's number in the static layout */
	long type;        /* message type, for type dirs and typed files */
	uint64_t gen;     /* obj_generation() of its object */
	uint64_t nlookup; /* 0: free */
	uint32_t next;    /* 1 + the next entry in its hash chain, or 0 */
	bool unique;      /* made for one lookup, never found by another */
};

void ino_table_init(struct ino_table *t)
{
	*t = (struct ino_table){ .dyns = NULL };
	pthread_mutex_init(&t->lock, NULL);
}

static bool dynamic_index(fuse_ino_t ino, size_t *index)
{
	if ((uint64_t)ino >> SHIFT_NODE != NODE_DYNAMIC)
		return false;
	*index = (uint32_t)ino;
	return true;
}

static size_t dyn_hash(const struct ino_table *t, fuse_ino_t base,
		       long type, uint64_t gen)
{
	uint64_t h = (uint64_t)base * UINT64_C(0x9e3779b97f4a7c15);

	h ^= ((uint64_t)type + gen) * UINT64_C(0xc2b2ae3d27d4eb4f);
	h ^= h >> 29;
	return (size_t)h & (t->cap - 1);
}

static void dyn_link(struct ino_table *t, size_t i)
{
	struct ino_dynamic *d = &t->dyns[i];
	size_t b = dyn_hash(t, d->base, d->type, d->gen);

	d->next = t->buckets[b];
	t->buckets[b] = (uint32_t)i + 1;
}

static void dyn_unlink(struct ino_table *t, size_t i)
{
	struct ino_dynamic *d = &t->dyns[i];
	uint32_t *p = &t->buckets[dyn_hash(t, d->base, d->type, d->gen)];

	while (*p && *p != i + 1)
		p = &t->dyns[*p - 1].next;
	if (*p)
		*p = d->next;
}

static int dyn_grow(struct ino_table *t)
{
	size_t cap = t->cap ? 2 * t->cap : 64, i;
	struct ino_dynamic *d;
	uint32_t *f, *b;

	if (t->cap >= UINT32_MAX / 2)
		return -ENOSPC;
	d = realloc(t->dyns, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	t->dyns = d;
	f = realloc(t->free, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	t->free = f;
	b = calloc(cap, sizeof(*b));
	if (!b)
		return -ENOMEM;
	free(t->buckets);
	t->buckets = b;
	t->cap = cap;
	for (i = 0; i < t->count; i++)
		if (t->dyns[i].nlookup && !t->dyns[i].unique)
			dyn_link(t, i);
	return 0;
}

static fuse_ino_t dyn_ino(size_t i)
{
	return ((uint64_t)NODE_DYNAMIC << SHIFT_NODE) | (uint32_t)i;
}

int ino_dynamic_new(struct ino_table *t, fuse_ino_t base, long type,
		    uint64_t gen, bool unique, fuse_ino_t *ino)
{
	size_t i;
	uint32_t e;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (!unique && t->cap) {
		for (e = t->buckets[dyn_hash(t, base, type, gen)]; e;
		     e = t->dyns[e - 1].next) {
			struct ino_dynamic *d = &t->dyns[e - 1];

			if (d->base == base && d->type == type &&
			    d->gen == gen) {
				d->nlookup++;
				*ino = dyn_ino(e - 1);
				goto out;
			}
		}
	}
	if (t->nfree) {
		i = t->free[--t->nfree];
	} else {
		if (t->count == t->cap)
			rc = dyn_grow(t);
		if (rc)
			goto out;
		i = t->count++;
	}
	t->dyns[i] = (struct ino_dynamic){ .base = base, .type = type,
					   .gen = gen, .nlookup = 1,
					   .unique = unique };
	if (!unique)
		dyn_link(t, i);
	*ino = dyn_ino(i);
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void ino_dynamic_forget(struct ino_table *t, fuse_ino_t ino, uint64_t n)
{
	struct ino_dynamic *d;
	size_t i;

	if (!dynamic_index(ino, &i))
		return;
	pthread_mutex_lock(&t->lock);
	d = i < t->count ? &t->dyns[i] : NULL;
	if (d && d->nlookup) {
		d->nlookup -= n < d->nlookup ? n : d->nlookup;
		if (!d->nlookup) {
			if (!d->unique)
				dyn_unlink(t, i);
			t->free[t->nfree++] = (uint32_t)i;
		}
	}
	pthread_mutex_unlock(&t->lock);
}

bool ino_resolve(struct ino_table *t, fuse_ino_t ino, struct ino_parts *p,
		 long *type, uint64_t *gen)
{
	size_t i;
	bool found = false;

	*gen = 0;
	if (!dynamic_index(ino, &i))
		return ino_split(ino, p) &&
		       (p->node < NODE_OBJ || p->node == NODE_INFO ||
			p->node == NODE_INFO_FILE);
	pthread_mutex_lock(&t->lock);
	if (i < t->count && t->dyns[i].nlookup) {
		ino = t->dyns[i].base;
		*type = t->dyns[i].type;
		*gen = t->dyns[i].gen;
		found = true;
	}
	pthread_mutex_unlock(&t->lock);
	return found && ino_split(ino, p);
}

void ino_table_clear(struct ino_table *t)
{
	pthread_mutex_lock(&t->lock);
	free(t->dyns);
	free(t->free);
	free(t->buckets);
	t->dyns = NULL;
	t->free = NULL;
	t->buckets = NULL;
	t->count = t->nfree = t->cap = 0;
	pthread_mutex_unlock(&t->lock);
}

unsigned ino_type_tag(long type)
{
	uint64_t h = (uint64_t)type * UINT64_C(0x9e3779b97f4a7c15);

	return 1 + (unsigned)(h >> 49); /* 1 .. 32768: never 0 (untyped) */
}
