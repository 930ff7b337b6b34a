/*
 * Semaphore sets: semget, semtimedop and the value commands of semctl.
 */
#include "internal.h"

#include <errno.h>
#include <stdint.h>

static int sem_get_raw(key_t key, int flags, const void *arg)
{
	int id = semget(key, *(const int *)arg, flags);

	return id < 0 ? -errno : id;
}

int ipcore_sem_get(key_t key, enum ipcore_key_choice choice, int nsems,
		   int flags, unsigned int mode, struct ipcore_object *out)
{
	return ipcore_get_object(key, choice, flags, mode, sem_get_raw, &nsems,
				 out);
}

int ipcore_sem_ops(int id, struct sembuf *ops, size_t nops,
		   const struct timespec *timeout)
{
	int rc;

#if HAVE_SEMTIMEDOP
	/* semtimedop() takes a relative timeout; NULL blocks like semop(). */
	rc = semtimedop(id, ops, nops, timeout);
#else
	if (timeout)
		return -ENOSYS;
	rc = semop(id, ops, nops);
#endif
	return rc < 0 ? -errno : 0;
}

int ipcore_sem_op(int id, unsigned short num, short delta, int flags,
		  const struct timespec *timeout)
{
	struct sembuf op = {
		.sem_num = num,
		.sem_op = delta,
		.sem_flg = (short)(flags & (IPC_NOWAIT | SEM_UNDO)),
	};

	return ipcore_sem_ops(id, &op, 1, timeout);
}

/* Runs a semctl command that returns a value on element num. */
static int sem_ctl_value(int id, int num, int cmd, int *value)
{
	int rc = semctl(id, num, cmd);

	if (rc < 0)
		return -errno;
	*value = rc;
	return 0;
}

int ipcore_sem_get_pid(int id, int num, pid_t *pid)
{
	int v = 0;
	int rc = sem_ctl_value(id, num, GETPID, &v);

	if (rc == 0)
		*pid = (pid_t)v;
	return rc;
}

int ipcore_sem_get_ncount(int id, int num, int *count)
{
	return sem_ctl_value(id, num, GETNCNT, count);
}

int ipcore_sem_get_zcount(int id, int num, int *count)
{
	return sem_ctl_value(id, num, GETZCNT, count);
}

/*
 * GETALL and SETALL work on the whole set, whose size the kernel knows, so
 * no IPC_STAT is needed here.  SETALL with any value above SEMVMX fails with
 * ERANGE before the kernel changes anything.
 */
int ipcore_sem_get_all(int id, unsigned short *values)
{
	union semun arg = { .array = values };

	return semctl(id, 0, GETALL, arg) < 0 ? -errno : 0;
}

int ipcore_sem_set_all(int id, const unsigned short *values)
{
	/* SETALL only reads the array; semun has no const member. */
	union semun arg = { .array = (unsigned short *)(uintptr_t)values };

	return semctl(id, 0, SETALL, arg) < 0 ? -errno : 0;
}
