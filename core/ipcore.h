/*
 * ipcore — the System V IPC core shared by the ipcfs filesystem and the
 * sysv_ipc Python module.
 *
 * Conventions used by every function in this header:
 *
 *  - A function that can fail returns an int: 0 (or a non-negative count
 *    where documented) on success, or a negated errno value on failure.
 *    errno itself is never the channel; callers need not save it.
 *  - ipcore_error_kind() turns such a negated errno, together with the
 *    operation that produced it, into one of a few error kinds.  That table
 *    is the only place where errno values are given a meaning; the Python
 *    module maps kinds to exceptions and the filesystem maps them to the
 *    errno a file user expects.
 *  - No function retries on EINTR.  An interrupted wait returns -EINTR so
 *    that the caller can run its signal handlers (Python) or answer an
 *    interrupted request (FUSE).  ipcore_deadline lets a caller retry with
 *    the time that remains.
 *  - Nothing here allocates on the hot paths (semaphore operations, shared
 *    memory reads and writes, message send and receive).  The only
 *    functions that allocate are the listing functions, which say so.
 *  - Nothing here is thread-unsafe beyond what the kernel objects are: the
 *    library has no global mutable state.
 */
#ifndef IPCORE_H
#define IPCORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Object kinds and errors                                            */
/* ------------------------------------------------------------------ */

/* The three kinds of System V IPC object. */
enum ipcore_kind {
	IPCORE_SEM = 0,
	IPCORE_SHM = 1,
	IPCORE_MQ = 2,
};

/* Returns "sem", "shm" or "mq": the name used for the kind's directory
 * in the filesystem and for its file in /proc/sysvipc ("msg" for queues is
 * handled internally).  Returns NULL for a value that is not a kind. */
const char *ipcore_kind_name(enum ipcore_kind kind);

/*
 * The operation that produced an error.  A few errno values mean different
 * things in different calls (EINVAL from shmdt() means "not attached",
 * from shmget() "bad size", from semctl() with an id "no such object"), so
 * the error table is indexed by operation as well as by errno.
 */
enum ipcore_op {
	IPCORE_OP_GET,     /* semget/shmget/msgget, with or without creation */
	IPCORE_OP_STAT,    /* IPC_STAT and the GET* semctl commands */
	IPCORE_OP_SET,     /* IPC_SET, SETVAL, SETALL */
	IPCORE_OP_REMOVE,  /* IPC_RMID */
	IPCORE_OP_SEMOP,   /* semop/semtimedop */
	IPCORE_OP_ATTACH,  /* shmat */
	IPCORE_OP_DETACH,  /* shmdt */
	IPCORE_OP_ACCESS,  /* bounded read/write of an attached segment */
	IPCORE_OP_SEND,    /* msgsnd */
	IPCORE_OP_RECEIVE, /* msgrcv, including MSG_COPY peeks */
};

/*
 * What an error means to a user.  The Python module raises, in order:
 * ExistentialError, PermissionsError, BusyError, NotAttachedError,
 * ValueError, MemoryError, (signal handling), OSError.
 */
enum ipcore_error_kind {
	IPCORE_ERR_NONE = 0,     /* not an error (rc >= 0) */
	IPCORE_ERR_EXISTENTIAL,  /* no such object, removed, or already exists */
	IPCORE_ERR_PERMISSIONS,  /* the object's permissions refuse the call */
	IPCORE_ERR_BUSY,         /* would block, timed out, or no message */
	IPCORE_ERR_NOT_ATTACHED, /* the segment is not attached */
	IPCORE_ERR_RANGE,        /* a value or size out of range, bad argument */
	IPCORE_ERR_MEMORY,       /* the kernel is out of memory or of objects */
	IPCORE_ERR_INTERRUPTED,  /* a signal interrupted a wait */
	IPCORE_ERR_OTHER,        /* anything else: report the errno as is */
};

/* Classifies rc (a negated errno, or >= 0 for success) produced by op. */
enum ipcore_error_kind ipcore_error_kind(int rc, enum ipcore_op op);

/* ------------------------------------------------------------------ */
/* Keys                                                               */
/* ------------------------------------------------------------------ */

/*
 * How a get function picks its key.  IPCORE_KEY_RANDOM draws keys in
 * 1..SHRT_MAX from getrandom(2) and retries while the kernel answers
 * EEXIST; it requires IPC_CREAT|IPC_EXCL in the flags (else -EINVAL).
 */
enum ipcore_key_choice {
	IPCORE_KEY_GIVEN = 0,  /* use the key passed in (IPC_PRIVATE allowed) */
	IPCORE_KEY_RANDOM = 1, /* pick a random unused key */
};

