/*
 * The error table: every row, and real errors from the kernel.
 */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <sys/msg.h>
#include <sys/shm.h>

static const enum ipcore_op all_ops[] = {
	IPCORE_OP_GET,    IPCORE_OP_STAT,   IPCORE_OP_SET,  IPCORE_OP_REMOVE,
	IPCORE_OP_SEMOP,  IPCORE_OP_ATTACH, IPCORE_OP_DETACH,
	IPCORE_OP_ACCESS, IPCORE_OP_SEND,   IPCORE_OP_RECEIVE,
};
#define NOPS (sizeof(all_ops) / sizeof(all_ops[0]))

/* Checks that err gives want for every op. */
static void check_all_ops(int err, enum ipcore_error_kind want)
{
	size_t i;

	for (i = 0; i < NOPS; i++) {
		enum ipcore_error_kind got = ipcore_error_kind(-err,
							       all_ops[i]);
		if (got != want) {
			fprintf(stderr, "errno %d (%s) op %d: kind %d, want %d\n",
				err, strerror(err), (int)all_ops[i], (int)got,
				(int)want);
			test_failures++;
		}
	}
}

static void test_table(void)
{
	size_t i;

	/* Success is never an error, whatever the op. */
	for (i = 0; i < NOPS; i++) {
		CHECK_KIND(0, all_ops[i], IPCORE_ERR_NONE);
		CHECK_KIND(17, all_ops[i], IPCORE_ERR_NONE);
		CHECK_KIND(INT_MAX, all_ops[i], IPCORE_ERR_NONE);
	}
	/* INT_MIN cannot be negated: it must not crash (UBSan) nor match. */
	CHECK_KIND(INT_MIN, IPCORE_OP_STAT, IPCORE_ERR_OTHER);

	check_all_ops(ENOENT, IPCORE_ERR_EXISTENTIAL);
	check_all_ops(EIDRM, IPCORE_ERR_EXISTENTIAL);
	check_all_ops(EEXIST, IPCORE_ERR_EXISTENTIAL);
	check_all_ops(EPERM, IPCORE_ERR_PERMISSIONS);
	check_all_ops(EAGAIN, IPCORE_ERR_BUSY);
	check_all_ops(ENOMSG, IPCORE_ERR_BUSY);
	check_all_ops(ENOMEM, IPCORE_ERR_MEMORY);
	check_all_ops(ENOSPC, IPCORE_ERR_MEMORY);
	check_all_ops(ERANGE, IPCORE_ERR_RANGE);
	check_all_ops(EINTR, IPCORE_ERR_INTERRUPTED);
	check_all_ops(E2BIG, IPCORE_ERR_OTHER);
	check_all_ops(ENOSYS, IPCORE_ERR_OTHER);
	check_all_ops(EFAULT, IPCORE_ERR_OTHER);
	check_all_ops(EIO, IPCORE_ERR_OTHER);
	check_all_ops(4095, IPCORE_ERR_OTHER);

	/* EINVAL depends on the op. */
	CHECK_KIND(-EINVAL, IPCORE_OP_GET, IPCORE_ERR_RANGE);
	CHECK_KIND(-EINVAL, IPCORE_OP_STAT, IPCORE_ERR_EXISTENTIAL);
	CHECK_KIND(-EINVAL, IPCORE_OP_SET, IPCORE_ERR_EXISTENTIAL);
	CHECK_KIND(-EINVAL, IPCORE_OP_REMOVE, IPCORE_ERR_EXISTENTIAL);
	CHECK_KIND(-EINVAL, IPCORE_OP_SEMOP, IPCORE_ERR_EXISTENTIAL);
	CHECK_KIND(-EINVAL, IPCORE_OP_ATTACH, IPCORE_ERR_EXISTENTIAL);
	CHECK_KIND(-EINVAL, IPCORE_OP_DETACH, IPCORE_ERR_NOT_ATTACHED);
	CHECK_KIND(-EINVAL, IPCORE_OP_ACCESS, IPCORE_ERR_NOT_ATTACHED);
	CHECK_KIND(-EINVAL, IPCORE_OP_SEND, IPCORE_ERR_EXISTENTIAL);
	CHECK_KIND(-EINVAL, IPCORE_OP_RECEIVE, IPCORE_ERR_EXISTENTIAL);

	/* EACCES: object permissions, except the core's own "read-only
	 * mapping" refusal, which sysv_ipc reports as a plain OSError. */
	for (i = 0; i < NOPS; i++) {
		if (all_ops[i] == IPCORE_OP_ACCESS)
			CHECK_KIND(-EACCES, all_ops[i], IPCORE_ERR_OTHER);
		else
			CHECK_KIND(-EACCES, all_ops[i],
				   IPCORE_ERR_PERMISSIONS);
	}

	/* EFBIG (semaphore number outside the set) is a bad argument only
	 * for semop; elsewhere it is reported as is. */
	CHECK_KIND(-EFBIG, IPCORE_OP_SEMOP, IPCORE_ERR_RANGE);
	CHECK_KIND(-EFBIG, IPCORE_OP_SEND, IPCORE_ERR_OTHER);
}

