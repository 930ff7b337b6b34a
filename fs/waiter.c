/*
 * waiter — slots, threads, the wake-up signal, interrupts, caller-gone
 * detection and per-user counting of waits (see waiter.h, and blocking.h
 * for LIMITS).
 */
#include "config.h"
#include "waiter.h"
#include "blocking.h"
#include "quota.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define WAITER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WAITER_ASAN 1
#endif
#endif

/* Stack of a waiter thread: it only makes system calls and answers.  (The
 * test of a refused thread, test_fs_waiter_limits.py, tells waiters by it.) */
#ifdef WAITER_ASAN
#define WAITER_STACK_SIZE (512 * 1024)
#else
#define WAITER_STACK_SIZE (64 * 1024)
#endif

#define WAITER_KICK_NS (1 * NS_PER_MS) /* wake-up signal repeated */

/* The signal that takes a waiter out of its system call. */
#define WAITER_SIGNAL (SIGRTMIN + BLOCKING_SIGNAL_OFFSET)

struct waiters {
	pthread_mutex_t lock;
	pthread_cond_t left_cv;  /* a waiter left its call or finished */
	pthread_cond_t reap_cv;  /* a thread to join, or stopping */
	pthread_attr_t attr;     /* small stacks */
	struct quota *users;     /* waits per user (LIMITS) */
	bool proc_ok;            /* /proc can tell whether a caller is dying */
	atomic_bool thread_failure_logged;

	/* Under lock. */
	bool stopping;
	struct waiter *active;
	struct waiter *free;
	struct waiter *zombies;  /* finished, not yet joined */
	unsigned int nactive;
	unsigned long gen;

	pthread_t reaper;
};

_Static_assert(offsetof(struct waiter, ws) == 0,
	       "waiter_get() clears what follows ws");

/* ------------------------------------------------------------------ */
/* The lock                                                           */
/* ------------------------------------------------------------------ */

void waiter_lock(struct waiters *ws)
{
	pthread_mutex_lock(&ws->lock);
}

void waiter_unlock(struct waiters *ws)
{
	pthread_mutex_unlock(&ws->lock);
}

bool waiter_pause(struct waiters *ws, int64_t ns)
{
	bool go;

	pthread_mutex_lock(&ws->lock);
	go = !ws->stopping;
	if (go)
		clock_wait_until(&ws->left_cv, &ws->lock, clock_now_ns() + ns);
	pthread_mutex_unlock(&ws->lock);
	return go;
}

/* ------------------------------------------------------------------ */
/* Is the caller being killed?                                        */
/* ------------------------------------------------------------------ */

static bool status_has_kill(const char *text, const char *field)
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
static bool caller_dying(const struct waiters *ws, pid_t tid)
{
	char path[48], text[4096];
	size_t n = 0;
	int fd;

	if (!ws->proc_ok || tid <= 0)
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
	return status_has_kill(text, "\nSigPnd:") ||
	       status_has_kill(text, "\nShdPnd:");
}

bool waiter_caller_gone(struct waiter *w)
{
	struct waiters *ws = w->ws;

	if (!caller_dying(ws, w->caller))
		return false;
	pthread_mutex_lock(&ws->lock);
	w->interrupted = true;
	pthread_mutex_unlock(&ws->lock);
	return true;
}

/* ------------------------------------------------------------------ */
/* Slots                                                              */
/* ------------------------------------------------------------------ */

/* Joins the finished threads and moves their slots to the free list.
 * Called with ws->lock held; drops it while joining. */
static void reap_locked(struct waiters *ws)
{
	while (ws->zombies) {
		struct waiter *w = ws->zombies;

		ws->zombies = w->next;
		pthread_mutex_unlock(&ws->lock);
		pthread_join(w->self, NULL);
		pthread_mutex_lock(&ws->lock);
		w->next = ws->free;
		ws->free = w;
	}
}

struct waiter *waiter_get(struct waiters *ws, fuse_req_t req, uid_t uid,
			  int *err)
{
	struct waiter *w = NULL;
	int rc;

	pthread_mutex_lock(&ws->lock);
	/* First, as it drops the lock: what follows is decided and counted
	 * in one hold of it (and the quota's own lock counts atomically),
	 * so no limit is ever overshot. */
	if (!ws->free && ws->zombies)
		reap_locked(ws);
	*err = 0;
	if (ws->stopping) {
		*err = EINTR;
	} else if ((rc = quota_try(ws->users, uid)) < 0) {
		*err = -rc; /* EAGAIN (LIMITS) or ENOMEM, not the core's */
	} else {
		w = ws->free;
		if (w) {
			ws->free = w->next;
		} else if ((w = calloc(1, sizeof(*w)))) {
			w->ws = ws;
		} else {
			quota_give(ws->users, uid);
			*err = ENOMEM;
		}
	}
	if (*err) {
		pthread_mutex_unlock(&ws->lock);
		return NULL;
	}
	/* Everything but ws (see struct waiter). */
	memset((char *)w + sizeof(w->ws), 0, sizeof(*w) - sizeof(w->ws));
	w->gen = ++ws->gen;
	w->req = req;
	w->caller = req ? fuse_req_ctx(req)->pid : 0;
	w->uid = uid;
	w->next = ws->active;
	if (ws->active)
		ws->active->prev = w;
	ws->active = w;
	ws->nactive++;
	pthread_mutex_unlock(&ws->lock);
	return w;
}

