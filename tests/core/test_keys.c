/*
 * Random keys and the get-with-random-key loop.
 */
#include "testutil.h"
#include "internal.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#define DRAWS 20000

static void test_range(void)
{
	static bool seen[IPCORE_RANDOM_KEY_MAX + 1];
	key_t key, lo = IPCORE_RANDOM_KEY_MAX, hi = 1;
	int i, distinct = 0, bad = 0;

	for (i = 0; i < DRAWS; i++) {
		REQUIRE(ipcore_random_key(&key) == 0);
		if (key < 1 || key > IPCORE_RANDOM_KEY_MAX) {
			bad++;
			continue;
		}
		if (!seen[key]) {
			seen[key] = true;
			distinct++;
		}
		if (key < lo)
			lo = key;
		if (key > hi)
			hi = key;
	}
	CHECK(bad == 0);
	/* 20000 uniform draws from 32767 values: ~14900 distinct, and both
	 * ends of the range reached within a few hundred. */
	CHECK(distinct > 13000);
	CHECK(lo < 300);
	CHECK(hi > IPCORE_RANDOM_KEY_MAX - 300);
}

#define PER_PROCESS 16

static int draw_to_pipe(void *arg)
{
	int fd = *(int *)arg;
	key_t keys[PER_PROCESS];
	int i;

	for (i = 0; i < PER_PROCESS; i++)
		if (ipcore_random_key(&keys[i]) != 0)
			return 1;
	return write(fd, keys, sizeof(keys)) == (ssize_t)sizeof(keys) ? 0 : 1;
}

/* Two processes (forked from the same parent, so with identical memory)
 * must not draw the same sequence. */
