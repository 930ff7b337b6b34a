/*
 * blocking — the calls that can wait, answered from threads of their own
 * (see blocking.h for the contract and the design in full).
 *
 * In short: every call first runs with IPC_NOWAIT in the libfuse worker and
 * is answered there when it completes or fails.  Only a call that would
 * block gets a waiter: a slot (struct blk_waiter) and a thread with a small
 * stack that makes the blocking system call and answers.  Slots are never
 * freed before blocking_stop(), so the data given to
 * fuse_req_interrupt_func() stays valid whenever libfuse calls back; a
 * callback for a request the slot no longer serves sees w->req != req and
 * does nothing.  The watcher thread polls queues for pending poll handles
 * and joins finished waiter threads.
 *
 * Locking: one mutex, b->lock, guards every slot's req, interrupted and
 * in_call fields, the lists, the poll handles and the receive files' state
 * (struct blocking_rx).  It
 * is never held across a system call that can block, nor across a
 * fuse_reply_* or a notification.
 */
#include "config.h"
#include "blocking.h"
#include "fs_errno.h"
#include "ipcore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define BLK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BLK_ASAN 1
#endif
#endif

/* Stack of a waiter thread: it only makes system calls and answers. */
#ifdef BLK_ASAN
#define BLK_STACK_SIZE (512 * 1024)
#else
#define BLK_STACK_SIZE (64 * 1024)
#endif

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

#define BLK_KICK_NS (1 * NS_PER_MS)        /* wake-up signal repeated */
#define BLK_POLL_TICK_NS (2 * NS_PER_MS)   /* watcher period */
#define BLK_POLL_RESCAN_NS (100 * NS_PER_MS)
#define BLK_POLL_EXPIRE_NS (30 * NS_PER_S)
#define BLK_PEEK_FIRST 8192                /* first MSG_COPY buffer size */
#define BLK_QCACHE 16                      /* queues stat()ed once per tick */

/* The signal that takes a waiter out of its system call. */
#define BLK_SIGNAL (SIGRTMIN + BLOCKING_SIGNAL_OFFSET)

enum blk_job {
	BLK_SEM,       /* semop: P or Z */
	BLK_SEND,      /* msgsnd on a full queue */
	BLK_RECEIVE,   /* msgrcv on a queue without a matching message */
	BLK_GIVE_BACK, /* re-send a message taken for nobody (no request) */
};

struct blocking;

struct blk_waiter {
	/* First, and never changed once set: a late interrupt callback of a
	 * former request reads it without the lock while the slot is reused
	 * (blk_waiter_get() clears only what follows). */
	struct blocking *b;
	struct blk_waiter *prev, *next; /* b->active, or next in free/zombies */
	unsigned long gen;              /* bumped on every reuse of the slot */

	/* Under b->lock. */
	fuse_req_t req;    /* the request to answer; NULL once answered */
	pthread_t self;    /* the thread, stored by itself */
	bool interrupted;  /* the caller interrupted (or blocking_stop) */
	bool in_call;      /* inside a system call that may block */

	/* The job: fixed before the thread starts. */
	enum blk_job job;
	pid_t caller;      /* thread id of the caller */
	uid_t uid;         /* the user it is counted for (see LIMITS) */
	int id;
	unsigned short num;
	short delta;
	long type;
	size_t size;       /* ack (sem), length (send), capacity (receive) */
	size_t cap;        /* receive: buf's capacity (MSGMAX, see
			    * blk_msgmax()) */
	struct blocking_rx *rx;
	struct ipcore_msgbuf *buf; /* the waiter's own, freed when it ends */
};

_Static_assert(offsetof(struct blk_waiter, b) == 0,
	       "blk_waiter_get() clears what follows b");

struct blk_seen {
	unsigned long qnum, cbytes;
	pid_t lspid, lrpid;
	time_t stime, rtime, ctime;
};

struct blk_poll {
	struct blk_poll *next;
	struct fuse_pollhandle *ph;
	uid_t uid;          /* the poller's user (see blocking_mq_poll) */
	int id;
	long type;
	int64_t since;      /* when the handle came */
	int64_t scanned_at; /* when its queue was last scanned for type */
	bool scanned;
	struct blk_seen seen;
};

/* What one user holds (see LIMITS in blocking.h).  An entry exists while
 * the user holds something, so there are never more entries than users
 * with a wait or a poll. */
struct blk_user {
	struct blk_user *next;
	uid_t uid;
	unsigned int waiters;
	unsigned int polls;
};

#define BLK_USER_BUCKETS 64

struct blocking {
	struct fuse_session *se;
	unsigned int max_waiters;  /* the shared pool */
	unsigned int max_per_user;
	pthread_mutex_t lock;
	pthread_cond_t left_cv;  /* a waiter left its call or finished */
	pthread_cond_t watch_cv; /* work for the watcher */
	pthread_attr_t attr;
	bool proc_ok;            /* /proc can tell whether a caller is dying */

	/* Under lock. */
	bool stopping;
	struct blk_waiter *active;
	struct blk_waiter *free;
	struct blk_waiter *zombies; /* finished, not yet joined */
	unsigned int nactive;
	unsigned long gen;
	struct blk_poll *polls;
	unsigned int npolls;
	struct blk_user *users[BLK_USER_BUCKETS];

	pthread_t watcher;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static int64_t blk_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static struct timespec blk_at(int64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_S),
		.tv_nsec = (long)(ns % NS_PER_S),
	};

	return ts;
}

static void blk_timedwait(pthread_cond_t *cv, pthread_mutex_t *m,
			  int64_t at_ns)
{
	struct timespec at = blk_at(at_ns);

	pthread_cond_timedwait(cv, m, &at);
}

static void blk_wake_handler(int sig)
{
	(void)sig; /* only there to make the system call return EINTR */
}

static bool blk_type_matches(long want, long type)
{
	if (want > 0)
		return type == want;
	if (want < 0)
		return want == LONG_MIN || type <= -want;
	return true;
}

/* ------------------------------------------------------------------ */
/* Per-thread message buffers                                         */
/* ------------------------------------------------------------------ */

/* The fast paths run in libfuse's workers and reuse one buffer per thread;
 * a call that has to wait takes the buffer with it. */
struct blk_tls {
	size_t cap;
	struct ipcore_msgbuf *buf;
};

static pthread_key_t blk_tls_key;
static pthread_once_t blk_once = PTHREAD_ONCE_INIT;
static int blk_once_rc;