static void unlink_locked(struct waiters *ws, struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		ws->active = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	ws->nactive--;
	quota_give(ws->users, w->uid);
}

fuse_req_t waiter_cancel(struct waiter *w)
{
	struct waiters *ws = w->ws;
	fuse_req_t req;

	pthread_mutex_lock(&ws->lock);
	req = w->req;
	w->req = NULL;
	unlink_locked(ws, w);
	free(w->buf);
	w->buf = NULL;
	w->next = ws->free;
	ws->free = w;
	pthread_cond_broadcast(&ws->left_cv);
	pthread_mutex_unlock(&ws->lock);
	return req;
}

/* The end of a waiter thread: its slot waits to be joined. */
static void waiter_done(struct waiter *w)
{
	struct waiters *ws = w->ws;

	free(w->buf);
	w->buf = NULL;
	pthread_mutex_lock(&ws->lock);
	unlink_locked(ws, w);
	w->next = ws->zombies;
	ws->zombies = w;
	pthread_cond_signal(&ws->reap_cv);
	pthread_cond_broadcast(&ws->left_cv);
	pthread_mutex_unlock(&ws->lock);
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                         */
/* ------------------------------------------------------------------ */

static void wake_handler(int sig)
{
	(void)sig; /* only there to make the system call return EINTR */
}

/*
 * Takes waiter w out of its system call for good: sets the flag, then sends
 * the wake-up signal until w has left the call, since the signal can land
 * between w's check of the flag and its entry into the call.  req is the
 * request being interrupted (the kick ends once w has answered it).
 * Called with ws->lock held.
 */
static void kick_locked(struct waiters *ws, struct waiter *w, fuse_req_t req)
{
	unsigned long gen = w->gen;

	w->interrupted = true;
	while (w->gen == gen && w->in_call && w->req == req) {
		pthread_kill(w->self, WAITER_SIGNAL);
		clock_wait_until(&ws->left_cv, &ws->lock,
			  clock_now_ns() + WAITER_KICK_NS);
	}
}

/* fuse_req_interrupt_func() callback. */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct waiter *w = data;
	struct waiters *ws = w->ws;

	pthread_mutex_lock(&ws->lock);
	if (w->req == req)
		kick_locked(ws, w, req);
	pthread_mutex_unlock(&ws->lock);
}

bool waiter_req_interrupted(fuse_req_t req)
{
	if (!fuse_req_interrupted(req))
		return false;
	fuse_reply_err(req, EINTR);
	return true;
}

/* Marks w as inside a blocking call; false (and not marked) when it must
 * not wait any more. */
static bool waiter_enter(struct waiter *w, bool answered)
{
	struct waiters *ws = w->ws;
	bool go;

	pthread_mutex_lock(&ws->lock);
	go = !ws->stopping && (answered || !w->interrupted);
	w->in_call = go;
	pthread_mutex_unlock(&ws->lock);
	return go;
}

static void waiter_leave(struct waiter *w)
{
	struct waiters *ws = w->ws;

	pthread_mutex_lock(&ws->lock);
	w->in_call = false;
	pthread_cond_broadcast(&ws->left_cv);
	pthread_mutex_unlock(&ws->lock);
}

ssize_t waiter_call(struct waiter *w, bool answered,
		    ssize_t (*call)(struct waiter *w))
{
	ssize_t rc;

	do {
		if (!waiter_enter(w, answered))
			return -EINTR;
		rc = call(w);
		waiter_leave(w);
	} while (rc == -EINTR);
	return rc;
}

fuse_req_t waiter_take_req_locked(struct waiter *w, bool *stop)
{
	fuse_req_t req = w->req;

	w->req = NULL;
	*stop = w->interrupted || w->ws->stopping;
	return req;
}

fuse_req_t waiter_take_req(struct waiter *w, bool *stop)
{
	fuse_req_t req;

	pthread_mutex_lock(&w->ws->lock);
	req = waiter_take_req_locked(w, stop);
	pthread_mutex_unlock(&w->ws->lock);
	return req;
}

/* ------------------------------------------------------------------ */
/* Threads                                                            */
/* ------------------------------------------------------------------ */

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct waiters *ws = w->ws;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, WAITER_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	pthread_mutex_lock(&ws->lock);
	w->self = pthread_self();
	pthread_mutex_unlock(&ws->lock);

	w->run(w);
	waiter_done(w);
	return NULL;
}

