/*
 * passthrough — FUSE kernel passthrough for shm_data: asking for it at
 * FUSE_INIT, registering backing files with /dev/fuse, and answering OPEN
 * with a backing id.  Private to shm_data.c.
 *
 * With libfuse >= 3.17 (FUSE_CAP_PASSTHROUGH defined) this is libfuse's
 * own API.  libfuse 3.14 has none, so a filter on the session's I/O
 * (dev_io.h) notes the kernel's FUSE_INIT request and what it offers and
 * patches libfuse's INIT reply (FUSE_INIT_EXT, flags2 FUSE_PASSTHROUGH,
 * max_stack_depth 1, writeback cache off), and OPEN is answered with a 16-byte fuse_open_out carrying
 * FOPEN_PASSTHROUGH and the backing id.  The kernel (protocol 7.40+) does
 * the rest: the file's read, write and mmap go to the backing file.
 *
 * The filter is one static object: a process serves one session.
 */
#ifndef IPCFS_PASSTHROUGH_H
#define IPCFS_PASSTHROUGH_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct passthrough {
	struct fuse_session *se;
	bool ask;      /* ask the kernel for passthrough at INIT */
	bool required; /* refuse INIT (and end the session) without it */
	/* Set while INIT is answered, read by every open. */
	atomic_bool offered; /* the kernel offered passthrough */
	atomic_bool granted; /* it was asked for and may be used */
	atomic_int error;    /* -errno when required and not granted */
	/* The INIT request seen by the read hook (libfuse 3.14 path). */
	atomic_bool init_pending;
	uint64_t init_unique;
};

/* True if this process has CAP_SYS_ADMIN, which the kernel requires of the
 * daemon for every backing file. */
bool passthrough_capable(void);

/* fuse_session_mount(se, mountpoint), then the session's I/O (dev_io.h),
 * with the INIT filter when pt->ask.
 * Returns 0 or -errno (nothing mounted then). */
int passthrough_mount(struct passthrough *pt, struct fuse_session *se,
		      const char *mountpoint);

/* For the filesystem's init callback: asks for passthrough through
 * libfuse's API where it has one, and keeps the writeback cache off. */
void passthrough_init(struct passthrough *pt, struct fuse_conn_info *conn);

/* Registers fd as a backing file.  Returns its id (> 0) or -errno: -EPERM
 * when the kernel refuses (no CAP_SYS_ADMIN in the initial user namespace,
 * or passthrough not negotiated). */
int passthrough_backing_open(struct passthrough *pt, fuse_req_t req, int fd);

/* Forgets a backing id (open files that use it keep the backing file). */
void passthrough_backing_close(struct passthrough *pt, int backing_id);

/* Answers OPEN with fi->fh, FOPEN_PASSTHROUGH and backing_id, plus
 * FOPEN_DIRECT_IO if fi->direct_io (the kernel then sends read and write
 * to the daemon and passes only mmap through).  Returns what fuse_reply_*
 * returns (-ENOENT if the caller has gone). */
int passthrough_reply_open(fuse_req_t req, const struct fuse_file_info *fi,
			   int backing_id);

#endif /* IPCFS_PASSTHROUGH_H */