static void test_kind_names(void)
{
	CHECK(strcmp(ipcore_kind_name(IPCORE_SEM), "sem") == 0);
	CHECK(strcmp(ipcore_kind_name(IPCORE_SHM), "shm") == 0);
	CHECK(strcmp(ipcore_kind_name(IPCORE_MQ), "mq") == 0);
	CHECK(ipcore_kind_name((enum ipcore_kind)7) == NULL);
}

/* Errors as the kernel produces them, classified by the table. */
static void test_real_errors(void)
{
	struct ipcore_object obj, again;
	struct ipcore_sem_info si;
	int rc;

	/* A key nobody has made, without IPC_CREAT: ENOENT. */
	rc = ipcore_mq_get(4242, IPCORE_KEY_GIVEN, 0, 0600, &obj);
	CHECK_RC(rc, -ENOENT);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_EXISTENTIAL);

	REQUIRE(ipcore_sem_get(4242, IPCORE_KEY_GIVEN, 1,
			       IPC_CREAT | IPC_EXCL, 0600, &obj) == 0);
	test_track(IPCORE_SEM, obj.id);

	/* Made twice with IPC_EXCL: EEXIST. */
	rc = ipcore_sem_get(4242, IPCORE_KEY_GIVEN, 1, IPC_CREAT | IPC_EXCL,
			    0600, &again);
	CHECK_RC(rc, -EEXIST);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_EXISTENTIAL);

	/* More semaphores than the set has: EINVAL from a get is a range
	 * error. */
	rc = ipcore_sem_get(4242, IPCORE_KEY_GIVEN, 2, 0, 0600, &again);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_RANGE);

	/* A segment of size 0 cannot be made: range. */
	rc = ipcore_shm_get(IPC_PRIVATE, IPCORE_KEY_GIVEN, 0,
			    IPC_CREAT | IPC_EXCL, 0600, &again);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_RANGE);

	/* After removal the id names nothing: existential. */
	test_remove(IPCORE_SEM, obj.id);
	rc = ipcore_sem_stat(obj.id, &si);
	CHECK(rc == -EINVAL || rc == -EIDRM);
	CHECK_KIND(rc, IPCORE_OP_STAT, IPCORE_ERR_EXISTENTIAL);
	rc = ipcore_remove(IPCORE_SEM, obj.id);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_REMOVE, IPCORE_ERR_EXISTENTIAL);
}

/* Writes a number to a sysctl of this (private) IPC namespace and
 * returns the old value, or -1. */
static long set_sysctl(const char *path, long value)
{
	FILE *f = fopen(path, "r+");
	long old = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &old) != 1)
		old = -1;
	rewind(f);
	fprintf(f, "%ld\n", value);
	if (fclose(f) != 0)
		return -1;
	return old;
}

/*
 * Limits: IPC sysctls belong to the IPC namespace, so this test may lower
 * them without touching anyone else's.  One queue allowed: the second get
 * fails with ENOSPC, a memory error.  A segment above SHMMAX: EINVAL from a
 * get, a range error.
 */
static void test_limits(void)
{
	struct ipcore_object a, b;
	long old;
	int rc;

	old = set_sysctl("/proc/sys/kernel/msgmni", 1);
	REQUIRE(old > 0);
	REQUIRE(ipcore_mq_get(IPC_PRIVATE, IPCORE_KEY_GIVEN, IPC_CREAT, 0600,
			      &a) == 0);
	test_track(IPCORE_MQ, a.id);
	rc = ipcore_mq_get(IPC_PRIVATE, IPCORE_KEY_GIVEN, IPC_CREAT, 0600, &b);
	CHECK_RC(rc, -ENOSPC);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_MEMORY);
	if (rc == 0)
		test_track(IPCORE_MQ, b.id);
	/* A random key does not turn ENOSPC into retries. */
	rc = ipcore_mq_get(0, IPCORE_KEY_RANDOM, IPC_CREAT | IPC_EXCL, 0600,
			   &b);
	CHECK_RC(rc, -ENOSPC);
	if (rc == 0)
		test_track(IPCORE_MQ, b.id);
	test_remove(IPCORE_MQ, a.id);
	CHECK(set_sysctl("/proc/sys/kernel/msgmni", old) == 1);

	old = set_sysctl("/proc/sys/kernel/shmmax", 8192);
	REQUIRE(old > 0);
	rc = ipcore_shm_get(IPC_PRIVATE, IPCORE_KEY_GIVEN, 8193, IPC_CREAT,
			    0600, &b);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_RANGE);
	if (rc == 0)
		test_track(IPCORE_SHM, b.id);
	CHECK(set_sysctl("/proc/sys/kernel/shmmax", old) == 8192);
}

int main(void)
{
	test_init("test_errors");
	test_table();
	test_kind_names();
	test_real_errors();
	test_limits();
	return test_done();
}
