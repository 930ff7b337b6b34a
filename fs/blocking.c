/*
 * blocking — the state of the waiting calls, started and stopped together
 * (see blocking.h): the waiter engine (waiter.c), the poll watcher
 * (mq_poll.c) and the fast paths' message buffers (msgbuf.c).
 */
#include "config.h"
#include "blocking.h"
#include "mq_poll.h"
#include "msgbuf.h"
#include "waiter.h"

#include <errno.h>
#include <stdlib.h>

int blocking_start(struct blocking **out, struct fuse_session *se,
		   const struct blocking_limits *limits)
{
	struct blocking *b;
	int rc;

	(void)se; /* notifications need only their poll handles */
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = msgbufs_new(&b->msgbufs);
	if (rc < 0)
		goto err_free;
	rc = waiters_start(&b->waiters, limits);
	if (rc < 0)
		goto err_msgbufs;
	rc = mq_polls_start(&b->polls, b->msgbufs);
	if (rc < 0)
		goto err_waiters;
	*out = b;
	return 0;

err_waiters:
	waiters_stop(b->waiters);
err_msgbufs:
	msgbufs_free(b->msgbufs);
err_free:
	free(b);
	return rc;
}

void blocking_stop(struct blocking *b)
{
	if (!b)
		return;
	mq_polls_stop(b->polls);
	waiters_stop(b->waiters);
	/* Last: the watcher and the workers that used them have ended. */
	msgbufs_free(b->msgbufs);
	free(b);
}