static void blk_tls_free(void *p)
{
	struct blk_tls *t = p;

	free(t->buf);
	free(t);
}

static void blk_once_init(void)
{
	blk_once_rc = pthread_key_create(&blk_tls_key, blk_tls_free);
}

/* The calling thread's buffer with room for at least cap bytes of text;
 * *got (if not NULL) says how much.  NULL when out of memory. */
static struct ipcore_msgbuf *blk_tls_buf(size_t cap, size_t *got)
{
	struct blk_tls *t = pthread_getspecific(blk_tls_key);

	if (cap > SIZE_MAX / 2)
		return NULL;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		if (pthread_setspecific(blk_tls_key, t) != 0) {
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

/* ------------------------------------------------------------------ */
/* Is the caller being killed?                                        */
/* ------------------------------------------------------------------ */

static bool blk_status_has_kill(const char *text, const char *field)
{
	const char *p = strstr(text, field);

	if (!p)
		return false;
	return (strtoull(p + strlen(field), NULL, 16) >>
		(SIGKILL - 1)) & 1;
}

/*
 * True when thread tid is gone or has SIGKILL pending: a fatal signal (a
 * SIGKILL, or a default-action SIGINT/SIGTERM) puts SIGKILL in every thread's
 * pending set.  Such a caller waits for our answer in the kernel but will
 * never see it, so what we took for it must be given back.  Closes most of
 * the window before the kernel's INTERRUPT reaches us.
 */
static bool blk_caller_gone(const struct blocking *b, pid_t tid)
{
	char path[48], text[4096];
	size_t n = 0;
	int fd;

	if (!b->proc_ok || tid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	while (n < sizeof(text) - 1) {
		ssize_t r = read(fd, text + n, sizeof(text) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	text[n] = '\0';
	return blk_status_has_kill(text, "\nSigPnd:") ||
	       blk_status_has_kill(text, "\nShdPnd:");
}

/* ------------------------------------------------------------------ */
/* Per-user accounting (LIMITS in blocking.h)                         */
/* ------------------------------------------------------------------ */

static struct blk_user **blk_user_slot(struct blocking *b, uid_t uid)
{
	struct blk_user **pp = &b->users[uid % BLK_USER_BUCKETS];

	while (*pp && (*pp)->uid != uid)
		pp = &(*pp)->next;
	return pp;
}

/* The user's entry, made if need be; NULL when out of memory.  Under
 * b->lock. */
static struct blk_user *blk_user_get_locked(struct blocking *b, uid_t uid)
{
	struct blk_user **pp = blk_user_slot(b, uid);

	if (!*pp) {
		*pp = calloc(1, sizeof(**pp));
		if (*pp)
			(*pp)->uid = uid;
	}
	return *pp;
}

/* Drops the entry of a user who holds nothing any more.  Under b->lock. */
static void blk_user_put_locked(struct blocking *b, uid_t uid)
{
	struct blk_user **pp = blk_user_slot(b, uid);
	struct blk_user *u = *pp;

	if (u && u->waiters == 0 && u->polls == 0) {
		*pp = u->next;
		free(u);
	}
}

/*
 * May a user who holds mine of something have one more, when all users
 * hold total of it?  Never past the user's own limit; below it, while the
 * shared pool has room, or, with the pool full, while the user holds less
 * than the reserve.  So the total stays under pool + reserve x users.
 */
static bool blk_admit(unsigned int mine, unsigned int total,
		      unsigned int per_user, unsigned int pool,
		      unsigned int reserve)
{
	if (mine >= per_user)
		return false;
	return total < pool || mine < reserve;
}

/* ------------------------------------------------------------------ */
/* Waiter slots                                                       */
/* ------------------------------------------------------------------ */

/* Joins the finished threads and moves their slots to the free list.
 * Called with b->lock held; drops it while joining. */
static void blk_reap_locked(struct blocking *b)
{
	while (b->zombies) {
		struct blk_waiter *w = b->zombies;

		b->zombies = w->next;
		pthread_mutex_unlock(&b->lock);
		pthread_join(w->self, NULL);
		pthread_mutex_lock(&b->lock);
		w->next = b->free;
		b->free = w;
	}
}

/*
 * A slot for req's wait (or, req NULL, a give-back), counted for user uid,
 * in the active list; or NULL with *err set: EAGAIN when the user may not
 * have one more (LIMITS in blocking.h), ENOMEM, or EINTR when stopping.
 */
static struct blk_waiter *blk_waiter_get(struct blocking *b, fuse_req_t req,
					 uid_t uid, int *err)
{
	struct blk_waiter *w;
	struct blk_user *u;

	pthread_mutex_lock(&b->lock);
	/* First, as it drops the lock: what follows is decided and counted
	 * in one hold of it, so no limit is ever overshot. */
	if (!b->free && b->zombies)
		blk_reap_locked(b);
	*err = 0;
	u = NULL;
	if (b->stopping)
		*err = EINTR;
	else if (!(u = blk_user_get_locked(b, uid)))
		*err = ENOMEM;
	else if (!blk_admit(u->waiters, b->nactive, b->max_per_user,
			    b->max_waiters, BLOCKING_RESERVED_WAITERS))
		*err = EAGAIN;
	w = NULL;
	if (!*err) {
		w = b->free;
		if (w) {
			b->free = w->next;
		} else if ((w = calloc(1, sizeof(*w)))) {
			w->b = b;
		} else {
			*err = ENOMEM;
		}
	}
	if (*err) {
		if (u)
			blk_user_put_locked(b, uid);
		pthread_mutex_unlock(&b->lock);
		return NULL;
	}
	/* Everything but b (see struct blk_waiter). */
	memset((char *)w + sizeof(w->b), 0, sizeof(*w) - sizeof(w->b));
	w->gen = ++b->gen;
	w->req = req;
	w->caller = req ? fuse_req_ctx(req)->pid : 0;
	w->uid = uid;
	u->waiters++;
	w->next = b->active;
	if (b->active)
		b->active->prev = w;
	b->active = w;
	b->nactive++;
	pthread_mutex_unlock(&b->lock);
	return w;
}

static void blk_unlink_locked(struct blocking *b, struct blk_waiter *w)
{
	struct blk_user *u;

	if (w->prev)
		w->prev->next = w->next;
	else
		b->active = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	b->nactive--;
	u = *blk_user_slot(b, w->uid);
	if (u) {
		u->waiters--;
		blk_user_put_locked(b, w->uid);
	}
}

/* Gives back slot w, whose thread never started: returns its request
 * (NULL for a give-back) for the caller to answer; an interrupt callback
 * finds nothing to do from now on. */
static fuse_req_t blk_waiter_cancel(struct blocking *b, struct blk_waiter *w)
{
	fuse_req_t req;

	pthread_mutex_lock(&b->lock);
	req = w->req;
	w->req = NULL;
	blk_unlink_locked(b, w);
	free(w->buf);
	w->buf = NULL;
	w->next = b->free;
	b->free = w;
	pthread_cond_broadcast(&b->left_cv);
	pthread_mutex_unlock(&b->lock);
	return req;
}

/* The end of a waiter thread: its slot waits to be joined. */
static void blk_waiter_done(struct blk_waiter *w)
{
	struct blocking *b = w->b;

	free(w->buf);
	w->buf = NULL;
	pthread_mutex_lock(&b->lock);
	blk_unlink_locked(b, w);
	w->next = b->zombies;
	b->zombies = w;
	pthread_cond_signal(&b->watch_cv);
	pthread_cond_broadcast(&b->left_cv);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Takes waiter w out of its system call for good: sets the flag, then sends
 * the wake-up signal until w has left the call, since the signal can land
 * between w's check of the flag and its entry into the call.  req is the
 * request being interrupted (the kick ends once w has answered it), or NULL
 * for blocking_stop().  Called with b->lock held.
 */
static void blk_kick_locked(struct blocking *b, struct blk_waiter *w,
			    fuse_req_t req)
{
	unsigned long gen = w->gen;

	w->interrupted = true;
	while (w->gen == gen && w->in_call && (!req || w->req == req)) {
		pthread_kill(w->self, BLK_SIGNAL);
		blk_timedwait(&b->left_cv, &b->lock, blk_now() + BLK_KICK_NS);
	}
}

/* fuse_req_interrupt_func() callback. */
static void blk_interrupt(fuse_req_t req, void *data)
{
	struct blk_waiter *w = data;
	struct blocking *b = w->b;

	pthread_mutex_lock(&b->lock);
	if (w->req == req)
		blk_kick_locked(b, w, req);
	pthread_mutex_unlock(&b->lock);
}

/* Marks w as inside a blocking call; false (and not marked) when it must
 * not wait any more.  A give-back (answered) only stops for blocking_stop. */
static bool blk_enter(struct blk_waiter *w, bool answered)
{
	struct blocking *b = w->b;
	bool go;

	pthread_mutex_lock(&b->lock);
	go = !b->stopping && (answered || !w->interrupted);
	w->in_call = go;
	pthread_mutex_unlock(&b->lock);
	return go;
}

static void blk_leave(struct blk_waiter *w)
{
	struct blocking *b = w->b;

	pthread_mutex_lock(&b->lock);
	w->in_call = false;
	pthread_cond_broadcast(&b->left_cv);
	pthread_mutex_unlock(&b->lock);
}

/*
 * Takes the request from w to answer it; *stop tells whether the caller
 * interrupted (or the module is stopping).  From now on, an interrupt finds
 * nothing to do.
 */
static fuse_req_t blk_take_req(struct blk_waiter *w, bool *stop)
{
	struct blocking *b = w->b;
	fuse_req_t req;

	pthread_mutex_lock(&b->lock);
	req = w->req;
	w->req = NULL;
	*stop = w->interrupted || b->stopping;
	pthread_mutex_unlock(&b->lock);
	return req;
}

/* ------------------------------------------------------------------ */
/* Giving back                                                        */
/* ------------------------------------------------------------------ */

/*
 * MSGMAX as it is now: no longer message can be sent, so a receive takes
 * whole any message with a buffer this big, whatever the read's size (a
 * wait for a read of 1 MiB holds 8 KiB, not 1 MiB: LIMITS in blocking.h).
 * One msgctl(IPC_INFO); 8192, the kernel's default, if it fails.
 */
static size_t blk_msgmax(void)
{
	struct msginfo info;

	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0 ||
	    info.msgmax <= 0)
		return 8192;
	return (size_t)info.msgmax;
}

/* A message longer than MSGMAX (lowered since it was sent) is no longer
 * than everything its queue holds: the capacity to try next, or 0 when
 * that is no more than cap (the queue changed: give up). */
static size_t blk_longer_cap(int id, size_t cap)
{
	struct ipcore_mq_info info;

	if (ipcore_mq_stat(id, &info) < 0 || info.cbytes <= cap)
		return 0;
	return info.cbytes;
}

/* The inverse semop of a P: one try.  True when done, or when there is
 * nothing to give back to (the set is gone); false when only a later try can
 * do it: ERANGE (others raised the value near SEMVMX meanwhile). */
static bool blk_sem_try_give_back(int id, unsigned short num, short delta)
{
	/* A P of -32768 can never complete (SEMVMX is 32767). */
	short up = delta == SHRT_MIN ? SHRT_MAX : (short)-delta;
	int rc;

	if (delta >= 0)
		return true;
	rc = ipcore_sem_op(id, num, up, IPC_NOWAIT, NULL);
	return rc != -ERANGE && rc != -EINTR && rc != -EAGAIN;
}

/* Tries again every millisecond, until done or blocking_stop(). */
static void blk_sem_give_back(struct blocking *b, int id, unsigned short num,
			      short delta)
{
	bool done;

	while (!(done = blk_sem_try_give_back(id, num, delta))) {
		pthread_mutex_lock(&b->lock);
		if (b->stopping) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		blk_timedwait(&b->left_cv, &b->lock, blk_now() + NS_PER_MS);
		pthread_mutex_unlock(&b->lock);
	}
	if (!done)
		fuse_log(FUSE_LOG_ERR, "ipcfs: semaphore %d.%u: %d unit(s) "
			 "taken for an interrupted caller could not be given "
			 "back\n", id, num, -delta);
}

static void blk_report_lost(int id, const struct ipcore_msgbuf *buf,
			    size_t len, int rc)
{
	char text[128];

	/* strerror() is not thread-safe; the GNU strerror_r() returns the
	 * text (maybe not in text). */
	fuse_log(FUSE_LOG_ERR, "ipcfs: queue %d: a message of type %ld "
		 "(%zu bytes) taken for an interrupted reader, or sent for a "
		 "writer that exited, could not be put in the queue: %s\n",
		 id, buf->type, len,
		 strerror_r(-rc, text, sizeof(text)));
}

/* A buffer of the waiter's own with room for cap bytes, holding the first
 * len bytes of from (if not NULL); NULL when out of memory.  Waiters do
 * not take the worker's buffer, which may be far larger than needed (it
 * keeps the size of the largest call the worker served). */
static struct ipcore_msgbuf *blk_buf_dup(const struct ipcore_msgbuf *from,
					 size_t len, size_t cap)
{
	struct ipcore_msgbuf *buf = malloc(ipcore_msgbuf_size(cap));

	if (buf && from) {
		buf->type = from->type;
		memcpy(buf->text, from->text, len);
	}
	return buf;
}

/*
 * Re-sends a message that was received for a caller who is gone.  It goes
 * to the back of the queue (System V has no way to put it back in front);
 * see blocking.h.  rc is the result of a first try with IPC_NOWAIT, made
 * before the caller was answered; on a full queue this waits for room,
 * until blocking_stop().
 */
static void blk_mq_give_back(struct blk_waiter *w, size_t len, int rc)
{
	while (rc == -EAGAIN || rc == -EINTR) {
		if (!blk_enter(w, true))
			break;
		rc = ipcore_mq_send(w->id, w->buf, len, 0);
		blk_leave(w);
	}
	if (rc == -EAGAIN || rc == -EINTR)
		rc = ipcore_mq_send(w->id, w->buf, len, IPC_NOWAIT);
	if (rc < 0 && ipcore_error_kind(rc, IPCORE_OP_SEND) !=
		      IPCORE_ERR_EXISTENTIAL)
		blk_report_lost(w->id, w->buf, len, rc);
}

static int blk_mq_try_give_back(int id, const struct ipcore_msgbuf *buf,
				size_t len)
{
	return ipcore_mq_send(id, buf, len, IPC_NOWAIT);
}

static void blk_launch(struct blocking *b, struct blk_waiter *w);

/* The same from a libfuse worker: tries once, and leaves the waiting for
 * room to a waiter of its own, counted for uid, the user whose call took
 * the message (LIMITS in blocking.h).  buf is the thread's buffer. */
static void blk_mq_give_back_later(struct blocking *b, uid_t uid, int id,
				   struct ipcore_msgbuf *buf, size_t len)
{
	struct blk_waiter *w;
	int rc = blk_mq_try_give_back(id, buf, len);
	int err;

	if (rc != -EAGAIN) {
		if (rc < 0 && ipcore_error_kind(rc, IPCORE_OP_SEND) !=
			      IPCORE_ERR_EXISTENTIAL)
			blk_report_lost(id, buf, len, rc);
		return;
	}
	w = blk_waiter_get(b, NULL, uid, &err);
	if (w) {
		w->buf = blk_buf_dup(buf, len, len);
		if (!w->buf) {
			blk_waiter_cancel(b, w);
			err = ENOMEM;
			w = NULL;
		}
	}
	if (!w) {
		blk_report_lost(id, buf, len, -err);
		return;
	}
	w->job = BLK_GIVE_BACK;
	w->id = id;
	w->size = len;
	blk_launch(b, w);
}

/* ------------------------------------------------------------------ */
/* The waiters                                                        */
/* ------------------------------------------------------------------ */

static void blk_sem_wait(struct blk_waiter *w)
{
	struct blocking *b = w->b;
	fuse_req_t req;
	bool stop, back;
	int rc;

	/* A stray EINTR (not ours) waits again; blk_enter() says when not. */
	for (;;) {
		if (!blk_enter(w, false)) {
			rc = -EINTR;
			break;
		}
		rc = ipcore_sem_op(w->id, w->num, w->delta, 0, NULL);
		blk_leave(w);
		if (rc != -EINTR)
			break;
	}

	if (rc == 0 && blk_caller_gone(b, w->caller)) {
		pthread_mutex_lock(&b->lock);
		w->interrupted = true;
		pthread_mutex_unlock(&b->lock);
	}
	req = blk_take_req(w, &stop);
	if (rc == 0 && !stop) {
		if (fuse_reply_write(req, w->size) != 0)
			blk_sem_give_back(b, w->id, w->num, w->delta);
		return;
	}
	if (rc != 0) {
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_SEMOP));
		return;
	}
	/* Given back before the caller's call ends, so that it finds the
	 * value as it was. */
	back = blk_sem_try_give_back(w->id, w->num, w->delta);
	fuse_reply_err(req, EINTR);
	if (!back)
		blk_sem_give_back(b, w->id, w->num, w->delta);
}

/* EINVAL from msgsnd: the queue is gone (the table's reading of it), or
 * the message is too long, which only a look at the queue tells; too long
 * is EMSGSIZE by blocking.h's contract (never truncated). */
static int blk_send_einval(int id)
{
	struct ipcore_mq_info info;
	int rc = ipcore_mq_stat(id, &info);

	return rc < 0 ? ipcfs_errno(rc, IPCORE_OP_STAT) : EMSGSIZE;
}

static void blk_send_wait(struct blk_waiter *w)
{
	fuse_req_t req;
	bool stop;
	int rc;

	for (;;) {
		if (!blk_enter(w, false)) {
			rc = -EINTR;
			break;
		}
		rc = ipcore_mq_send(w->id, w->buf, w->size, 0);
		blk_leave(w);
		if (rc != -EINTR)
			break;
	}

	/* A message sent stays sent: its close succeeds even if the caller
	 * was interrupted at that instant. */
	req = blk_take_req(w, &stop);
	if (rc == 0)
		fuse_reply_err(req, 0);
	else if (rc == -EINVAL)
		fuse_reply_err(req, blk_send_einval(w->id));
	else
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_SEND));
}

/* A copy of what a read of size bytes leaves of message buf (n bytes), to
 * be kept in the open's blocking_rx; NULL (and *err 0) when it all fits,
 * or NULL with *err ENOMEM. */
static char *blk_rest_copy(const struct ipcore_msgbuf *buf, size_t n,
			   size_t size, int *err)
{
	char *rest;

	*err = 0;
	if (n <= size)
		return NULL;
	rest = malloc(n - size);
	if (!rest)
		*err = ENOMEM;
	else
		memcpy(rest, buf->text + size, n - size);
	return rest;
}

/* Gives rx its message's rest, under b->lock; false (rest untouched) when
 * rx already has its message (another read of the open was first). */
static bool blk_rx_fill_locked(struct blocking_rx *rx, char *rest, size_t n,
			       size_t size)
{
	if (rx->delivered)
		return false;
	rx->delivered = true;
	rx->rest = rest;
	rx->rest_len = rest ? n - size : 0;
	rx->rest_off = 0;
	return true;
}

/* The reader went away as its message was handed over: the rest goes
 * with the message, which is given back whole. */
static void blk_rx_unfill(struct blocking *b, struct blocking_rx *rx)
{
	char *rest;

	pthread_mutex_lock(&b->lock);
	rest = rx->rest;
	rx->rest = NULL;
	rx->rest_len = rx->rest_off = 0;
	pthread_mutex_unlock(&b->lock);
	free(rest);
}

static void blk_receive_wait(struct blk_waiter *w)
{
	struct blocking *b = w->b;
	fuse_req_t req;
	bool stop, eof = false;
	char *rest = NULL;
	ssize_t n;
	int err = 0;

	for (;;) {
		if (!blk_enter(w, false)) {
			n = -EINTR;
			break;
		}
		n = ipcore_mq_receive(w->id, w->buf, w->cap, w->type, 0);
		blk_leave(w);
		if (n == -E2BIG) {
			/* Longer than MSGMAX is now: MSGMAX was raised while
			 * it waited, or lowered after the send. */
			size_t cap = blk_msgmax();
			struct ipcore_msgbuf *nb;

			if (cap <= w->cap)
				cap = blk_longer_cap(w->id, w->cap);
			if (!cap)
				break;
			nb = realloc(w->buf, ipcore_msgbuf_size(cap));
			if (!nb) {
				n = -ENOMEM;
				break;
			}
			w->buf = nb;
			w->cap = cap;
			continue;
		}
		if (n != -EINTR)
			break;
	}

	if (n >= 0 && blk_caller_gone(b, w->caller)) {
		pthread_mutex_lock(&b->lock);
		w->interrupted = true;
		pthread_mutex_unlock(&b->lock);
	}
	if (n >= 0)
		rest = blk_rest_copy(w->buf, (size_t)n, w->size, &err);
	pthread_mutex_lock(&b->lock);
	req = w->req;
	w->req = NULL;
	stop = w->interrupted || b->stopping || err;
	/* The request is still pending, so its open file (which holds rx)
	 * is still there. */
	if (n >= 0 && !stop) {
		eof = !blk_rx_fill_locked(w->rx, rest, (size_t)n, w->size);
		if (!eof)
			rest = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	free(rest);

	if (n < 0) {
		fuse_reply_err(req, ipcfs_errno((int)n, IPCORE_OP_RECEIVE));
		return;
	}
	if (stop || eof) {
		/* Back in the queue before the caller's call ends. */
		int rc = blk_mq_try_give_back(w->id, w->buf, (size_t)n);

		if (stop)
			fuse_reply_err(req, err ? err : EINTR);
		else
			fuse_reply_buf(req, NULL, 0);
		blk_mq_give_back(w, (size_t)n, rc);
	} else if (fuse_reply_buf(req, w->buf->text,
				  (size_t)n < w->size ? (size_t)n : w->size)
		   != 0) {
		blk_rx_unfill(b, w->rx);
		blk_mq_give_back(w, (size_t)n,
				 blk_mq_try_give_back(w->id, w->buf, (size_t)n));
	}
}

static void *blk_waiter_main(void *arg)
{
	struct blk_waiter *w = arg;
	struct blocking *b = w->b;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, BLK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	pthread_mutex_lock(&b->lock);
	w->self = pthread_self();
	pthread_mutex_unlock(&b->lock);

	switch (w->job) {
	case BLK_SEM:
		blk_sem_wait(w);
		break;
	case BLK_SEND:
		blk_send_wait(w);
		break;
	case BLK_RECEIVE:
		blk_receive_wait(w);
		break;
	case BLK_GIVE_BACK:
		blk_mq_give_back(w, w->size, -EAGAIN);
		break;
	}
	blk_waiter_done(w);
	return NULL;
}

/*
 * Starts the thread of waiter w (whose job is filled in).  With a request,
 * registers the interrupt callback first: a request already interrupted
 * calls back at once and the thread then answers EINTR without waiting.
 */
static atomic_bool blk_thread_failure_logged;

static void blk_launch(struct blocking *b, struct blk_waiter *w)
{
	sigset_t all, old;
	pthread_t thread;
	fuse_req_t req;
	int rc;

	if (w->req)
		fuse_req_interrupt_func(w->req, blk_interrupt, w);
	/* The thread starts with every signal blocked and unblocks only its
	 * wake-up signal: the process's signals go to other threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&thread, &b->attr, blk_waiter_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return;

	/* No thread (threads-max, RLIMIT_NPROC, no memory for its stack):
	 * the call fails at once, having done nothing.  Not an errno of the
	 * core, so not ipcfs_errno(): EAGAIN, what pthread_create() says for
	 * a lack of resources, as for a user at its limit (blocking.h). */
	if (!atomic_exchange(&blk_thread_failure_logged, true))
		fuse_log(FUSE_LOG_ERR, "ipcfs: cannot start a thread for a "
			 "waiting call (rc %d); such calls get EAGAIN\n", rc);
	if (w->job == BLK_GIVE_BACK)
		blk_report_lost(w->id, w->buf, w->size, -rc);
	req = blk_waiter_cancel(b, w);
	if (req)
		fuse_reply_err(req, EAGAIN);
}

/* ------------------------------------------------------------------ */
/* The calls                                                          */
/* ------------------------------------------------------------------ */

/* A request whose caller was interrupted before it reached us (it waited
 * for a worker) is answered EINTR at once, having done nothing. */
static bool blk_interrupted_already(fuse_req_t req)
{
	if (!fuse_req_interrupted(req))
		return false;
	fuse_reply_err(req, EINTR);
	return true;
}

void blocking_sem_op(struct blocking *b, fuse_req_t req, int semid,
		     unsigned short num, short delta, bool nonblock,
		     size_t ack_size)
{
	struct blk_waiter *w;
	int rc, err;

	if (blk_interrupted_already(req))
		return;
	rc = ipcore_sem_op(semid, num, delta, IPC_NOWAIT, NULL);
	if (rc == 0) {
		if (fuse_reply_write(req, ack_size) != 0 &&
		    !blk_sem_try_give_back(semid, num, delta))
			fuse_log(FUSE_LOG_ERR, "ipcfs: semaphore %d.%u: %d "
				 "unit(s) taken for a caller who is gone could "
				 "not be given back\n", semid, num, -delta);
		return;
	}
	if (rc != -EAGAIN || nonblock) {
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_SEMOP));
		return;
	}
	w = blk_waiter_get(b, req, fuse_req_ctx(req)->uid, &err);
	if (!w) {
		fuse_reply_err(req, err);
		return;
	}
	w->job = BLK_SEM;
	w->id = semid;
	w->num = num;
	w->delta = delta;
	w->size = ack_size;
	blk_launch(b, w);
}

