/*
 * shm_data — the file shm/<key>/data: a segment's bytes as a file.
 *
 * read/write/pread/pwrite reach the segment at once, coherent with shmat()
 * users.  mmap MAP_SHARED is the segment itself when kernel passthrough is
 * active (the open is answered with a backing file: the segment's own shmem
 * file); in the fallback (direct_io) MAP_SHARED gives ENODEV and
 * MAP_PRIVATE a private copy.  Truncation and writes past the end follow
 * the spec: the size never changes; truncating to n zero-fills [n, size);
 * growing is EFBIG; a write at or past the end is ENOSPC, one across it a
 * short write of the part that fits.
 *
 * While a segment's data file is open (anywhere, any number of times), the
 * daemon holds one attachment of it: number_attached counts it, and the
 * first open and last release set the attach/detach times and last_pid.
 * Of that attachment it keeps one (huge) page mapped, and serves the file
 * through the segment's own file, so that no caller can make it fault
 * (SIGBUS where a SHM_NORESERVE segment has no page to give: such a write
 * is ENOSPC) or spend its address space.  Each caller uid may hold files
 * of at most 1024 segments open (EMFILE beyond); a daemon that cannot
 * open segments' files (no CAP_SYS_ADMIN) keeps them attached whole, at
 * most 1 TiB of them per caller uid (ENOMEM beyond).
 *
 * The tree (tree.c) owns the inode and may.c the permission checks; they
 * call these for the data node only (files.c: the data role).  The man
 * page (DATA FILES) has the user's view.
 */
#ifndef IPCFS_SHM_DATA_H
#define IPCFS_SHM_DATA_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include "dev_io.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct shm_data;

/* Which way data files are served, from -o data=... on the command line. */
enum shm_data_mode {
	SHM_DATA_AUTO = 0,     /* passthrough when the kernel grants it, else fallback */
	SHM_DATA_PASSTHROUGH,  /* passthrough or fail to mount */
	SHM_DATA_FALLBACK,     /* never passthrough */
};

/*
 * The module's state, for session se (which need not be mounted yet: its
 * descriptor registers backing files, and an INIT that refuses
 * passthrough ends it).  Returns 0 and the state, or -errno: -EPERM (an
 * error logged) for SHM_DATA_PASSTHROUGH without CAP_SYS_ADMIN.
 * SHM_DATA_AUTO without CAP_SYS_ADMIN is the fallback.  shm_data_destroy()
 * after the session's loop.
 */
int shm_data_new(struct fuse_session *se, enum shm_data_mode mode,
		 struct shm_data **out);

/* What the session's I/O must carry for FUSE_INIT to negotiate
 * passthrough: the filter for dev_io_new() (dev_io.h), NULL when none is
 * needed (passthrough.h). */
const struct dev_io_filter *shm_data_io_filter(struct shm_data *sd);

/* For the filesystem's init callback (before it returns): decides
 * whether passthrough is on (passthrough_init()), and keeps the writeback
 * cache off when it may be. */
void shm_data_init(struct shm_data *sd, struct fuse_conn_info *conn);

/* 0, or -errno when the mode could not be honoured: with
 * SHM_DATA_PASSTHROUGH and a kernel that does not offer passthrough, INIT
 * is refused (accesses get ECONNREFUSED), an error is logged and the
 * session loop ends; main should then unmount and exit non-zero. */
int shm_data_error(const struct shm_data *sd);

/* Answers the open of segment shmid's data file (fi as given by libfuse;
 * O_TRUNC in fi->flags zero-fills the segment), for the caller's uid
 * (fuse_req_ctx(req)), whose limits it checks. */
void shm_data_open(struct shm_data *sd, fuse_req_t req, int shmid,
		   struct fuse_file_info *fi);
/* Answers read and write of an open data file (in the fallback, and for
 * opens for writing under passthrough: the kernel reads the segment
 * itself for the others). */
void shm_data_read(struct shm_data *sd, fuse_req_t req, size_t size,
		   off_t off, struct fuse_file_info *fi);
void shm_data_write(struct shm_data *sd, fuse_req_t req, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi);
/* Truncation through setattr(FUSE_SET_ATTR_SIZE): returns 0 or the
 * negated errno for the caller (fs_errno()'s, fs_errno.h) and does not
 * reply (objects.c answers with the node's attributes). */
int shm_data_truncate(struct shm_data *sd, int shmid, off_t size);
/* Answers release of an open data file and frees what open took. */
void shm_data_release(struct shm_data *sd, fuse_req_t req,
		      struct fuse_file_info *fi);

/* Unmount-time cleanup, after the session loop. */
void shm_data_destroy(struct shm_data *sd);

#endif /* IPCFS_SHM_DATA_H */