/* Smallest and largest key_t values, for range checks by callers. */
#define IPCORE_KEY_MIN ((long long)INT32_MIN)
#define IPCORE_KEY_MAX ((long long)INT32_MAX)

/* Largest key drawn by IPCORE_KEY_RANDOM (SHRT_MAX, as sysv_ipc does). */
#define IPCORE_RANDOM_KEY_MAX 32767

/* Stores a random key in 1..IPCORE_RANDOM_KEY_MAX.  Returns 0 or -errno. */
int ipcore_random_key(key_t *key);

/* The result of a successful get: the object's id and the key it has. */
struct ipcore_object {
	int id;
	key_t key;
};

/* ------------------------------------------------------------------ */
/* Attributes                                                         */
/* ------------------------------------------------------------------ */

/* The ipc_perm part every kind shares. mode holds the 9 permission bits
 * (plus SHM_DEST/SHM_LOCKED for segments, as the kernel reports them). */
struct ipcore_perm {
	key_t key;
	uid_t uid, gid;   /* owner: may be changed with IPC_SET */
	uid_t cuid, cgid; /* creator: fixed */
	unsigned int mode;
};

struct ipcore_sem_info {
	struct ipcore_perm perm;
	unsigned int nsems;
	time_t otime; /* last semop, 0 if never */
	time_t ctime; /* last change by semctl */
};

struct ipcore_shm_info {
	struct ipcore_perm perm;
	size_t size;
	time_t atime, dtime, ctime;
	pid_t cpid, lpid;
	unsigned long nattch;
};

struct ipcore_mq_info {
	struct ipcore_perm perm;
	unsigned long qnum;   /* messages in the queue */
	unsigned long qbytes; /* the queue's byte limit, settable */
	unsigned long cbytes; /* bytes in the queue now */
	pid_t lspid, lrpid;
	time_t stime, rtime, ctime;
};

/* One IPC_STAT each. -EINVAL/-EIDRM for a missing id, -EACCES without read
 * permission. */
int ipcore_sem_stat(int id, struct ipcore_sem_info *info);
int ipcore_shm_stat(int id, struct ipcore_shm_info *info);
int ipcore_mq_stat(int id, struct ipcore_mq_info *info);

/* The qnum of ipcore_mq_stat() alone, inline: the module's
 * MessageQueue.current_messages reads it once per read, and the call and
 * the copying of the rest cost that read more than all else the module
 * does for it (callgrind: ~30 instructions of ~55). */
static inline int ipcore_mq_count(int id, unsigned long *qnum)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	*qnum = ds.msg_qnum;
	return 0;
}

/*
 * Changes owner and mode with IPC_SET (one IPC_STAT then one IPC_SET, as the
 * kernel needs the whole structure).  A field set to -1 ((uid_t)-1,
 * (gid_t)-1, (unsigned)-1) is left as it is; only the 9 permission bits of
 * mode are used.
 */
int ipcore_set_owner_mode(enum ipcore_kind kind, int id, uid_t uid, gid_t gid,
			  unsigned int mode);

/* Sets a queue's byte limit (msg_qbytes) with IPC_SET. */
int ipcore_mq_set_max_bytes(int id, unsigned long qbytes);

/* Removes the object with IPC_RMID. */
int ipcore_remove(enum ipcore_kind kind, int id);

/* ------------------------------------------------------------------ */
/* Listing                                                            */
/* ------------------------------------------------------------------ */

/* One object as /proc/sysvipc lists it: no permission check is involved,
 * so every user sees every object of the namespace. */
struct ipcore_entry {
	int id;
	key_t key;
	unsigned int mode; /* 9 permission bits, plus SHM_DEST for segments */
	uid_t uid, gid, cuid, cgid;
	/* nsems for sets, segment size for segments, bytes queued for queues */
	unsigned long long size;
	time_t ctime;
};

/*
 * Lists every object of a kind in the caller's IPC namespace in one pass
 * over /proc/sysvipc/<kind> (O(n) in the number of objects).  On success
 * *entries is a malloc()ed array the caller frees, *count its length, and
 * the return value is 0.  Returns -errno on failure (*entries untouched).
 */
int ipcore_list(enum ipcore_kind kind, struct ipcore_entry **entries,
		size_t *count);