void blocking_mq_send(struct blocking *b, fuse_req_t req, int msqid,
		      long type, const void *data, size_t len, bool nonblock)
{
	struct ipcore_mq_info info;
	struct ipcore_msgbuf *buf;
	struct blk_waiter *w;
	int rc, err;

	if (blk_interrupted_already(req))
		return;
	if (type <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	buf = blk_tls_buf(len, NULL);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	buf->type = type;
	if (len)
		memcpy(buf->text, data, len);
	rc = ipcore_mq_send(msqid, buf, len, IPC_NOWAIT);
	if (rc == 0) {
		fuse_reply_err(req, 0);
		return;
	}
	if (rc == -EINVAL) {
		fuse_reply_err(req, blk_send_einval(msqid));
		return;
	}
	if (rc != -EAGAIN) {
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_SEND));
		return;
	}
	/* Full.  A message the queue can never hold would wait forever (the
	 * kernel sends only when len + cbytes <= qbytes and qnum < qbytes). */
	rc = ipcore_mq_stat(msqid, &info);
	if (rc < 0) {
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_STAT));
		return;
	}
	if (len > info.qbytes || info.qbytes == 0) {
		fuse_reply_err(req, EMSGSIZE);
		return;
	}
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	w = blk_waiter_get(b, req, fuse_req_ctx(req)->uid, &err);
	if (!w) {
		fuse_reply_err(req, err);
		return;
	}
	w->buf = blk_buf_dup(buf, len, len);
	if (!w->buf) {
		fuse_reply_err(blk_waiter_cancel(b, w), ENOMEM);
		return;
	}
	w->job = BLK_SEND;
	w->id = msqid;
	w->type = type;
	w->size = len;
	blk_launch(b, w);
}