int waiter_launch(struct waiter *w, void (*run)(struct waiter *w))
{
	struct waiters *ws = w->ws;
	sigset_t all, old;
	pthread_t thread;
	fuse_req_t req;
	int rc;

	w->run = run;
	if (w->req)
		fuse_req_interrupt_func(w->req, on_interrupt, w);
	/* The thread starts with every signal blocked and unblocks only its
	 * wake-up signal: the process's signals go to other threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&thread, &ws->attr, waiter_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		return 0;

	/* No thread (threads-max, RLIMIT_NPROC, no memory for its stack):
	 * the call fails at once, having done nothing. */
	if (!atomic_exchange(&ws->thread_failure_logged, true))
		fuse_log(FUSE_LOG_ERR, "ipcfs: cannot start a thread for a "
			 "waiting call (rc %d); such calls get EAGAIN\n", rc);
	req = waiter_cancel(w);
	if (req)
		fuse_reply_err(req, EAGAIN);
	return rc;
}

/* The reaper: joins finished waiter threads as they end, so that their
 * stacks go at once rather than at the next wait. */
static void *reaper_main(void *arg)
{
	struct waiters *ws = arg;

	pthread_mutex_lock(&ws->lock);
	while (!ws->stopping) {
		reap_locked(ws);
		if (!ws->stopping && !ws->zombies)
			pthread_cond_wait(&ws->reap_cv, &ws->lock);
	}
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                     */
/* ------------------------------------------------------------------ */

int waiters_start(struct waiters **out, const struct blocking_limits *limits)
{
	struct sigaction sa;
	pthread_condattr_t ca;
	struct waiters *ws;
	sigset_t all, old;
	size_t stack = WAITER_STACK_SIZE;
	unsigned int pool, per_user;
	int rc;

	if (SIGRTMIN + BLOCKING_SIGNAL_OFFSET > SIGRTMAX)
		return -ENOSYS;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the call must return EINTR */
	if (sigaction(WAITER_SIGNAL, &sa, NULL) < 0)
		return -errno;

	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->proc_ok = access("/proc/self/status", R_OK) == 0;
	atomic_init(&ws->thread_failure_logged, false);
	pool = limits && limits->max_waiters ? limits->max_waiters
					     : BLOCKING_MAX_WAITERS;
	per_user = limits && limits->max_per_user
			   ? limits->max_per_user
			   : BLOCKING_MAX_WAITERS_PER_USER;
	rc = -quota_new_pooled(&ws->users, per_user, pool,
			       BLOCKING_RESERVED_WAITERS);
	if (rc)
		goto err_free;
	rc = pthread_mutex_init(&ws->lock, NULL);
	if (rc)
		goto err_quota;
	rc = pthread_condattr_init(&ca);
	if (rc)
		goto err_mutex;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&ws->left_cv, &ca);
	if (rc)
		goto err_ca;
	rc = pthread_cond_init(&ws->reap_cv, &ca);
	if (rc)
		goto err_left;
	rc = pthread_attr_init(&ws->attr);
	if (rc)
		goto err_reap;
	if (stack < (size_t)PTHREAD_STACK_MIN)
		stack = (size_t)PTHREAD_STACK_MIN;
	rc = pthread_attr_setstacksize(&ws->attr, stack);
	if (rc)
		goto err_attr;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* The reaper gets the default stack: the small one marks waiters. */
	rc = pthread_create(&ws->reaper, NULL, reaper_main, ws);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto err_attr;

	pthread_condattr_destroy(&ca);
	*out = ws;
	return 0;

err_attr:
	pthread_attr_destroy(&ws->attr);
err_reap:
	pthread_cond_destroy(&ws->reap_cv);
err_left:
	pthread_cond_destroy(&ws->left_cv);
err_ca:
	pthread_condattr_destroy(&ca);
err_mutex:
	pthread_mutex_destroy(&ws->lock);
err_quota:
	quota_free(ws->users);
err_free:
	free(ws);
	return -rc;
}

void waiters_stop(struct waiters *ws)
{
	struct waiter *w;

	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stopping = true;
	pthread_cond_broadcast(&ws->reap_cv);
	pthread_mutex_unlock(&ws->lock);
	pthread_join(ws->reaper, NULL);

	/* Every waiter sees stopping before or after its call; the ones in a
	 * call are signalled until they have left it. */
	pthread_mutex_lock(&ws->lock);
	while (ws->nactive > 0 || ws->zombies) {
		for (w = ws->active; w; w = w->next) {
			w->interrupted = true;
			if (w->in_call)
				pthread_kill(w->self, WAITER_SIGNAL);
		}
		reap_locked(ws);
		if (ws->nactive > 0)
			clock_wait_until(&ws->left_cv, &ws->lock,
				  clock_now_ns() + WAITER_KICK_NS);
	}
	while ((w = ws->free)) {
		ws->free = w->next;
		free(w);
	}
	pthread_mutex_unlock(&ws->lock);

	pthread_attr_destroy(&ws->attr);
	pthread_cond_destroy(&ws->reap_cv);
	pthread_cond_destroy(&ws->left_cv);
	pthread_mutex_destroy(&ws->lock);
	quota_free(ws->users);
	free(ws);
}
