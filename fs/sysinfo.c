/*
 * sysinfo — see sysinfo.h.  The values are those util-linux's ipcs prints,
 * from the same kernel calls, in the kernel's own units (shmmax in bytes,
 * shmall and the shm_* pages in pages), not ipcs's kbytes.
 */
#include "sysinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

/* glibc does not define it (POSIX leaves it to the caller). */
union info_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

/* One *ctl(0, cmd) of the kind: IPC_INFO (the limits) or SEM_INFO,
 * SHM_INFO, MSG_INFO (the same limits with the usage in some fields). */
static int sem_info(int cmd, struct seminfo *si)
{
	union info_semun arg = { .__buf = si };

	return semctl(0, 0, cmd, arg) < 0 ? -errno : 0;
}

static int shm_limits(struct shminfo *si)
{
	return shmctl(0, IPC_INFO, (struct shmid_ds *)(void *)si) < 0 ? -errno :
									  0;
}

static int shm_usage(struct shm_info *si)
{
	return shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)si) < 0 ? -errno :
									  0;
}

static int msg_info(int cmd, struct msginfo *mi)
{
	return msgctl(0, cmd, (struct msqid_ds *)(void *)mi) < 0 ? -errno : 0;
}

/* A getter per file: one kernel call, one field, formatted as the field's
 * type (int fields are signed, as ipcs prints them; the shm ones are
 * unsigned long: shmall's default is near ULONG_MAX). */
#define GETTER(fn, type, call, field, fmt)                                \
	static int fn(char *buf, size_t len)                              \
	{                                                                 \
		type s;                                                   \
		int rc;                                                   \
                                                                          \
		memset(&s, 0, sizeof(s));                                 \
		rc = call;                                                \
		return rc ? rc : snprintf(buf, len, fmt "\n", s.field);   \
	}

GETTER(get_semmsl, struct seminfo, sem_info(IPC_INFO, &s), semmsl, "%d")
GETTER(get_semmns, struct seminfo, sem_info(IPC_INFO, &s), semmns, "%d")
GETTER(get_semopm, struct seminfo, sem_info(IPC_INFO, &s), semopm, "%d")
GETTER(get_semmni, struct seminfo, sem_info(IPC_INFO, &s), semmni, "%d")
GETTER(get_semvmx, struct seminfo, sem_info(IPC_INFO, &s), semvmx, "%d")
GETTER(get_shmmax, struct shminfo, shm_limits(&s), shmmax, "%lu")
GETTER(get_shmall, struct shminfo, shm_limits(&s), shmall, "%lu")
GETTER(get_shmmni, struct shminfo, shm_limits(&s), shmmni, "%lu")
GETTER(get_shmmin, struct shminfo, shm_limits(&s), shmmin, "%lu")
GETTER(get_msgmax, struct msginfo, msg_info(IPC_INFO, &s), msgmax, "%d")
GETTER(get_msgmnb, struct msginfo, msg_info(IPC_INFO, &s), msgmnb, "%d")
GETTER(get_msgmni, struct msginfo, msg_info(IPC_INFO, &s), msgmni, "%d")

/* SEM_INFO: semusz is the number of sets, semaem of semaphores. */
GETTER(get_sem_sets, struct seminfo, sem_info(SEM_INFO, &s), semusz, "%d")
GETTER(get_sem_total, struct seminfo, sem_info(SEM_INFO, &s), semaem, "%d")
GETTER(get_shm_segments, struct shm_info, shm_usage(&s), used_ids, "%d")
GETTER(get_shm_pages, struct shm_info, shm_usage(&s), shm_tot, "%lu")
GETTER(get_shm_resident, struct shm_info, shm_usage(&s), shm_rss, "%lu")
GETTER(get_shm_swapped, struct shm_info, shm_usage(&s), shm_swp, "%lu")
/* MSG_INFO: msgpool is the number of queues, msgmap of messages, msgtql
 * of bytes queued. */
GETTER(get_msg_queues, struct msginfo, msg_info(MSG_INFO, &s), msgpool, "%d")
GETTER(get_msg_messages, struct msginfo, msg_info(MSG_INFO, &s), msgmap, "%d")
GETTER(get_msg_bytes, struct msginfo, msg_info(MSG_INFO, &s), msgtql, "%d")

struct info_file {
	const char *name;
	int (*get)(char *buf, size_t len);
};

/* In ipcs -l's order within each kind; the index is part of the file's
 * inode number: append only. */
static const struct info_file limits[] = {
	{ "semmsl", get_semmsl }, { "semmns", get_semmns },
	{ "semopm", get_semopm }, { "semmni", get_semmni },
	{ "semvmx", get_semvmx }, { "shmmax", get_shmmax },
	{ "shmall", get_shmall }, { "shmmni", get_shmmni },
	{ "shmmin", get_shmmin }, { "msgmax", get_msgmax },
	{ "msgmnb", get_msgmnb }, { "msgmni", get_msgmni },
};

static const struct info_file usage[] = {
	{ "sem_sets", get_sem_sets },
	{ "sem_total", get_sem_total },
	{ "shm_segments", get_shm_segments },
	{ "shm_pages", get_shm_pages },
	{ "shm_resident", get_shm_resident },
	{ "shm_swapped", get_shm_swapped },
	{ "msg_queues", get_msg_queues },
	{ "msg_messages", get_msg_messages },
	{ "msg_bytes", get_msg_bytes },
};

static const struct {
	const char *name;
	const struct info_file *files;
	size_t count;
} dirs[INFO_DIRS] = {
	[INFO_LIMITS] = { "limits", limits, sizeof(limits) / sizeof(*limits) },
	[INFO_USAGE] = { "usage", usage, sizeof(usage) / sizeof(*usage) },
};

const char *info_dir_name(unsigned dir)
{
	return dir < INFO_DIRS ? dirs[dir].name : NULL;
}

int info_dir_find(const char *name)
{
	unsigned d;

	for (d = 0; d < INFO_DIRS; d++)
		if (!strcmp(name, dirs[d].name))
			return (int)d;
	return -1;
}

const char *info_file_name(unsigned dir, unsigned index)
{
	if (dir >= INFO_DIRS || index >= dirs[dir].count)
		return NULL;
	return dirs[dir].files[index].name;
}

int info_file_find(unsigned dir, const char *name)
{
	size_t i;

	if (dir >= INFO_DIRS)
		return -1;
	for (i = 0; i < dirs[dir].count; i++)
		if (!strcmp(name, dirs[dir].files[i].name))
			return (int)i;
	return -1;
}

int info_read(unsigned dir, unsigned index, char *buf, size_t len)
{
	int n;

	if (dir >= INFO_DIRS || index >= dirs[dir].count)
		return -ENOENT;
	n = dirs[dir].files[index].get(buf, len);
	if (n >= 0 && (size_t)n >= len)
		return -EOVERFLOW; /* cannot happen: a number fits */
	return n;
}
