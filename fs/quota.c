/*
 * quota — per-uid counters (see quota.h): a small hash of the uids that
 * hold something, under one lock.
 */
#include "quota.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define BUCKETS 64

struct holder {
	struct holder *next;
	uid_t uid;
	unsigned held;
};

struct quota {
	pthread_mutex_t lock;
	unsigned limit;
	unsigned pool, reserve; /* UINT_MAX and 0 without a pool */
	unsigned total;         /* what all uids hold */
	struct holder *buckets[BUCKETS];
};

int quota_new_pooled(struct quota **out, unsigned limit, unsigned pool,
		     unsigned reserve)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	q->limit = limit;
	q->pool = pool;
	q->reserve = reserve;
	*out = q;
	return 0;
}

int quota_new(struct quota **out, unsigned limit)
{
	return quota_new_pooled(out, limit, UINT_MAX, 0);
}

void quota_free(struct quota *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < BUCKETS; i++)
		while (q->buckets[i]) {
			struct holder *h = q->buckets[i];

			q->buckets[i] = h->next;
			free(h);
		}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct holder **slot(struct quota *q, uid_t uid)
{
	struct holder **p = &q->buckets[(uint32_t)uid * 2654435761u % BUCKETS];

	while (*p && (*p)->uid != uid)
		p = &(*p)->next;
	return p;
}

/* uid's holder, made if need be; NULL when out of memory.  Under q->lock. */
static struct holder *holder_get(struct quota *q, uid_t uid)
{
	struct holder **p = slot(q, uid);

	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (*p)
			(*p)->uid = uid;
	}
	return *p;
}

/* Drops the holder of a uid that holds nothing.  Under q->lock. */
static void holder_put(struct quota *q, uid_t uid)
{
	struct holder **p = slot(q, uid), *h = *p;

	if (h && h->held == 0) {
		*p = h->next;
		free(h);
	}
}

/* Never past the uid's own limit; below it, while the pool has room, or,
 * with the pool used up, while the uid holds less than the reserve. */
static bool admit(const struct quota *q, unsigned mine)
{
	if (mine >= q->limit)
		return false;
	return q->total < q->pool || mine < q->reserve;
}

static int count(struct quota *q, uid_t uid, bool force)
{
	struct holder *h;
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	h = holder_get(q, uid);
	if (!h) {
		rc = -ENOMEM;
	} else if (force || admit(q, h->held)) {
		h->held++;
		q->total++;
	} else {
		holder_put(q, uid);
		rc = -EAGAIN;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int quota_try(struct quota *q, uid_t uid)
{
	return count(q, uid, false);
}

int quota_force(struct quota *q, uid_t uid)
{
	return count(q, uid, true);
}

bool quota_take(struct quota *q, uid_t uid)
{
	return quota_try(q, uid) == 0;
}

void quota_give(struct quota *q, uid_t uid)
{
	struct holder **p, *h;

	pthread_mutex_lock(&q->lock);
	p = slot(q, uid);
	h = *p;
	if (h && h->held) {
		q->total--;
		if (--h->held == 0) {
			*p = h->next;
			free(h);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned quota_held(struct quota *q, uid_t uid)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = *slot(q, uid) ? (*slot(q, uid))->held : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}
