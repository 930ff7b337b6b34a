/*
 * mq_poll — poll handles and their watcher thread (see mq_poll.h).
 */
#include "config.h"
#include "mq_poll.h"
#include "clock.h"
#include "ipcore.h"
#include "msgbuf.h"
#include "quota.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define MQ_POLL_TICK_NS (2 * NS_PER_MS)   /* watcher period */
#define MQ_POLL_RESCAN_NS (100 * NS_PER_MS)
#define MQ_POLL_EXPIRE_NS (30 * NS_PER_S)
#define MQ_PEEK_FIRST 8192                /* first MSG_COPY buffer size */
#define MQ_QCACHE 16                      /* queues stat()ed once per tick */

/* What a typed handle saw of its queue at its last scan. */
struct mq_seen {
	unsigned long qnum, cbytes;
	pid_t lspid, lrpid;
	time_t stime, rtime, ctime;
};

struct mq_handle {
	struct mq_handle *next;
	struct fuse_pollhandle *ph;
	uid_t uid;          /* the poller's user (see mq_poll.h) */
	int id;
	long type;
	int64_t since;      /* when the handle came */
	int64_t scanned_at; /* when its queue was last scanned for type */
	bool scanned;
	struct mq_seen seen;
};

struct mq_polls {
	struct msgbufs *bufs;    /* the checks' per-thread buffers */
	struct quota *users;     /* handles per user, with the pool */
	pthread_mutex_t lock;
	pthread_cond_t cv;       /* work for the watcher, or stopping */

	/* Under lock. */
	bool stopping;
	struct mq_handle *handles; /* newest first; NULL while the watcher
				    * checks them */

	pthread_t watcher;
};

/* ------------------------------------------------------------------ */
/* Is there a message for type?                                       */
/* ------------------------------------------------------------------ */

static bool mq_type_matches(long want, long type)
{
	if (want > 0)
		return type == want;
	if (want < 0)
		return want == LONG_MIN || type <= -want;
	return true;
}

/*
 * 1 if queue id (as info shows it) holds a message for type, else 0; a
 * negated errno if the queue is gone.  For a type other than 0 the queue is
 * scanned with MSG_COPY peeks, which take nothing; where peeking is not
 * possible the answer is "yes" (a spurious wake-up rather than a lost one).
 */
static int mq_match(struct msgbufs *bufs, int id, long type,
		    const struct ipcore_mq_info *info)
{
	size_t cap = MQ_PEEK_FIRST;
	unsigned long i;

	if (info->qnum == 0)
		return 0;
	if (type == 0)
		return 1;
	for (i = 0; i < info->qnum; i++) {
		struct ipcore_msgbuf *buf = msgbuf_get(bufs, cap, &cap);
		ssize_t n;

		if (!buf)
			return 1;
		n = ipcore_mq_peek(id, buf, cap, (long)i);
		if (n == -E2BIG && cap < info->cbytes) {
			/* No message is longer than all the queue holds. */
			cap = info->cbytes;
			buf = msgbuf_get(bufs, cap, &cap);
			if (!buf)
				return 1;
			n = ipcore_mq_peek(id, buf, cap, (long)i);
		}
		if (n == -ENOMSG)
			return 0; /* the queue shrank under us */
		if (n == -EIDRM)
			return (int)n;
		if (n < 0)
			return 1;
		if (mq_type_matches(type, buf->type))
			return 1;
	}
	return 0;
}

static int mq_ready(struct msgbufs *bufs, int id, long type)
{
	struct ipcore_mq_info info;
	int rc = ipcore_mq_stat(id, &info);

	return rc < 0 ? rc : mq_match(bufs, id, type, &info);
}

