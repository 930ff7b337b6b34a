/*
 * quota — per-uid counters (see quota.h): a small hash of the uids that
 * hold something, under one lock.
 */
#include "quota.h"

#include <errno.h>
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
	struct holder *buckets[BUCKETS];
};

int quota_new(struct quota **out, unsigned limit)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	q->limit = limit;
	*out = q;
	return 0;
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

bool quota_take(struct quota *q, uid_t uid)
{
	struct holder **p;
	bool ok = false;

	pthread_mutex_lock(&q->lock);
	p = slot(q, uid);
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (*p)
			(*p)->uid = uid;
	}
	if (*p && (*p)->held < q->limit) {
		(*p)->held++;
		ok = true;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void quota_give(struct quota *q, uid_t uid)
{
	struct holder **p, *h;

	pthread_mutex_lock(&q->lock);
	p = slot(q, uid);
	h = *p;
	if (h && h->held && --h->held == 0) {
		*p = h->next;
		free(h);
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