/*
 * The same objects one at a time, by slot: the index in the kernel's table
 * of the kind, which /proc/sysvipc lists in slot order.  An object keeps its
 * slot for life (its id is a sequence number times IPCMNI plus the slot), so
 * a listing that resumes at a slot meets every object that lived
 * throughout exactly once, whatever was made or removed in between, and
 * costs nothing per object skipped.  Neither function allocates.
 *
 * ipcore_list_last_slot() returns the highest slot in use (IPC_INFO), 0 when
 * none is (slot 0 is then empty), or -errno.  ipcore_list_slot() fills *e
 * with the object in a slot and returns 0, -ENOENT for an empty slot (or a
 * negative one), or -errno.  Like /proc/sysvipc it checks no permission
 * (*_STAT_ANY, Linux 4.17).
 */
int ipcore_list_last_slot(enum ipcore_kind kind);
int ipcore_list_slot(enum ipcore_kind kind, int slot, struct ipcore_entry *e);

/* ------------------------------------------------------------------ */
/* Semaphore sets                                                     */
/* ------------------------------------------------------------------ */

/*
 * Gets or creates a set of nsems semaphores with semget(2).  flags holds
 * IPC_CREAT/IPC_EXCL; mode the permission bits for a new set.  nsems may be
 * 0 to open an existing set of any size.
 */
int ipcore_sem_get(key_t key, enum ipcore_key_choice choice, int nsems,
		   int flags, unsigned int mode, struct ipcore_object *out);

/*
 * Adds delta to element num (negative: P, positive: V, zero: wait for zero)
 * with semtimedop(2).  flags may hold IPC_NOWAIT and SEM_UNDO.  timeout is
 * relative; NULL waits forever.  Returns -EAGAIN when it would block under
 * IPC_NOWAIT or when the timeout expired, -EINTR when a signal interrupted
 * the wait, -ERANGE when the result would exceed SEMVMX, -EFBIG when num
 * is outside the set (a RANGE error for IPCORE_OP_SEMOP), -EIDRM when the
 * set was removed during the wait.  On a system without semtimedop(2) a
 * non-NULL timeout gives -ENOSYS.
 */
int ipcore_sem_op(int id, unsigned short num, short delta, int flags,
		  const struct timespec *timeout);

/* Performs nops operations atomically (all or none), as semtimedop(2).
 * More than SEMOPM operations give -E2BIG. */
int ipcore_sem_ops(int id, struct sembuf *ops, size_t nops,
		   const struct timespec *timeout);

/* The largest value a semaphore can hold (SEMVMX, 32767 on Linux). */
#define IPCORE_SEM_VALUE_MAX 32767

/* semctl(2) GETVAL, SETVAL, GETPID, GETNCNT, GETZCNT on element num. A
 * value outside 0..SEMVMX gives -ERANGE and changes nothing.
 * The first two are inline: the module's Semaphore.value calls one per
 * read or write, and a call more costs it as much as everything else the
 * module does for it (callgrind: ~12 instructions of ~25). */
static inline int ipcore_sem_get_value(int id, int num, int *value)
{
	int rc = semctl(id, num, GETVAL);

	if (rc < 0)
		return -errno;
	*value = rc;
	return 0;
}

static inline int ipcore_sem_set_value(int id, int num, int value)
{
	/* SETVAL's argument is a union semun, which the caller declares
	 * (glibc does not): this one has its layout. */
	union {
		int val;
		void *ptr;
	} arg = { .val = value };

	/* The kernel checks this too, but saying so without a call keeps the
	 * documented promise independent of the kernel's order of checks. */
	if (value < 0 || value > IPCORE_SEM_VALUE_MAX)
		return -ERANGE;
	return semctl(id, num, SETVAL, arg) < 0 ? -errno : 0;
}

int ipcore_sem_get_pid(int id, int num, pid_t *pid);
int ipcore_sem_get_ncount(int id, int num, int *count);
int ipcore_sem_get_zcount(int id, int num, int *count);

/* GETALL and SETALL: values has room for the set's nsems elements. */
int ipcore_sem_get_all(int id, unsigned short *values);
int ipcore_sem_set_all(int id, const unsigned short *values);

/* ------------------------------------------------------------------ */
/* Shared memory                                                      */
/* ------------------------------------------------------------------ */

/*
 * Gets or creates a segment with shmget(2).  size may be 0 to open an
 * existing segment; flags may also hold SHM_HUGETLB and SHM_NORESERVE.
 */
int ipcore_shm_get(key_t key, enum ipcore_key_choice choice, size_t size,
		   int flags, unsigned int mode, struct ipcore_object *out);

/*
 * An attachment of a segment.  size is read once, at attach time, so that
 * reads and writes need no system call: a segment never changes size.
 * A zeroed struct (addr NULL) is "not attached".
 */
