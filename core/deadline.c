/*
 * Deadlines on CLOCK_MONOTONIC, so that a retried wait keeps its total
 * timeout whatever the wall clock does.
 */
#include "internal.h"

#include <stdint.h>

#define NSEC_PER_SEC 1000000000L

/* The largest time_t (time_t is a signed integer type on Linux). */
#define TIME_T_MAX \
	((time_t)((((uintmax_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1))

void ipcore_deadline_start(struct ipcore_deadline *dl,
			   const struct timespec *timeout)
{
	struct timespec now;

	dl->at.tv_sec = 0;
	dl->at.tv_nsec = 0;
	dl->forever = timeout == NULL;
	if (dl->forever)
		return;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* A deadline past the end of time_t is as good as forever, but keep
	 * it finite so that ipcore_deadline_left() still returns a timeout. */
	if (timeout->tv_sec > TIME_T_MAX - now.tv_sec - 1) {
		dl->at.tv_sec = TIME_T_MAX;
		dl->at.tv_nsec = NSEC_PER_SEC - 1;
		return;
	}
	dl->at.tv_sec = now.tv_sec + timeout->tv_sec;
	dl->at.tv_nsec = now.tv_nsec + timeout->tv_nsec;
	if (dl->at.tv_nsec >= NSEC_PER_SEC) {
		dl->at.tv_sec++;
		dl->at.tv_nsec -= NSEC_PER_SEC;
	}
}

const struct timespec *ipcore_deadline_left(const struct ipcore_deadline *dl,
					    struct timespec *left)
{
	struct timespec now;

	if (dl->forever)
		return NULL;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > dl->at.tv_sec ||
	    (now.tv_sec == dl->at.tv_sec && now.tv_nsec >= dl->at.tv_nsec)) {
		left->tv_sec = 0;
		left->tv_nsec = 0;
		return left;
	}
	left->tv_sec = dl->at.tv_sec - now.tv_sec;
	left->tv_nsec = dl->at.tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += NSEC_PER_SEC;
	}
	return left;
}

struct timespec ipcore_timespec_from_seconds(double seconds)
{
	struct timespec ts = { 0, 0 };
	double whole;
	long nsec;

	/* Negative and NaN are outside the contract; treat them as 0 rather
	 * than convert them (which would be undefined behaviour). */
	if (!(seconds > 0))
		return ts;
	/* (double)TIME_T_MAX rounds up to 2^63, so >= catches every value
	 * whose conversion would overflow, infinity included. */
	if (seconds >= (double)TIME_T_MAX) {
		ts.tv_sec = TIME_T_MAX;
		ts.tv_nsec = NSEC_PER_SEC - 1;
		return ts;
	}
	/* Truncation is floor() for a positive value, and needs no libm. */
	ts.tv_sec = (time_t)seconds;
	whole = (double)ts.tv_sec;
	nsec = (long)((seconds - whole) * 1e9 + 0.5);
	if (nsec >= NSEC_PER_SEC) {
		ts.tv_sec++;
		nsec -= NSEC_PER_SEC;
	}
	ts.tv_nsec = nsec;
	return ts;
}
