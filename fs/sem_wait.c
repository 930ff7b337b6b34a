/*
 * sem_wait — a semaphore op: the fast path in the worker, the wait in a
 * waiter, the give-back of a unit taken for nobody (see sem_wait.h).
 */
#include "config.h"
#include "sem_wait.h"
#include "fs_errno.h"
#include "ipcore.h"
#include "waiter.h"

#include <errno.h>
#include <limits.h>
#include <sys/ipc.h>

/* The inverse semop of a P: one try.  True when done, or when there is
 * nothing to give back to (the set is gone); false when only a later try can
 * do it: ERANGE (others raised the value near SEMVMX meanwhile). */
static bool sem_try_give_back(int id, unsigned short num, short delta)
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
static void sem_give_back(struct waiters *ws, int id, unsigned short num,
			  short delta)
{
	bool done;

	while (!(done = sem_try_give_back(id, num, delta)))
		if (!waiter_pause(ws, NS_PER_MS))
			break;
	if (!done)
		fuse_log(FUSE_LOG_ERR, "ipcfs: semaphore %d.%u: %d unit(s) "
			 "taken for an interrupted caller could not be given "
			 "back\n", id, num, -delta);
}

static ssize_t sem_op_call(struct waiter *w)
{
	return ipcore_sem_op(w->id, w->num, w->delta, 0, NULL);
}

/* The waiter's job: the semop without IPC_NOWAIT. */
static void sem_wait_run(struct waiter *w)
{
	int rc = (int)waiter_call(w, false, sem_op_call);
	fuse_req_t req;
	bool stop, back;

	if (rc == 0)
		waiter_caller_gone(w);
	req = waiter_take_req(w, &stop);
	if (rc == 0 && !stop) {
		if (fuse_reply_write(req, w->size) != 0)
			sem_give_back(w->ws, w->id, w->num, w->delta);
		return;
	}
	if (rc != 0) {
		fuse_reply_err(req, fs_errno(rc, IPCORE_OP_SEMOP));
		return;
	}
	/* Given back before the caller's call ends, so that it finds the
	 * value as it was. */
	back = sem_try_give_back(w->id, w->num, w->delta);
	fuse_reply_err(req, EINTR);
	if (!back)
		sem_give_back(w->ws, w->id, w->num, w->delta);
}

void sem_wait_op(struct blocking *b, fuse_req_t req, int semid,
		 unsigned short num, short delta, bool nonblock,
		 size_t ack_size)
{
	struct waiter *w;
	int rc, err;

	if (waiter_req_interrupted(req))
		return;
	rc = ipcore_sem_op(semid, num, delta, IPC_NOWAIT, NULL);
	if (rc == 0) {
		if (fuse_reply_write(req, ack_size) != 0 &&
		    !sem_try_give_back(semid, num, delta))
			fuse_log(FUSE_LOG_ERR, "ipcfs: semaphore %d.%u: %d "
				 "unit(s) taken for a caller who is gone could "
				 "not be given back\n", semid, num, -delta);
		return;
	}
	if (rc != -EAGAIN || nonblock) {
		fuse_reply_err(req, fs_errno(rc, IPCORE_OP_SEMOP));
		return;
	}
	w = waiter_get(b->waiters, req, fuse_req_ctx(req)->uid, &err);
	if (!w) {
		fuse_reply_err(req, err);
		return;
	}
	w->id = semid;
	w->num = num;
	w->delta = delta;
	w->size = ack_size;
	waiter_launch(w, sem_wait_run);
}
