/*
 * Attributes: IPC_STAT, IPC_SET and IPC_RMID for the three kinds.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/shm.h>

const char *ipcore_kind_name(enum ipcore_kind kind)
{
	switch (kind) {
	case IPCORE_SEM:
		return "sem";
	case IPCORE_SHM:
		return "shm";
	case IPCORE_MQ:
		return "mq";
	}
	return NULL;
}

static void perm_from_kernel(struct ipcore_perm *perm,
			     const struct ipc_perm *kp)
{
	perm->key = kp->__key;
	perm->uid = kp->uid;
	perm->gid = kp->gid;
	perm->cuid = kp->cuid;
	perm->cgid = kp->cgid;
	perm->mode = kp->mode;
}

/* Applies the "-1 leaves it unchanged" rule of ipcore_set_owner_mode(). */
static void perm_update(struct ipc_perm *kp, uid_t uid, gid_t gid,
			unsigned int mode)
{
	if (uid != (uid_t)-1)
		kp->uid = uid;
	if (gid != (gid_t)-1)
		kp->gid = gid;
	if (mode != (unsigned int)-1)
		kp->mode = (kp->mode & ~0777u) | (mode & 0777u);
}

static int sem_stat_raw(int id, struct semid_ds *ds)
{
	union semun arg = { .buf = ds };

	return semctl(id, 0, IPC_STAT, arg) < 0 ? -errno : 0;
}

int ipcore_sem_stat(int id, struct ipcore_sem_info *info)
{
	struct semid_ds ds;
	int rc = sem_stat_raw(id, &ds);

	if (rc)
		return rc;
	memset(info, 0, sizeof(*info));
	perm_from_kernel(&info->perm, &ds.sem_perm);
	info->nsems = (unsigned int)ds.sem_nsems;
	info->otime = ds.sem_otime;
	info->ctime = ds.sem_ctime;
	return 0;
}

int ipcore_shm_stat(int id, struct ipcore_shm_info *info)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	perm_from_kernel(&info->perm, &ds.shm_perm);
	info->size = ds.shm_segsz;
	info->atime = ds.shm_atime;
	info->dtime = ds.shm_dtime;
	info->ctime = ds.shm_ctime;
	info->cpid = ds.shm_cpid;
	info->lpid = ds.shm_lpid;
	info->nattch = ds.shm_nattch;
	return 0;
}

int ipcore_mq_stat(int id, struct ipcore_mq_info *info)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	perm_from_kernel(&info->perm, &ds.msg_perm);
	info->qnum = ds.msg_qnum;
	info->qbytes = ds.msg_qbytes;
	info->cbytes = ds.__msg_cbytes;
	info->lspid = ds.msg_lspid;
	info->lrpid = ds.msg_lrpid;
	info->stime = ds.msg_stime;
	info->rtime = ds.msg_rtime;
	info->ctime = ds.msg_ctime;
	return 0;
}

/*
 * IPC_SET takes the whole structure, so each kind reads it first and writes
 * it back with only the owner and mode changed.  For a queue this also
 * writes back msg_qbytes unchanged; the kernel then refuses (EPERM) a caller
 * without CAP_SYS_RESOURCE if root had raised it above MSGMNB.
 */
int ipcore_set_owner_mode(enum ipcore_kind kind, int id, uid_t uid, gid_t gid,
			  unsigned int mode)
{
	switch (kind) {
	case IPCORE_SEM: {
		struct semid_ds ds;
		union semun arg = { .buf = &ds };
		int rc = sem_stat_raw(id, &ds);

		if (rc)
			return rc;
		perm_update(&ds.sem_perm, uid, gid, mode);
		return semctl(id, 0, IPC_SET, arg) < 0 ? -errno : 0;
	}
	case IPCORE_SHM: {
		struct shmid_ds ds;

		if (shmctl(id, IPC_STAT, &ds) < 0)
			return -errno;
		perm_update(&ds.shm_perm, uid, gid, mode);
		return shmctl(id, IPC_SET, &ds) < 0 ? -errno : 0;
	}
	case IPCORE_MQ: {
		struct msqid_ds ds;

		if (msgctl(id, IPC_STAT, &ds) < 0)
			return -errno;
		perm_update(&ds.msg_perm, uid, gid, mode);
		return msgctl(id, IPC_SET, &ds) < 0 ? -errno : 0;
	}
	}
	return -EINVAL;
}

int ipcore_mq_set_max_bytes(int id, unsigned long qbytes)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	ds.msg_qbytes = qbytes;
	return msgctl(id, IPC_SET, &ds) < 0 ? -errno : 0;
}

int ipcore_remove(enum ipcore_kind kind, int id)
{
	int rc = -1;

	switch (kind) {
	case IPCORE_SEM:
		rc = semctl(id, 0, IPC_RMID);
		break;
	case IPCORE_SHM:
		rc = shmctl(id, IPC_RMID, NULL);
		break;
	case IPCORE_MQ:
		rc = msgctl(id, IPC_RMID, NULL);
		break;
	default:
		return -EINVAL;
	}
	return rc < 0 ? -errno : 0;
}
