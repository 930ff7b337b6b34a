/*
 * msgbuf — per-thread message buffers (see msgbuf.h).
 */
#include "config.h"
#include "msgbuf.h"
#include "ipcore.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct msgbufs {
	pthread_key_t key; /* a struct thread_buf per thread */
};

struct thread_buf {
	size_t cap;
	struct ipcore_msgbuf *buf;
};

static void thread_buf_free(void *p)
{
	struct thread_buf *t = p;

	free(t->buf);
	free(t);
}

int msgbufs_new(struct msgbufs **out)
{
	struct msgbufs *mb = calloc(1, sizeof(*mb));
	int rc;

	if (!mb)
		return -ENOMEM;
	rc = pthread_key_create(&mb->key, thread_buf_free);
	if (rc) {
		free(mb);
		return -rc;
	}
	*out = mb;
	return 0;
}

void msgbufs_free(struct msgbufs *mb)
{
	struct thread_buf *t;

	if (!mb)
		return;
	/* This thread may have run the session loop (-s): its buffer goes
	 * now, not at an exit that never runs the destructor. */
	t = pthread_getspecific(mb->key);
	if (t) {
		pthread_setspecific(mb->key, NULL);
		thread_buf_free(t);
	}
	pthread_key_delete(mb->key);
	free(mb);
}

struct ipcore_msgbuf *msgbuf_get(struct msgbufs *mb, size_t cap,
				 size_t *got)
{
	struct thread_buf *t = pthread_getspecific(mb->key);

	if (cap > SIZE_MAX / 2)
		return NULL;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		if (pthread_setspecific(mb->key, t) != 0) {
			free(t);
			return NULL;
		}
	}
	if (!t->buf || t->cap < cap) {
		struct ipcore_msgbuf *nb = malloc(ipcore_msgbuf_size(cap));

		if (!nb)
			return NULL;
		free(t->buf);
		t->buf = nb;
		t->cap = cap;
	}
	if (got)
		*got = t->cap;
	return t->buf;
}
