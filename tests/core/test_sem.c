/*
 * Semaphore sets: get, op/ops (blocking, non-blocking, timed, interrupted),
 * the value commands, attributes and permissions.
 */
#include "testutil.h"
#include "config.h"

#include <errno.h>
#include <unistd.h>

#define KEY 5151

static int set_id;

static int value_of(int num)
{
	int v = -1;

	CHECK_RC(ipcore_sem_get_value(set_id, num, &v), 0);
	return v;
}

static void test_get(void)
{
	struct ipcore_object o;
	struct ipcore_sem_info si;
	int rc;

	CHECK_RC(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 3, 0, 0600, &o),
		 -ENOENT);
	REQUIRE(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 3,
			       IPC_CREAT | IPC_EXCL | 0777, 0600, &o) == 0);
	test_track(IPCORE_SEM, o.id);
	set_id = o.id;
	CHECK_RC(o.key, KEY);

	CHECK_RC(ipcore_sem_stat(set_id, &si), 0);
	CHECK_RC(si.perm.key, KEY);
	CHECK_RC(si.perm.mode, 0600); /* the flags' 0777 was ignored */
	CHECK_RC(si.perm.uid, getuid());
	CHECK_RC(si.perm.cuid, getuid());
	CHECK_RC(si.perm.gid, getgid());
	CHECK_RC(si.nsems, 3);
	CHECK_RC(si.otime, 0);
	CHECK(si.ctime > 0);

	rc = ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 3, IPC_CREAT | IPC_EXCL,
			    0600, &o);
	CHECK_RC(rc, -EEXIST);
	/* Opening with any nsems up to the set's, or 0, finds it. */
	CHECK_RC(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 0, 0, 0, &o), 0);
	CHECK_RC(o.id, set_id);
	CHECK_RC(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 2, IPC_CREAT, 0600,
				&o), 0);
	CHECK_RC(o.id, set_id);
	CHECK_RC(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 4, 0, 0, &o), -EINVAL);
}

static int one_op(void *arg)
{
	(void)arg;
	return ipcore_sem_op(set_id, 0, 1, 0, NULL) == 0 ? 0 : 1;
}

static void test_values(void)
{
	pid_t child;
	unsigned short all[3] = { 0 };
	unsigned short good[3] = { 1, 2, 3 };
	unsigned short bad[3] = { 4, IPCORE_SEM_VALUE_MAX + 1, 6 };
	pid_t pid = 0;
	int rc;

	CHECK_RC(value_of(0), 0);
	CHECK_RC(ipcore_sem_set_value(set_id, 0, 5), 0);
	CHECK_RC(value_of(0), 5);

	/* Out of range: ERANGE, no change. */
	rc = ipcore_sem_set_value(set_id, 0, IPCORE_SEM_VALUE_MAX + 1);
	CHECK_RC(rc, -ERANGE);
	CHECK_KIND(rc, IPCORE_OP_SET, IPCORE_ERR_RANGE);
	CHECK_RC(value_of(0), 5);
	CHECK_RC(ipcore_sem_set_value(set_id, 0, -1), -ERANGE);
	CHECK_RC(value_of(0), 5);
	/* Checked before any system call: even a bad id gives ERANGE. */
	CHECK_RC(ipcore_sem_set_value(-1, 0, IPCORE_SEM_VALUE_MAX + 1),
		 -ERANGE);
	CHECK_RC(ipcore_sem_set_value(-1, 0, 1), -EINVAL);
	CHECK_RC(ipcore_sem_set_value(set_id, 1, IPCORE_SEM_VALUE_MAX), 0);
	CHECK_RC(value_of(1), IPCORE_SEM_VALUE_MAX);

	/* Element outside the set. */
	CHECK_RC(ipcore_sem_set_value(set_id, 3, 1), -EINVAL);
	CHECK_RC(ipcore_sem_get_value(set_id, 3, &rc), -EINVAL);

	CHECK_RC(ipcore_sem_set_all(set_id, good), 0);
	CHECK_RC(ipcore_sem_get_all(set_id, all), 0);
	CHECK(all[0] == 1 && all[1] == 2 && all[2] == 3);
	rc = ipcore_sem_set_all(set_id, bad);
	CHECK_RC(rc, -ERANGE);
	CHECK_KIND(rc, IPCORE_OP_SET, IPCORE_ERR_RANGE);
	CHECK_RC(ipcore_sem_get_all(set_id, all), 0);
	CHECK(all[0] == 1 && all[1] == 2 && all[2] == 3);

	/* GETPID: the last process to change the element (Linux counts
	 * SETVAL/SETALL too, so use a child's semop to tell). */
	child = test_fork(one_op, NULL);
	CHECK_RC(test_wait(child), 0);
	CHECK_RC(ipcore_sem_get_pid(set_id, 0, &pid), 0);
	CHECK_RC(pid, child);
	CHECK_RC(value_of(0), 2);
	CHECK_RC(ipcore_sem_op(set_id, 0, 1, 0, NULL), 0);
	CHECK_RC(ipcore_sem_get_pid(set_id, 0, &pid), 0);
	CHECK_RC(pid, getpid());
}

