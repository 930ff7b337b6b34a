/*
 * passthrough — FUSE kernel passthrough for shm data files (shm_data.h):
 * whether to ask for it, the one place where FUSE_INIT decides it
 * (passthrough_init()), registering backing files with /dev/fuse, and
 * answering OPEN with a backing id.  Private to shm_data.c, whose state
 * holds a struct passthrough.
 *
 * With libfuse >= 3.17 (FUSE_CAP_PASSTHROUGH defined) this is libfuse's
 * own API.  libfuse 3.14 has none: then (IPCFS_COMPAT314, set by
 * fs/meson.build) the same decisions are carried out by compat314.h, which
 * stands apart so that it can be deleted with 3.14.
 *
 * How a data file comes to be the segment under mmap, start to end:
 *   1. main: shm_data_new() (here: passthrough_setup(), whether to ask),
 *      the mount, and the session's I/O (dev_io_new()) with
 *      shm_data_io_filter() (here: passthrough_io_filter(), libfuse 3.14's
 *      view of INIT; NULL otherwise);
 *   2. FUSE_INIT: the filesystem's init callback, shm_data_init() →
 *      passthrough_init(): granted if asked for and offered, else refused
 *      (data=passthrough) or the fallback;
 *   3. each first open of a segment: shm_data.c registers the segment's
 *      shmem file (passthrough_backing_open()), and every open is answered
 *      with its id (passthrough_reply_open()); the kernel maps the file.
 */
#ifndef IPCFS_PASSTHROUGH_H
#define IPCFS_PASSTHROUGH_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev_io.h"
#if IPCFS_COMPAT314
#include "compat314.h"
#endif

struct passthrough {
	struct fuse_session *se;
	bool ask;      /* ask the kernel for passthrough at INIT */
	bool required; /* refuse INIT (and end the session) without it */
	/* Set while INIT is answered, read by every open. */
	atomic_bool granted; /* it was asked for and may be used */
	atomic_int error;    /* -errno when required and not granted */
#if IPCFS_COMPAT314
	struct compat314 compat; /* libfuse 3.14: INIT and OPEN by hand */
#endif
};

/* Sets pt up for session se: to ask for passthrough at INIT if want and
 * this process may have backing files (CAP_SYS_ADMIN); required: no mount
 * without it.  Returns 0, or -EPERM (an error logged) when required and
 * the process lacks CAP_SYS_ADMIN. */
int passthrough_setup(struct passthrough *pt, struct fuse_session *se,
		      bool want, bool required);

/* What the session's I/O must carry for INIT to negotiate passthrough
 * (dev_io_new()): compat314's filter on libfuse 3.14 when pt asks, else
 * NULL. */
const struct dev_io_filter *passthrough_io_filter(struct passthrough *pt);

/* For the filesystem's init callback (before it returns): decides, for
 * every libfuse, whether passthrough is on (granted), and keeps the
 * writeback cache off when it may be.  With required and a kernel that
 * does not offer it: INIT is refused (3.14) and the session ended, an
 * error logged, pt->error set. */
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