struct ipcore_mapping {
	unsigned char *addr;
	size_t size;
	int id;
	bool read_only;
};

/*
 * Attaches segment id with shmat(2) at address (NULL: the kernel chooses),
 * with flags SHM_RDONLY/SHM_RND/SHM_REMAP, and fills *map.  Returns -errno
 * on failure and leaves *map untouched.
 */
int ipcore_shm_attach(int id, const void *address, int flags,
		      struct ipcore_mapping *map);

/* Detaches with shmdt(2) and zeroes *map.  -EINVAL (kind NOT_ATTACHED for
 * IPCORE_OP_DETACH) if map is not attached. */
int ipcore_shm_detach(struct ipcore_mapping *map);

/*
 * Copies len bytes at offset between the mapping and buf, without a system
 * call.  The range must lie inside the segment: otherwise -ERANGE and
 * nothing is copied.  Writing to a read-only mapping gives -EACCES; either
 * on an unattached mapping gives -EINVAL (NOT_ATTACHED for
 * IPCORE_OP_ACCESS).
 */
int ipcore_shm_read(const struct ipcore_mapping *map, size_t offset,
		    void *buf, size_t len);
int ipcore_shm_write(const struct ipcore_mapping *map, size_t offset,
		     const void *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Message queues                                                     */
/* ------------------------------------------------------------------ */

/* Gets or creates a queue with msgget(2). */
int ipcore_mq_get(key_t key, enum ipcore_key_choice choice, int flags,
		  unsigned int mode, struct ipcore_object *out);

/*
 * The buffer msgsnd(2) and msgrcv(2) work on: a type followed by the text.
 * Callers allocate it once, with ipcore_msgbuf_size(capacity) bytes, and
 * reuse it for every message: the core copies nothing and allocates nothing.
 */
struct ipcore_msgbuf {
	long type;
	char text[];
};

/* Bytes to allocate for a buffer holding messages of up to capacity bytes. */
static inline size_t ipcore_msgbuf_size(size_t capacity)
{
	return sizeof(struct ipcore_msgbuf) + capacity;
}

/*
 * Sends the len bytes of buf->text with type buf->type (> 0, else -EINVAL).
 * flags may hold IPC_NOWAIT (-EAGAIN on a full queue).  A message longer
 * than the kernel's MSGMAX gives -EINVAL.
 */
int ipcore_mq_send(int id, const struct ipcore_msgbuf *buf, size_t len,
		   int flags);

/*
 * Receives one message into buf, whose text has room for capacity bytes.
 * type follows msgrcv(2): 0 any, > 0 that type, < 0 the lowest type up to
 * |type|.  flags may hold IPC_NOWAIT (-ENOMSG when nothing matches) and
 * MSG_EXCEPT (with type > 0: the first message of another type).  A
 * matching message longer than capacity gives -E2BIG and stays queued.
 * Returns the message's length; buf->type holds its type.
 */
ssize_t ipcore_mq_receive(int id, struct ipcore_msgbuf *buf, size_t capacity,
			  long type, int flags);

/*
 * Copies, without removing it, the message at position index (0 = oldest)
 * with msgrcv(MSG_COPY|IPC_NOWAIT).  -ENOMSG if there is no such message,
 * -ENOSYS where the kernel lacks MSG_COPY, -E2BIG if it is longer than
 * capacity.  Returns the message's length.
 */
ssize_t ipcore_mq_peek(int id, struct ipcore_msgbuf *buf, size_t capacity,
		       long index);

/* ------------------------------------------------------------------ */
/* Deadlines, for retrying interrupted waits                          */
/* ------------------------------------------------------------------ */

/* A point in CLOCK_MONOTONIC time, or "never" (forever = true). */
struct ipcore_deadline {
	struct timespec at;
	bool forever;
};

/* Starts a deadline timeout from now; timeout NULL means forever. */
void ipcore_deadline_start(struct ipcore_deadline *dl,
			   const struct timespec *timeout);

/*
 * Stores in *left the time that remains and returns a pointer to it, or
 * NULL for a deadline that is forever.  A deadline that has passed leaves
 * a zero timeout (the next wait then fails at once with -EAGAIN, as a
 * timeout should).
 */
const struct timespec *ipcore_deadline_left(const struct ipcore_deadline *dl,
					    struct timespec *left);

/* Converts seconds (>= 0, finite) to a timespec. */
struct timespec ipcore_timespec_from_seconds(double seconds);

#ifdef __cplusplus
}
#endif

#endif /* IPCORE_H */