/* SEMOPM, the third field of /proc/sys/kernel/sem. */
static size_t read_semopm(void)
{
	FILE *f = fopen("/proc/sys/kernel/sem", "re");
	long msl, mns, opm = -1;

	REQUIRE(f != NULL);
	if (fscanf(f, "%ld %ld %ld", &msl, &mns, &opm) != 3)
		opm = -1;
	fclose(f);
	REQUIRE(opm > 0);
	return (size_t)opm;
}

static void test_ops(void)
{
	struct ipcore_sem_info si;
	struct timespec zero = { 0, 0 };
	struct sembuf two[2] = {
		{ .sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT },
		{ .sem_num = 1, .sem_op = -1, .sem_flg = IPC_NOWAIT },
	};
	struct sembuf *many;
	size_t semopm = read_semopm(), i;
	int rc;

	CHECK_RC(ipcore_sem_set_value(set_id, 0, 3), 0);
	CHECK_RC(ipcore_sem_op(set_id, 0, -2, 0, NULL), 0);
	CHECK_RC(value_of(0), 1);
	CHECK_RC(ipcore_sem_stat(set_id, &si), 0);
	CHECK(si.otime > 0);

	/* Would block: EAGAIN under IPC_NOWAIT, and with a zero timeout. */
	rc = ipcore_sem_op(set_id, 0, -2, IPC_NOWAIT, NULL);
	CHECK_RC(rc, -EAGAIN);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_BUSY);
#if HAVE_SEMTIMEDOP
	CHECK_RC(ipcore_sem_op(set_id, 0, -2, 0, &zero), -EAGAIN);
#else
	CHECK_RC(ipcore_sem_op(set_id, 0, -2, 0, &zero), -ENOSYS);
#endif
	CHECK_RC(value_of(0), 1);

	/* Wait for zero. */
	CHECK_RC(ipcore_sem_op(set_id, 0, 0, IPC_NOWAIT, NULL), -EAGAIN);
	CHECK_RC(ipcore_sem_op(set_id, 0, -1, 0, NULL), 0);
	CHECK_RC(ipcore_sem_op(set_id, 0, 0, IPC_NOWAIT, NULL), 0);

	/* Past SEMVMX: ERANGE, no change. */
	CHECK_RC(ipcore_sem_set_value(set_id, 1, IPCORE_SEM_VALUE_MAX), 0);
	rc = ipcore_sem_op(set_id, 1, 1, 0, NULL);
	CHECK_RC(rc, -ERANGE);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_RANGE);
	CHECK_RC(value_of(1), IPCORE_SEM_VALUE_MAX);

	/* Element outside the set: EFBIG, a range error for semop. */
	rc = ipcore_sem_op(set_id, 3, 1, 0, NULL);
	CHECK_RC(rc, -EFBIG);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_RANGE);

	/* Atomic: element 1 cannot go down, so element 0 does not either. */
	CHECK_RC(ipcore_sem_set_value(set_id, 0, 1), 0);
	CHECK_RC(ipcore_sem_set_value(set_id, 1, 0), 0);
	CHECK_RC(ipcore_sem_ops(set_id, two, 2, NULL), -EAGAIN);
	CHECK_RC(value_of(0), 1);
	CHECK_RC(ipcore_sem_set_value(set_id, 1, 1), 0);
	CHECK_RC(ipcore_sem_ops(set_id, two, 2, NULL), 0);
	CHECK_RC(value_of(0), 0);
	CHECK_RC(value_of(1), 0);

	/* More operations than SEMOPM: E2BIG, reported as is. */
	CHECK_RC(ipcore_sem_set_value(set_id, 0, 0), 0);
	many = calloc(semopm + 1, sizeof(*many));
	REQUIRE(many != NULL);
	for (i = 0; i < semopm + 1; i++)
		many[i].sem_op = 1;
	rc = ipcore_sem_ops(set_id, many, semopm + 1, NULL);
	CHECK_RC(rc, -E2BIG);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_OTHER);
	CHECK_RC(value_of(0), 0);
	free(many);

	/* For test_undo. */
	CHECK_RC(ipcore_sem_set_value(set_id, 2, 2), 0);
}

static int undo_child(void *arg)
{
	(void)arg;
	return ipcore_sem_op(set_id, 2, -2, SEM_UNDO | IPC_NOWAIT, NULL) == 0 ?
		       0 : 1;
}

