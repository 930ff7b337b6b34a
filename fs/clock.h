/*
 * clock — the monotonic clock in nanoseconds, and condition waits against
 * it, for the threads of the waiting calls (waiter.c, mq_poll.c).  Their
 * condition variables must be made with pthread_condattr_setclock(...,
 * CLOCK_MONOTONIC), so that no change of the wall clock moves a wait.
 */
#ifndef IPCFS_CLOCK_H
#define IPCFS_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

static inline int64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Waits on cv until it is signalled or the clock reaches at_ns. */
static inline void clock_wait_until(pthread_cond_t *cv, pthread_mutex_t *m,
				    int64_t at_ns)
{
	struct timespec at = {
		.tv_sec = (time_t)(at_ns / NS_PER_S),
		.tv_nsec = (long)(at_ns % NS_PER_S),
	};

	pthread_cond_timedwait(cv, m, &at);
}

#endif /* IPCFS_CLOCK_H */
