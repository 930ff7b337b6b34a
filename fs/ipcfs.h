/*
 * ipcfs — the mount's state, and the one place that owns it.
 *
 * The filesystem keeps little state: every node has a number (ino.h), and
 * everything shown is read from the kernel when asked.  What it does keep
 * is here, in one struct ipcfs that every request reaches with
 * ipcfs_of(req): the table of node ids, the handles of open files, the
 * waiters (blocking.h) and the data files' state (shm_data.h).  fs/ has no
 * other state: its files keep none of their own.  main.c fills it
 * (ipcfs_state_init(), the mount, the waiters); the session's .destroy
 * (ops.c) frees it.
 */
#ifndef IPCFS_IPCFS_H
#define IPCFS_IPCFS_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ipcore.h"
#include "access.h"
#include "fs_errno.h"
#include "files.h"
#include "ino.h"
#include "kinds.h"
#include "open_files.h"
#include "shm_data.h"

struct blocking;
struct dev_io;

/* Attribute, send and receive files one user may have open at once (each
 * holds a little of the daemon's memory); the next open is ENFILE.  -o
 * max_files_per_user= changes it. */
#define IPCFS_MAX_FILES_PER_USER 4096

/* How <kind>/ names objects (-o keys=): its listings, and the spelling of
 * a key that is the directory's canonical name (VIA_KEY), which every
 * other spelling is an alias of (names.h). */
enum key_names {
	KEYS_DEC = 0, /* signed decimal, as sysv_ipc and /proc/sysvipc */
	KEYS_HEX = 1, /* 0x and 8 lowercase hex digits, as ipcs prints */
};

struct ipcfs {
	/* Set at start */
	size_t shm_size;      /* size of a segment made by mkdir shm/<key> */
	uid_t daemon_uid;     /* the daemon's euid/egid, restored after */
	gid_t daemon_gid;     /* creating an object as the caller */
	time_t started;       /* the times of the directories that never change */
	struct userns_chain userns; /* whose capabilities count (access.h) */
	enum key_names keys;      /* -o keys= */
	/* Kept while mounted */
	struct ino_table nodes;   /* the node ids handed out (ino.h) */
	struct open_table opens;  /* open files' handles (open_files.h) */
	pthread_mutex_t attr_text_lock; /* their text (attr_files.c) */
	struct shm_data *shm_data;
	struct blocking *blocking;
	struct dev_io *dev_io;    /* the session's I/O (dev_io.h) */
};

/* The mount-wide state of the request's session. */
static inline struct ipcfs *ipcfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The caller of req, for the checks of access.h; caller_done() after. */
static inline void ipcfs_caller(struct caller *c, fuse_req_t req)
{
	caller_init(c, req, &ipcfs_of(req)->userns);
}

/* The low-level operations (ops.c). */
extern const struct fuse_lowlevel_ops ipcfs_ops;

/* Fills the state that does not depend on the session (the daemon's ids
 * and user namespace, the start time, the empty tables, at most
 * max_files_per_user open files per user); shm_data and blocking are the
 * caller's to start.  Returns 0 or -ENOMEM.  ipcfs_state_free() after,
 * whatever it returned. */
int ipcfs_state_init(struct ipcfs *fs, size_t shm_size,
		     unsigned int max_files_per_user);
/* Frees what the state holds: the session's .destroy does, once the
 * waiters are stopped; again (nothing left) for a session that never got
 * INIT, which libfuse destroys without .destroy. */
void ipcfs_state_free(struct ipcfs *fs);

#endif /* IPCFS_IPCFS_H */