static void test_undo(void)
{
	CHECK_RC(test_wait(test_fork(undo_child, NULL)), 0);
	CHECK_RC(value_of(2), 2);
}

static void test_timeout(void)
{
	struct timespec ms50 = { 0, 50 * 1000000L };
	double t0, elapsed;
	int rc;

	CHECK_RC(ipcore_sem_set_value(set_id, 0, 0), 0);
	t0 = test_now_ms();
	rc = ipcore_sem_op(set_id, 0, -1, 0, &ms50);
	elapsed = test_now_ms() - t0;
	CHECK_RC(rc, -EAGAIN);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_BUSY);
	CHECK(elapsed >= 50.0);
	CHECK(elapsed < 2000.0);
	CHECK_RC(value_of(0), 0);
}

static void test_interrupted(void)
{
	double t0, elapsed;
	int rc;

	CHECK_RC(ipcore_sem_set_value(set_id, 0, 0), 0);
	test_alarms = 0;
	t0 = test_now_ms();
	test_alarm_ms(100);
	rc = ipcore_sem_op(set_id, 0, -1, 0, NULL); /* would wait forever */
	elapsed = test_now_ms() - t0;
	CHECK_RC(rc, -EINTR);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_INTERRUPTED);
	CHECK_RC(test_alarms, 1);
	CHECK(elapsed >= 90.0);
	CHECK_RC(value_of(0), 0);
}

/* A child blocks on element 0 (P) or waits for element 2 to be zero. */
static int waiter(void *arg)
{
	short delta = (short)(intptr_t)arg;
	unsigned short num = delta ? 0 : 2;

	return ipcore_sem_op(set_id, num, delta, 0, NULL) == 0 ? 0 : 1;
}

/* Polls a count until it reaches want (at most ~5 s). */
static int wait_count(int (*get)(int, int, int *), int num, int want)
{
	int i, n = -1;

	for (i = 0; i < 500; i++) {
		CHECK_RC(get(set_id, num, &n), 0);
		if (n == want)
			break;
		test_sleep_ms(10);
	}
	return n;
}

static void test_counts(void)
{
	pid_t pid;
	int n = -1;

	CHECK_RC(ipcore_sem_set_value(set_id, 0, 0), 0);
	CHECK_RC(ipcore_sem_get_ncount(set_id, 0, &n), 0);
	CHECK_RC(n, 0);
	pid = test_fork(waiter, (void *)(intptr_t)-1);
	CHECK_RC(wait_count(ipcore_sem_get_ncount, 0, 1), 1);
	CHECK_RC(ipcore_sem_op(set_id, 0, 1, 0, NULL), 0);
	CHECK_RC(test_wait(pid), 0);
	CHECK_RC(wait_count(ipcore_sem_get_ncount, 0, 0), 0);
	CHECK_RC(value_of(0), 0);

	CHECK_RC(ipcore_sem_set_value(set_id, 2, 1), 0);
	CHECK_RC(ipcore_sem_get_zcount(set_id, 2, &n), 0);
	CHECK_RC(n, 0);
	pid = test_fork(waiter, (void *)(intptr_t)0);
	CHECK_RC(wait_count(ipcore_sem_get_zcount, 2, 1), 1);
	CHECK_RC(ipcore_sem_set_value(set_id, 2, 0), 0);
	CHECK_RC(test_wait(pid), 0);
	CHECK_RC(wait_count(ipcore_sem_get_zcount, 2, 0), 0);
}

/* As nobody, on a 0600 set owned by root: every call is refused. */
static int refused_child(void *arg)
{
	struct ipcore_sem_info si;
	struct ipcore_object o;
	unsigned short all[3];
	int v, rc;

	(void)arg;
	rc = ipcore_sem_stat(set_id, &si);
	CHECK_RC(rc, -EACCES);
	CHECK_KIND(rc, IPCORE_OP_STAT, IPCORE_ERR_PERMISSIONS);
	/* A get checks the permissions that its mode asks for. */
	CHECK_RC(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 0, 0, 0600, &o),
		 -EACCES);
	CHECK_RC(ipcore_sem_get(KEY, IPCORE_KEY_GIVEN, 0, 0, 0400, &o),
		 -EACCES);
	CHECK_RC(ipcore_sem_get_value(set_id, 0, &v), -EACCES);
	CHECK_RC(ipcore_sem_get_all(set_id, all), -EACCES);
	rc = ipcore_sem_set_value(set_id, 0, 1);
	CHECK_RC(rc, -EACCES);
	CHECK_KIND(rc, IPCORE_OP_SET, IPCORE_ERR_PERMISSIONS);
	rc = ipcore_sem_op(set_id, 0, 1, IPC_NOWAIT, NULL);
	CHECK_RC(rc, -EACCES);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_PERMISSIONS);
	rc = ipcore_set_owner_mode(IPCORE_SEM, set_id, (uid_t)-1, (gid_t)-1,
				   0666);
	CHECK_RC(rc, -EACCES); /* the IPC_STAT before IPC_SET is refused */
	rc = ipcore_remove(IPCORE_SEM, set_id);
	CHECK_RC(rc, -EPERM);
	CHECK_KIND(rc, IPCORE_OP_REMOVE, IPCORE_ERR_PERMISSIONS);
	return test_failures;
}

