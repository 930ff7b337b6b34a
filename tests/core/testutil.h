/*
 * A tiny harness for the core's C tests.
 *
 * Every test program calls test_init() first: it moves the process into a
 * private IPC namespace (so it never sees or touches other programs'
 * objects) and arranges for every object registered with test_track() to
 * be removed at exit, whatever path the test takes.  CHECK* record a
 * failure and go on; REQUIRE stops the test.  test_done() checks that the
 * namespace is empty again and returns the exit status.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "ipcore.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_failures;

void test_init(const char *name);
int test_done(void);

/* Registers an object for removal at exit; test_untrack() after removing
 * it explicitly (the exit handler ignores errors anyway). */
void test_track(enum ipcore_kind kind, int id);
void test_untrack(enum ipcore_kind kind, int id);
/* Removes a tracked object and checks that the removal succeeded. */
void test_remove(enum ipcore_kind kind, int id);

/* Milliseconds on CLOCK_MONOTONIC. */
double test_now_ms(void);
void test_sleep_ms(long ms);

/*
 * Runs fn(arg) in a forked child that has dropped to uid/gid 65534
 * (nobody).  The child's CHECKs count in its own process; fn returns the
 * number of failures, which becomes the child's exit status.  Returns that
 * status (or 100 + signal number if it died), -1 if fork failed.
 */
int test_as_nobody(int (*fn)(void *arg), void *arg);
/* Runs fn(arg) in a forked child without dropping privileges. */
pid_t test_fork(int (*fn)(void *arg), void *arg);
/* Waits for a child from test_fork(); returns as test_as_nobody(). */
int test_wait(pid_t pid);

/* Waits (at most ~5 s) until process pid sleeps, as a child blocked in a
 * semop or msgrcv does; returns true if it did. */
bool test_wait_sleeping(pid_t pid);

/* Installs a SIGALRM handler without SA_RESTART, and arms a one-shot
 * ITIMER_REAL of ms milliseconds. */
void test_alarm_ms(long ms);
/* How many SIGALRMs test_alarm_ms()'s handler has seen. */
extern volatile int test_alarms;

#define TEST_NOBODY 65534

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",        \
				__FILE__, __LINE__, #cond);                 \
			test_failures++;                                    \
		}                                                           \
	} while (0)

/* Checks that an int-valued call returned want (a negated errno or a
 * count), printing both as numbers and errno names. */
#define CHECK_RC(expr, want)                                                \
	do {                                                                \
		long long got_ = (long long)(expr);                         \
		long long want_ = (long long)(want);                        \
		if (got_ != want_) {                                        \
			fprintf(stderr,                                     \
				"%s:%d: %s = %lld (%s), want %lld (%s)\n",  \
				__FILE__, __LINE__, #expr, got_,            \
				got_ < 0 ? strerror((int)-got_) : "ok",     \
				want_,                                      \
				want_ < 0 ? strerror((int)-want_) : "ok");  \
			test_failures++;                                    \
		}                                                           \
	} while (0)

#define CHECK_KIND(rc, op, want)                                            \
	do {                                                                \
		int kind_ = (int)ipcore_error_kind((int)(rc), (op));        \
		if (kind_ != (int)(want)) {                                 \
			fprintf(stderr,                                     \
				"%s:%d: kind of %d for %s = %d, want %s\n", \
				__FILE__, __LINE__, (int)(rc), #op, kind_,  \
				#want);                                     \
			test_failures++;                                    \
		}                                                           \
	} while (0)

#define REQUIRE(cond)                                                       \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n",      \
				__FILE__, __LINE__, #cond);                 \
			exit(1);                                            \
		}                                                           \
	} while (0)

#endif /* TESTUTIL_H */