void blocking_rx_free(struct blocking_rx *rx)
{
	free(rx->rest);
	*rx = (struct blocking_rx){ .delivered = rx->delivered };
}

/* A read of an open whose message is taken: the next piece of its rest,
 * or end of file.  The piece is copied under the lock (two reads of one
 * open may race) into the thread's buffer. */
static void blk_rx_piece(struct blocking *b, fuse_req_t req,
			 struct blocking_rx *rx, size_t size)
{
	struct ipcore_msgbuf *buf = NULL;
	size_t n = 0;

	pthread_mutex_lock(&b->lock);
	if (rx->rest) {
		n = rx->rest_len - rx->rest_off;
		if (n > size)
			n = size;
		buf = blk_tls_buf(n, NULL);
		if (buf) {
			memcpy(buf->text, rx->rest + rx->rest_off, n);
			rx->rest_off += n;
		}
		if (buf && rx->rest_off == rx->rest_len) {
			/* All read: the memory goes now, not at close. */
			free(rx->rest);
			rx->rest = NULL;
			rx->rest_len = rx->rest_off = 0;
		}
	}
	pthread_mutex_unlock(&b->lock);
	if (n && !buf)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, buf ? buf->text : NULL, n);
}

void blocking_mq_receive(struct blocking *b, fuse_req_t req, int msqid,
			 long type, size_t size, bool nonblock,
			 struct blocking_rx *rx)
{
	uid_t uid = fuse_req_ctx(req)->uid; /* req may be answered below */
	struct ipcore_msgbuf *buf;
	struct blk_waiter *w;
	size_t cap, more;
	bool done;
	ssize_t n;
	char *rest;
	int err;

