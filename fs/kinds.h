/*
 * kinds — the three kinds of object (semaphore sets, segments, queues) in
 * one table: what the rest of fs/ asks of an object whatever its kind
 * (stat it, its permissions, size and change time, get or create it by
 * key), so that no other file switches on the kind.
 */
#ifndef IPCFS_KINDS_H
#define IPCFS_KINDS_H

#include <stdint.h>
#include <time.h>

#include "ipcore.h"

/* One IPC_STAT of an object, whatever its kind. */
struct obj {
	enum ipcore_kind kind;
	int id;
	union {
		struct ipcore_sem_info sem;
		struct ipcore_shm_info shm;
		struct ipcore_mq_info mq;
	} u;
};

/* Stats object id of kind.  Returns 0 or -errno (ENOENT if it is gone). */
int obj_stat(enum ipcore_kind kind, int id, struct obj *o);
const struct ipcore_perm *obj_perm(const struct obj *o);
/* nsems of a set, size of a segment, 0 for a queue. */
unsigned long long obj_size(const struct obj *o);
/* The time of its last change (IPC_SET, creation). */
time_t obj_ctime(const struct obj *o);
/* The FUSE generation of an object's nodes (see ino.h). */
uint64_t obj_generation(const struct obj *o);

/* semget/shmget/msgget of key with flags (IPC_CREAT, IPC_EXCL) and mode:
 * size is the number of semaphores or the segment's size, and means
 * nothing to a queue.  Returns the core's answer (0 or its -errno, for
 * fs_errno() with IPCORE_OP_GET). */
int kind_get(enum ipcore_kind kind, key_t key, unsigned long long size,
	     int flags, unsigned mode, struct ipcore_object *ob);

#endif /* IPCFS_KINDS_H */