/* As nobody, once the set is 0644: reading works, writing does not. */
static int reader_child(void *arg)
{
	struct ipcore_sem_info si;
	int v = -1;

	(void)arg;
	CHECK_RC(ipcore_sem_stat(set_id, &si), 0);
	CHECK_RC(ipcore_sem_get_value(set_id, 0, &v), 0);
	CHECK_RC(v, 7);
	CHECK_RC(ipcore_sem_op(set_id, 0, -1, IPC_NOWAIT, NULL), -EACCES);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SEM, set_id, (uid_t)-1,
				       (gid_t)-1, 0666), -EPERM);
	return test_failures;
}

/* As nobody, once it owns the set: it may change the mode. */
static int owner_child(void *arg)
{
	(void)arg;
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SEM, set_id, (uid_t)-1,
				       (gid_t)-1, 0600), 0);
	return test_failures;
}

static void test_permissions(void)
{
	struct ipcore_sem_info si;

	CHECK_RC(test_as_nobody(refused_child, NULL), 0);

	CHECK_RC(ipcore_sem_set_value(set_id, 0, 7), 0);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SEM, set_id, (uid_t)-1,
				       (gid_t)-1, 01644), 0);
	CHECK_RC(ipcore_sem_stat(set_id, &si), 0);
	CHECK_RC(si.perm.mode, 0644); /* only the 9 permission bits */
	CHECK_RC(si.perm.uid, getuid());
	CHECK_RC(test_as_nobody(reader_child, NULL), 0);

	/* Change only the owner: mode stays, creator stays. */
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SEM, set_id, TEST_NOBODY,
				       TEST_NOBODY, (unsigned int)-1), 0);
	CHECK_RC(ipcore_sem_stat(set_id, &si), 0);
	CHECK_RC(si.perm.uid, TEST_NOBODY);
	CHECK_RC(si.perm.gid, TEST_NOBODY);
	CHECK_RC(si.perm.cuid, getuid());
	CHECK_RC(si.perm.mode, 0644);
	CHECK_RC(test_as_nobody(owner_child, NULL), 0);
	CHECK_RC(ipcore_sem_stat(set_id, &si), 0);
	CHECK_RC(si.perm.mode, 0600);
	CHECK_RC(si.perm.uid, TEST_NOBODY);
}

/* A waiter learns that the set was removed under it. */
static int removed_waiter(void *arg)
{
	int rc;

	(void)arg;
	rc = ipcore_sem_op(set_id, 0, -1, 0, NULL);
	CHECK_RC(rc, -EIDRM);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_EXISTENTIAL);
	return test_failures;
}

static void test_removed(void)
{
	struct ipcore_sem_info si;
	pid_t pid;
	int v, rc;

	CHECK_RC(ipcore_sem_set_value(set_id, 0, 0), 0);
	pid = test_fork(removed_waiter, NULL);
	CHECK_RC(wait_count(ipcore_sem_get_ncount, 0, 1), 1);
	test_remove(IPCORE_SEM, set_id);
	CHECK_RC(test_wait(pid), 0);

	rc = ipcore_sem_stat(set_id, &si);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_STAT, IPCORE_ERR_EXISTENTIAL);
	rc = ipcore_sem_op(set_id, 0, 1, 0, NULL);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_SEMOP, IPCORE_ERR_EXISTENTIAL);
	rc = ipcore_sem_set_value(set_id, 0, 1);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_SET, IPCORE_ERR_EXISTENTIAL);
	CHECK_RC(ipcore_sem_get_value(set_id, 0, &v), -EINVAL);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SEM, set_id, (uid_t)-1,
				       (gid_t)-1, 0600), -EINVAL);
	CHECK_RC(ipcore_remove(IPCORE_SEM, set_id), -EINVAL);
}

int main(void)
{
	test_init("test_sem");
	test_get();
	test_values();
	test_ops();
	test_undo();
#if HAVE_SEMTIMEDOP
	test_timeout();
#endif
	test_interrupted();
	test_counts();
	test_permissions();
	test_removed();
	return test_done();
}