static void test_processes_differ(void)
{
	key_t a[PER_PROCESS], b[PER_PROCESS];
	int fds[2][2];
	int i;

	for (i = 0; i < 2; i++) {
		REQUIRE(pipe(fds[i]) == 0);
		CHECK_RC(test_wait(test_fork(draw_to_pipe, &fds[i][1])), 0);
		close(fds[i][1]);
	}
	CHECK(read(fds[0][0], a, sizeof(a)) == (ssize_t)sizeof(a));
	CHECK(read(fds[1][0], b, sizeof(b)) == (ssize_t)sizeof(b));
	close(fds[0][0]);
	close(fds[1][0]);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

/* A fake get for ipcore_get_object(): answers -EEXIST a number of times,
 * then an id or an error, and records what it was given. */
struct fake {
	int eexists; /* how many calls answer -EEXIST */
	int result;  /* what the call after those answers */
	int calls;
	key_t last_key;
	int last_flags;
};

static int fake_get(key_t key, int flags, const void *arg)
{
	struct fake *f = (struct fake *)(uintptr_t)arg;

	f->calls++;
	f->last_key = key;
	f->last_flags = flags;
	if (f->calls <= f->eexists)
		return -EEXIST;
	return f->result;
}

static void test_retry_loop(void)
{
	struct ipcore_object out = { -1, -1 };
	struct fake f;
	int rc;

	/* Retries past EEXIST and reports the key that worked. */
	f = (struct fake){ .eexists = 5, .result = 42 };
	rc = ipcore_get_object(0, IPCORE_KEY_RANDOM, IPC_CREAT | IPC_EXCL,
			       0640, fake_get, &f, &out);
	CHECK_RC(rc, 0);
	CHECK_RC(f.calls, 6);
	CHECK_RC(out.id, 42);
	CHECK(out.key == f.last_key);
	CHECK(out.key >= 1 && out.key <= IPCORE_RANDOM_KEY_MAX);
	CHECK_RC(f.last_flags, IPC_CREAT | IPC_EXCL | 0640);

	/* Gives up after a bounded number of tries. */
	f = (struct fake){ .eexists = INT32_MAX, .result = 1 };
	rc = ipcore_get_object(0, IPCORE_KEY_RANDOM, IPC_CREAT | IPC_EXCL,
			       0600, fake_get, &f, &out);
	CHECK_RC(rc, -EEXIST);
	CHECK_RC(f.calls, IPCORE_RANDOM_TRIES);

	/* Any other error ends the loop at once. */
	f = (struct fake){ .eexists = 0, .result = -ENOSPC };
	rc = ipcore_get_object(0, IPCORE_KEY_RANDOM, IPC_CREAT | IPC_EXCL,
			       0600, fake_get, &f, &out);
	CHECK_RC(rc, -ENOSPC);
	CHECK_RC(f.calls, 1);

	/* A random key needs IPC_CREAT|IPC_EXCL: no call is made without. */
	f = (struct fake){ .eexists = 0, .result = 1 };
	CHECK_RC(ipcore_get_object(0, IPCORE_KEY_RANDOM, IPC_EXCL, 0600,
				   fake_get, &f, &out), -EINVAL);
	CHECK_RC(ipcore_get_object(0, IPCORE_KEY_RANDOM, IPC_CREAT, 0600,
				   fake_get, &f, &out), -EINVAL);
	CHECK_RC(f.calls, 0);

	/* A given key is used as is, once; permission bits in the flags
	 * are replaced by mode; EEXIST is not retried. */
	f = (struct fake){ .eexists = 1, .result = 7 };
	rc = ipcore_get_object(-99, IPCORE_KEY_GIVEN, IPC_CREAT | 0777, 0600,
			       fake_get, &f, &out);
	CHECK_RC(rc, -EEXIST);
	CHECK_RC(f.calls, 1);
	CHECK_RC(f.last_key, -99);
	CHECK_RC(f.last_flags, IPC_CREAT | 0600);
	f = (struct fake){ .eexists = 0, .result = 7 };
	CHECK_RC(ipcore_get_object(-99, IPCORE_KEY_GIVEN, 0, 0, fake_get, &f,
				   &out), 0);
	CHECK_RC(out.id, 7);
	CHECK_RC(out.key, -99);

	/* An unknown choice is refused. */
	CHECK_RC(ipcore_get_object(1, (enum ipcore_key_choice)9, 0, 0,
				   fake_get, &f, &out), -EINVAL);
}

/* Real gets with random keys: the object has the key reported. */
static void test_real_random_gets(void)
{
	struct ipcore_object o, same;
	struct ipcore_sem_info si;
	struct ipcore_shm_info hi;
	struct ipcore_mq_info mi;

	REQUIRE(ipcore_sem_get(0, IPCORE_KEY_RANDOM, 1, IPC_CREAT | IPC_EXCL,
			       0600, &o) == 0);
	test_track(IPCORE_SEM, o.id);
	CHECK(o.key >= 1 && o.key <= IPCORE_RANDOM_KEY_MAX);
	CHECK_RC(ipcore_sem_stat(o.id, &si), 0);
	CHECK_RC(si.perm.key, o.key);
	CHECK_RC(ipcore_sem_get(o.key, IPCORE_KEY_GIVEN, 0, 0, 0, &same), 0);
	CHECK_RC(same.id, o.id);
	test_remove(IPCORE_SEM, o.id);

	REQUIRE(ipcore_shm_get(0, IPCORE_KEY_RANDOM, 4096,
			       IPC_CREAT | IPC_EXCL, 0600, &o) == 0);
	test_track(IPCORE_SHM, o.id);
	CHECK(o.key >= 1 && o.key <= IPCORE_RANDOM_KEY_MAX);
	CHECK_RC(ipcore_shm_stat(o.id, &hi), 0);
	CHECK_RC(hi.perm.key, o.key);
	test_remove(IPCORE_SHM, o.id);

	REQUIRE(ipcore_mq_get(0, IPCORE_KEY_RANDOM, IPC_CREAT | IPC_EXCL, 0600,
			      &o) == 0);
	test_track(IPCORE_MQ, o.id);
	CHECK(o.key >= 1 && o.key <= IPCORE_RANDOM_KEY_MAX);
	CHECK_RC(ipcore_mq_stat(o.id, &mi), 0);
	CHECK_RC(mi.perm.key, o.key);
	test_remove(IPCORE_MQ, o.id);

	/* Without IPC_EXCL the real functions refuse too. */
	CHECK_RC(ipcore_mq_get(0, IPCORE_KEY_RANDOM, IPC_CREAT, 0600, &o),
		 -EINVAL);

	/* IPC_PRIVATE is a given key like any other. */
	REQUIRE(ipcore_mq_get(IPC_PRIVATE, IPCORE_KEY_GIVEN,
			      IPC_CREAT | IPC_EXCL, 0600, &o) == 0);
	test_track(IPCORE_MQ, o.id);
	CHECK_RC(o.key, IPC_PRIVATE);
	test_remove(IPCORE_MQ, o.id);
}

int main(void)
{
	test_init("test_keys");
	test_range();
	test_processes_differ();
	test_retry_loop();
	test_real_random_gets();
	return test_done();
}