static unsigned mq_revents(int ready)
{
	if (ready > 0)
		return POLLIN | POLLRDNORM;
	if (ready < 0) /* gone: wake the reader, whose read says ENOENT */
		return POLLIN | POLLRDNORM | POLLERR;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Keeping handles                                                    */
/* ------------------------------------------------------------------ */

/*
 * Takes out the oldest handle of user uid (the list is newest first) to
 * make room for a new one of the same user: the user is at its limit.
 * Under mp->lock; returns the handle, to be notified and destroyed.
 */
static struct fuse_pollhandle *mq_poll_evict_locked(struct mq_polls *mp,
						    uid_t uid)
{
	struct mq_handle **pp, **oldest = NULL;
	struct fuse_pollhandle *ph;
	struct mq_handle *p;

	for (pp = &mp->handles; *pp; pp = &(*pp)->next)
		if ((*pp)->uid == uid)
			oldest = pp;
	if (!oldest)
		return NULL; /* the watcher holds them all just now */
	p = *oldest;
	*oldest = p->next;
	ph = p->ph;
	free(p);
	quota_give(mp->users, uid);
	return ph;
}

/* Keeps handle p, counted for its user; false when it cannot be kept (no
 * memory, or stopping).  Fills evict[2] with handles of the same user
 * that had to go.  Under mp->lock. */
static bool mq_poll_keep_locked(struct mq_polls *mp, struct mq_handle *p,
				struct fuse_pollhandle *evict[2])
{
	int rc = -EAGAIN;
	size_t i;

	if (mp->stopping)
		return false;
	/* At its limit, the user's own oldest handle goes (notified: its
	 * poller, if still there, polls again), never another's.  Two at
	 * most: one more than this handle, to come back under the limit
	 * after the watcher held the list (nothing to evict then, and the
	 * handle is kept anyway). */
	for (i = 0; i <= 2; i++) {
		rc = quota_try(mp->users, p->uid);
		if (rc != -EAGAIN || i == 2 ||
		    !(evict[i] = mq_poll_evict_locked(mp, p->uid)))
			break;
	}
	if (rc == -EAGAIN)
		rc = quota_force(mp->users, p->uid);
	if (rc < 0)
		return false;
	p->next = mp->handles;
	mp->handles = p;
	pthread_cond_signal(&mp->cv);
	return true;
}

void mq_poll_answer(struct blocking *b, fuse_req_t req, int msqid,
		    long type, struct fuse_pollhandle *ph)
{
	struct mq_polls *mp = b->polls;
	int ready = mq_ready(b->msgbufs, msqid, type);
	struct fuse_pollhandle *evict[2] = { NULL, NULL };
	size_t i;

	if (ready == 0 && ph) {
		struct mq_handle *p = calloc(1, sizeof(*p));

		if (p) {
			p->ph = ph;
			p->uid = fuse_req_ctx(req)->uid;
			p->id = msqid;
			p->type = type;
			p->since = clock_now_ns();
			pthread_mutex_lock(&mp->lock);
			if (mq_poll_keep_locked(mp, p, evict))
				ph = NULL;
			pthread_mutex_unlock(&mp->lock);
			if (ph)
				free(p);
		}
		/* Not kept (no memory, or stopping): a spurious wake-up
		 * rather than a lost one. */
		if (ph)
			ready = 1;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, mq_revents(ready));
	for (i = 0; i < 2; i++) {
		if (evict[i]) {
			fuse_lowlevel_notify_poll(evict[i]);
			fuse_pollhandle_destroy(evict[i]);
		}
	}
}

/* ------------------------------------------------------------------ */
/* The watcher                                                        */
/* ------------------------------------------------------------------ */

struct mq_qcache {
	int id;
	int rc;
	struct ipcore_mq_info info;
};

static bool mq_seen_changed(const struct mq_handle *p,
			    const struct ipcore_mq_info *info)
{
	const struct mq_seen *s = &p->seen;

	return s->qnum != info->qnum || s->cbytes != info->cbytes ||
	       s->lspid != info->lspid || s->lrpid != info->lrpid ||
	       s->stime != info->stime || s->rtime != info->rtime ||
	       s->ctime != info->ctime;
}

/* Decides for one handle, with a per-tick cache of queue stats. */
static bool mq_poll_due(struct mq_polls *mp, struct mq_handle *p,
			struct mq_qcache *cache, size_t *ncache, int64_t now)
{
	struct mq_qcache *q = NULL, one;
	size_t i;

	if (now - p->since > MQ_POLL_EXPIRE_NS)
		return true; /* see the bounds in mq_poll.h */
	for (i = 0; i < *ncache; i++)
		if (cache[i].id == p->id)
			q = &cache[i];
	if (!q) {
		q = *ncache < MQ_QCACHE ? &cache[(*ncache)++] : &one;
		q->id = p->id;
		q->rc = ipcore_mq_stat(p->id, &q->info);
	}
	if (q->rc < 0)
		return true;
	if (q->info.qnum == 0) {
		p->scanned = false;
		return false;
	}
	if (p->type == 0)
		return true;
	if (p->scanned && !mq_seen_changed(p, &q->info) &&
	    now - p->scanned_at < MQ_POLL_RESCAN_NS)
		return false;
	p->scanned = true;
	p->scanned_at = now;
	p->seen = (struct mq_seen){
		.qnum = q->info.qnum, .cbytes = q->info.cbytes,
		.lspid = q->info.lspid, .lrpid = q->info.lrpid,
		.stime = q->info.stime, .rtime = q->info.rtime,
		.ctime = q->info.ctime,
	};
	return mq_match(mp->bufs, p->id, p->type, &q->info) != 0;
}

/* Checks every handle of list; notifies the due ones and destroys their
 * handles, returns the others (in order), and the due ones in *gone (to
 * be uncounted and freed under the lock). */
static struct mq_handle *mq_poll_check(struct mq_polls *mp,
				       struct mq_handle *list,
				       struct mq_handle **gone)
{
	struct mq_qcache cache[MQ_QCACHE];
	struct mq_handle *keep = NULL, **tail = &keep;
	size_t ncache = 0;
	int64_t now = clock_now_ns();

	*gone = NULL;
	while (list) {
		struct mq_handle *p = list;

		list = p->next;
		p->next = NULL;
		if (mq_poll_due(mp, p, cache, &ncache, now)) {
			fuse_lowlevel_notify_poll(p->ph);
			fuse_pollhandle_destroy(p->ph);
			p->ph = NULL;
			p->next = *gone;
			*gone = p;
		} else {
			*tail = p;
			tail = &p->next;
		}
	}
	return keep;
}

static void *mq_watcher_main(void *arg)
{
	struct mq_polls *mp = arg;
	int64_t next = 0;

	pthread_mutex_lock(&mp->lock);
	while (!mp->stopping) {
		struct mq_handle *list, *keep, **tail, *gone;

		if (!mp->handles) {
			pthread_cond_wait(&mp->cv, &mp->lock);
			continue;
		}
		if (clock_now_ns() < next) {
			clock_wait_until(&mp->cv, &mp->lock, next);
			continue;
		}
		list = mp->handles;
		mp->handles = NULL;
		pthread_mutex_unlock(&mp->lock);
		keep = mq_poll_check(mp, list, &gone);
		next = clock_now_ns() + MQ_POLL_TICK_NS;
		pthread_mutex_lock(&mp->lock);
		/* Handles that came meanwhile are newer: they go first. */
		tail = &mp->handles;
		while (*tail)
			tail = &(*tail)->next;
		*tail = keep;
		while (gone) {
			struct mq_handle *p = gone;

			gone = p->next;
			quota_give(mp->users, p->uid);
			free(p);
		}
	}
	pthread_mutex_unlock(&mp->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                     */
/* ------------------------------------------------------------------ */

int mq_polls_start(struct mq_polls **out, struct msgbufs *bufs)
{
	pthread_condattr_t ca;
	struct mq_polls *mp;
	sigset_t all, old;
	int rc;

	mp = calloc(1, sizeof(*mp));
	if (!mp)
		return -ENOMEM;
	mp->bufs = bufs;
	rc = -quota_new_pooled(&mp->users, MQ_POLL_MAX_PER_USER, MQ_POLL_MAX,
			       MQ_POLL_RESERVED);
	if (rc)
		goto err_free;
	rc = pthread_mutex_init(&mp->lock, NULL);
	if (rc)
		goto err_quota;
	rc = pthread_condattr_init(&ca);
	if (rc)
		goto err_mutex;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&mp->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc)
		goto err_mutex;

	/* Every signal blocked: the process's signals go to other threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&mp->watcher, NULL, mq_watcher_main, mp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto err_cv;
	*out = mp;
	return 0;

err_cv:
	pthread_cond_destroy(&mp->cv);
err_mutex:
	pthread_mutex_destroy(&mp->lock);
err_quota:
	quota_free(mp->users);
err_free:
	free(mp);
	return -rc;
}

void mq_polls_stop(struct mq_polls *mp)
{
	struct mq_handle *p;

	if (!mp)
		return;
	pthread_mutex_lock(&mp->lock);
	mp->stopping = true;
	pthread_cond_broadcast(&mp->cv);
	pthread_mutex_unlock(&mp->lock);
	pthread_join(mp->watcher, NULL);

	while ((p = mp->handles)) {
		mp->handles = p->next;
		fuse_pollhandle_destroy(p->ph);
		free(p);
	}
	pthread_cond_destroy(&mp->cv);
	pthread_mutex_destroy(&mp->lock);
	quota_free(mp->users);
	free(mp);
}