	if (blk_interrupted_already(req))
		return;
	if (size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (blocking_mq_delivered(b, rx)) {
		blk_rx_piece(b, req, rx, size);
		return;
	}
	/* Room for any message, whatever the read's size: the part that does
	 * not fit waits in rx for the next reads. */
	buf = blk_tls_buf(blk_msgmax(), &cap);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ipcore_mq_receive(msqid, buf, cap, type, IPC_NOWAIT);
	if (n == -E2BIG && (more = blk_longer_cap(msqid, cap))) {
		buf = blk_tls_buf(more, &cap);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		n = ipcore_mq_receive(msqid, buf, cap, type, IPC_NOWAIT);
	}
	if (n >= 0) {
		rest = blk_rest_copy(buf, (size_t)n, size, &err);
		pthread_mutex_lock(&b->lock);
		done = err || !blk_rx_fill_locked(rx, rest, (size_t)n, size);
		pthread_mutex_unlock(&b->lock);
		if (done) { /* no memory, or another read of this open was
			     * first: the message goes back */
			free(rest);
			blk_mq_give_back_later(b, uid, msqid, buf, (size_t)n);
			if (err)
				fuse_reply_err(req, err);
			else
				fuse_reply_buf(req, NULL, 0);
		} else if (fuse_reply_buf(req, buf->text,
					  (size_t)n < size ? (size_t)n : size)
			   != 0) {
			blk_rx_unfill(b, rx);
			blk_mq_give_back_later(b, uid, msqid, buf, (size_t)n);
		}
		return;
	}
	if (n != -ENOMSG || nonblock) {
		fuse_reply_err(req, ipcfs_errno((int)n, IPCORE_OP_RECEIVE));
		return;
	}
	w = blk_waiter_get(b, req, uid, &err);
	if (!w) {
		fuse_reply_err(req, err);
		return;
	}
	w->cap = blk_msgmax();
	w->buf = blk_buf_dup(NULL, 0, w->cap);
	if (!w->buf) {
		fuse_reply_err(blk_waiter_cancel(b, w), ENOMEM);
		return;
	}
	w->job = BLK_RECEIVE;
	w->id = msqid;
	w->type = type;
	w->size = size;
	w->rx = rx;
	blk_launch(b, w);
}

void blocking_mq_send_detached(struct blocking *b, uid_t uid, int msqid,
			       long type, const void *data, size_t len)
{
	struct ipcore_msgbuf *buf = blk_tls_buf(len, NULL);

	if (!buf || type <= 0)
		return;
	buf->type = type;
	if (len)
		memcpy(buf->text, data, len);
	/* A give-back is just that: a send nobody waits for. */
	blk_mq_give_back_later(b, uid, msqid, buf, len);
}

bool blocking_mq_delivered(struct blocking *b, const struct blocking_rx *rx)
{
	bool done;

	pthread_mutex_lock(&b->lock);
	done = rx->delivered;
	pthread_mutex_unlock(&b->lock);
	return done;
}

/* ------------------------------------------------------------------ */
/* Poll                                                               */
/* ------------------------------------------------------------------ */

/*
 * 1 if queue id (as info shows it) holds a message for type, else 0; a
 * negated errno if the queue is gone.  For a type other than 0 the queue is
 * scanned with MSG_COPY peeks, which take nothing; where peeking is not
 * possible the answer is "yes" (a spurious wake-up rather than a lost one).
 */
static int blk_mq_match(int id, long type, const struct ipcore_mq_info *info)
{
	size_t cap = BLK_PEEK_FIRST;
	unsigned long i;

	if (info->qnum == 0)
		return 0;
	if (type == 0)
		return 1;
	for (i = 0; i < info->qnum; i++) {
		struct ipcore_msgbuf *buf = blk_tls_buf(cap, &cap);
		ssize_t n;

		if (!buf)
			return 1;
		n = ipcore_mq_peek(id, buf, cap, (long)i);
		if (n == -E2BIG && cap < info->cbytes) {
			/* No message is longer than all the queue holds. */
			cap = info->cbytes;
			buf = blk_tls_buf(cap, &cap);
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
		if (blk_type_matches(type, buf->type))
			return 1;
	}
	return 0;
}

static int blk_mq_ready(int id, long type)
{
	struct ipcore_mq_info info;
	int rc = ipcore_mq_stat(id, &info);

	return rc < 0 ? rc : blk_mq_match(id, type, &info);
}

static unsigned blk_revents(int ready)
{
	if (ready > 0)
		return POLLIN | POLLRDNORM;
	if (ready < 0) /* gone: wake the reader, whose read says ENOENT */
		return POLLIN | POLLRDNORM | POLLERR;
	return 0;
}

/*
 * Takes out the oldest handle of user u (the list is newest first) to make
 * room for a new one of the same user: the user is at its limit.  Under
 * b->lock; returns the handle, to be notified and destroyed.
 */
static struct fuse_pollhandle *blk_poll_evict_locked(struct blocking *b,
						     struct blk_user *u)
{
	struct blk_poll **pp, **oldest = NULL;
	struct fuse_pollhandle *ph;
	struct blk_poll *p;

	for (pp = &b->polls; *pp; pp = &(*pp)->next)
		if ((*pp)->uid == u->uid)
			oldest = pp;
	if (!oldest)
		return NULL; /* the watcher holds them all just now */
	p = *oldest;
	*oldest = p->next;
	ph = p->ph;
	free(p);
	b->npolls--;
	u->polls--;
	return ph;
}

void blocking_mq_poll(struct blocking *b, fuse_req_t req, int msqid,
		      long type, struct fuse_pollhandle *ph)
{
	int ready = blk_mq_ready(msqid, type);
	struct fuse_pollhandle *evict[2] = { NULL, NULL };
	size_t i;

	if (ready == 0 && ph) {
		struct blk_poll *p = calloc(1, sizeof(*p));
		struct blk_user *u = NULL;

		if (p) {
			p->ph = ph;
			p->uid = fuse_req_ctx(req)->uid;
			p->id = msqid;
			p->type = type;
			p->since = blk_now();
			pthread_mutex_lock(&b->lock);
			if (!b->stopping)
				u = blk_user_get_locked(b, p->uid);
			if (u) {
				/* At its limit, the user's own oldest handle
				 * goes (notified: its poller, if still
				 * there, polls again), never another's.
				 * Two at most: one more than this handle,
				 * to come back under the limit after the
				 * watcher held the list (nothing to evict
				 * then). */
				for (i = 0; i < 2; i++)
					if (blk_admit(u->polls, b->npolls,
						BLOCKING_MAX_POLLS_PER_USER,
						BLOCKING_MAX_POLLS,
						BLOCKING_RESERVED_POLLS) ||
					    !(evict[i] =
					      blk_poll_evict_locked(b, u)))
						break;
				p->next = b->polls;
				b->polls = p;
				b->npolls++;
				u->polls++;
				ph = NULL;
				pthread_cond_signal(&b->watch_cv);
			}
			pthread_mutex_unlock(&b->lock);
			if (!u)
				free(p);
		}
		/* Not kept (no memory, or stopping): a spurious wake-up
		 * rather than a lost one. */
		if (ph)
			ready = 1;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, blk_revents(ready));
	for (i = 0; i < 2; i++) {
		if (evict[i]) {
			fuse_lowlevel_notify_poll(evict[i]);
			fuse_pollhandle_destroy(evict[i]);
		}
	}
}

struct blk_qcache {
	int id;
	int rc;
	struct ipcore_mq_info info;
};

static bool blk_seen_changed(const struct blk_poll *p,
			     const struct ipcore_mq_info *info)
{
	const struct blk_seen *s = &p->seen;

	return s->qnum != info->qnum || s->cbytes != info->cbytes ||
	       s->lspid != info->lspid || s->lrpid != info->lrpid ||
	       s->stime != info->stime || s->rtime != info->rtime ||
	       s->ctime != info->ctime;
}

/* Decides for one handle, with a per-tick cache of queue stats. */
static bool blk_poll_ready(struct blk_poll *p, struct blk_qcache *cache,
			   size_t *ncache, int64_t now)
{
	struct blk_qcache *q = NULL, one;
	size_t i;

	if (now - p->since > BLK_POLL_EXPIRE_NS)
		return true; /* see BLOCKING_MAX_POLLS in blocking.h */
	for (i = 0; i < *ncache; i++)
		if (cache[i].id == p->id)
			q = &cache[i];
	if (!q) {
		q = *ncache < BLK_QCACHE ? &cache[(*ncache)++] : &one;
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
	if (p->scanned && !blk_seen_changed(p, &q->info) &&
	    now - p->scanned_at < BLK_POLL_RESCAN_NS)
		return false;
	p->scanned = true;
	p->scanned_at = now;
	p->seen = (struct blk_seen){
		.qnum = q->info.qnum, .cbytes = q->info.cbytes,
		.lspid = q->info.lspid, .lrpid = q->info.lrpid,
		.stime = q->info.stime, .rtime = q->info.rtime,
		.ctime = q->info.ctime,
	};
	return blk_mq_match(p->id, p->type, &q->info) != 0;
}

/* Checks every handle of list; notifies the ready ones and destroys their
 * handles, returns the others (in order), and the ready ones in *gone (to
 * be uncounted and freed under the lock). */
static struct blk_poll *blk_poll_check(struct blk_poll *list,
				       struct blk_poll **gone)
{
	struct blk_qcache cache[BLK_QCACHE];
	struct blk_poll *keep = NULL, **tail = &keep;
	size_t ncache = 0;
	int64_t now = blk_now();

	*gone = NULL;
	while (list) {
		struct blk_poll *p = list;

		list = p->next;
		p->next = NULL;
		if (blk_poll_ready(p, cache, &ncache, now)) {
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

/* A handle of user uid is gone.  Under b->lock. */
static void blk_poll_uncount_locked(struct blocking *b, uid_t uid)
{
	struct blk_user *u = *blk_user_slot(b, uid);

	b->npolls--;
	if (u) {
		u->polls--;
		blk_user_put_locked(b, uid);
	}
}

static void *blk_watcher_main(void *arg)
{
	struct blocking *b = arg;
	int64_t next = 0;

	pthread_mutex_lock(&b->lock);
	while (!b->stopping) {
		struct blk_poll *list, *keep, **tail, *gone;

		blk_reap_locked(b);
		if (b->stopping)
			break;
		if (!b->polls) {
			if (!b->zombies)
				pthread_cond_wait(&b->watch_cv, &b->lock);
			continue;
		}
		if (blk_now() < next) {
			blk_timedwait(&b->watch_cv, &b->lock, next);
			continue;
		}
		list = b->polls;
		b->polls = NULL;
		pthread_mutex_unlock(&b->lock);
		keep = blk_poll_check(list, &gone);
		next = blk_now() + BLK_POLL_TICK_NS;
		pthread_mutex_lock(&b->lock);
		/* Handles that came meanwhile are newer: they go first. */
		tail = &b->polls;
		while (*tail)
			tail = &(*tail)->next;
		*tail = keep;
		while (gone) {
			struct blk_poll *p = gone;

			gone = p->next;
			blk_poll_uncount_locked(b, p->uid);
			free(p);
		}
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                     */
/* ------------------------------------------------------------------ */

int blocking_start(struct blocking **out, struct fuse_session *se,
		   const struct blocking_limits *limits)
{
	struct sigaction sa;
	pthread_condattr_t ca;
	struct blocking *b;
	sigset_t all, old;
	size_t stack = BLK_STACK_SIZE;
	int rc;

	pthread_once(&blk_once, blk_once_init);
	if (blk_once_rc)
		return -blk_once_rc;
	if (SIGRTMIN + BLOCKING_SIGNAL_OFFSET > SIGRTMAX)
		return -ENOSYS;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = blk_wake_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the call must return EINTR */
	if (sigaction(BLK_SIGNAL, &sa, NULL) < 0)
		return -errno;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->se = se;
	b->proc_ok = access("/proc/self/status", R_OK) == 0;
	b->max_waiters = limits && limits->max_waiters ? limits->max_waiters
						      : BLOCKING_MAX_WAITERS;
	b->max_per_user = limits && limits->max_per_user
				  ? limits->max_per_user
				  : BLOCKING_MAX_WAITERS_PER_USER;

	rc = pthread_mutex_init(&b->lock, NULL);
	if (rc)
		goto err_free;
	rc = pthread_condattr_init(&ca);
	if (rc)
		goto err_mutex;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&b->left_cv, &ca);
	if (rc)
		goto err_ca;
	rc = pthread_cond_init(&b->watch_cv, &ca);
	if (rc)
		goto err_left;
	rc = pthread_attr_init(&b->attr);
	if (rc)
		goto err_watch;
	if (stack < (size_t)PTHREAD_STACK_MIN)
		stack = (size_t)PTHREAD_STACK_MIN;
	rc = pthread_attr_setstacksize(&b->attr, stack);
	if (rc)
		goto err_attr;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&b->watcher, NULL, blk_watcher_main, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto err_attr;

	pthread_condattr_destroy(&ca);
	*out = b;
	return 0;

err_attr:
	pthread_attr_destroy(&b->attr);
err_watch:
	pthread_cond_destroy(&b->watch_cv);
err_left:
	pthread_cond_destroy(&b->left_cv);
err_ca:
	pthread_condattr_destroy(&ca);
err_mutex:
	pthread_mutex_destroy(&b->lock);
err_free:
	free(b);
	return -rc;
}

void blocking_stop(struct blocking *b)
{
	struct blk_waiter *w;
	struct blk_poll *p;
	struct blk_tls *t;
	size_t i;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->stopping = true;
	pthread_cond_broadcast(&b->watch_cv);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->watcher, NULL);

	/* Every waiter sees stopping before or after its call; the ones in a
	 * call are signalled until they have left it. */
	pthread_mutex_lock(&b->lock);
	while (b->nactive > 0 || b->zombies) {
		for (w = b->active; w; w = w->next) {
			w->interrupted = true;
			if (w->in_call)
				pthread_kill(w->self, BLK_SIGNAL);
		}
		blk_reap_locked(b);
		if (b->nactive > 0)
			blk_timedwait(&b->left_cv, &b->lock,
				      blk_now() + BLK_KICK_NS);
	}
	while ((p = b->polls)) {
		b->polls = p->next;
		fuse_pollhandle_destroy(p->ph);
		blk_poll_uncount_locked(b, p->uid);
		free(p);
	}
	while ((w = b->free)) {
		b->free = w->next;
		free(w);
	}
	for (i = 0; i < BLK_USER_BUCKETS; i++) {
		struct blk_user *u;

		while ((u = b->users[i])) { /* none: all uncounted above */
			b->users[i] = u->next;
			free(u);
		}
	}
	pthread_mutex_unlock(&b->lock);

	pthread_attr_destroy(&b->attr);
	pthread_cond_destroy(&b->watch_cv);
	pthread_cond_destroy(&b->left_cv);
	pthread_mutex_destroy(&b->lock);
	free(b);

	/* This thread may have run the session loop (-s): its buffer goes
	 * now, not at an exit that never runs the destructor. */
	t = pthread_getspecific(blk_tls_key);
	if (t) {
		pthread_setspecific(blk_tls_key, NULL);
		blk_tls_free(t);
	}
}
