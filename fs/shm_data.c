/*
 * shm_data — see shm_data.h; the choices are in the man page (DATA FILES,
 * LIMITS), the inside of a seg in shm_seg.h.
 *
 * This file keeps the table of segments with open files (one struct seg
 * each, made on the first open and freed after the last release), gives
 * them backing files under passthrough, and answers the file operations.
 *
 * Under passthrough, the shmem file is also registered with /dev/fuse as
 * the backing file of every open of the segment (the kernel wants one
 * backing file per FUSE inode at a time).  Opens for reading only are
 * pure passthrough (read and mmap go to the segment); any other open is
 * passthrough with direct_io: mmap is the segment, read and write come
 * here.  So no write ever goes past the daemon: a write through a
 * passthrough file at or past its end would grow the shmem file (not
 * shm_segsz), which later shmat()s would map.  The last release checks the
 * file's size all the same and puts it back if it ever grew (seg_free()).
 */
#include "shm_data.h"
#include "shm_seg.h"
#include "passthrough.h"
#include "ipcore.h"
#include "fs_errno.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct shm_data {
	enum shm_data_mode mode;
	struct passthrough pt;
	bool file_writes; /* writes may use pwrite() (no RLIMIT_FSIZE) */
	pthread_mutex_t lock;
	struct seg *segs;        /* segments with open files */
	struct shm_users users;  /* callers holding any */
};

/* No file size limit: pwrite() into a segment's file can never be EFBIG
 * (and SIGXFSZ, which kills).  Raises the soft limit to the hard one
 * (root: to infinity) first: the daemon makes no files of its own. */
static bool no_file_size_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
		return false;
	if (rl.rlim_cur != RLIM_INFINITY) {
		struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };

		if (setrlimit(RLIMIT_FSIZE, &inf) != 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
			return false;
	}
	return rl.rlim_cur == RLIM_INFINITY;
}

int shm_data_new(struct fuse_session *se, enum shm_data_mode mode,
		 struct shm_data **out)
{
	struct shm_data *sd = calloc(1, sizeof(*sd));
	struct rlimit rl;
	int rc;

	if (sd == NULL)
		return -ENOMEM;
	sd->mode = mode;
	rc = passthrough_setup(&sd->pt, se, mode != SHM_DATA_FALLBACK,
			       mode == SHM_DATA_PASSTHROUGH);
	if (rc != 0) {
		free(sd);
		return rc;
	}
	pthread_mutex_init(&sd->lock, NULL);
	/* Each segment with open files holds one descriptor (its file): allow
	 * as many as the hard limit does (SEGS_PER_USER, shm_users.c, bounds
	 * each caller). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* A daemon left with a file size limit writes through windows. */
	sd->file_writes = no_file_size_limit();
	*out = sd;
	return 0;
}

const struct dev_io_filter *shm_data_io_filter(struct shm_data *sd)
{
	return passthrough_io_filter(&sd->pt);
}

void shm_data_init(struct shm_data *sd, struct fuse_conn_info *conn)
{
	passthrough_init(&sd->pt, conn);
}

int shm_data_error(const struct shm_data *sd)
{
	return atomic_load(&sd->pt.error);
}

/* ------------------------------------------------------------ the table */

/* Registers the segment's shmem file as the backing file.  Returns 0
 * (seg->backing_id set), or -errno. */
static int seg_backing(struct shm_data *sd, fuse_req_t req, struct seg *seg)
{
	int id;

	/* Huge-page segments are served the fallback way: mappings of them
	 * must be huge-page aligned, which a FUSE file's are not. */
	if (seg->fd < 0 || seg->huge)
		return -EOPNOTSUPP;
	id = passthrough_backing_open(&sd->pt, req, seg->fd);
	if (id < 0)
		return id;
	seg->backing_id = id;
	return 0;
}

/* Frees a seg no open file uses any more; connected is false once the
 * session has ended (its backing ids went with it). */
static void seg_release(struct shm_data *sd, struct seg *seg, bool connected)
{
	if (seg->backing_id > 0 && connected)
		passthrough_backing_close(&sd->pt, seg->backing_id);
	seg_free(seg);
}

/* Sets up passthrough for a new seg; refuses it under data=passthrough
 * when there is no backing file.  Under sd->lock. */
static int seg_passthrough(struct shm_data *sd, fuse_req_t req,
			   struct seg *seg)
{
	int rc;

	if (!atomic_load(&sd->pt.granted))
		return 0;
	rc = seg_backing(sd, req, seg);
	if (rc != 0 && rc != -EOPNOTSUPP && sd->mode == SHM_DATA_PASSTHROUGH) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough: no backing "
			 "file for segment %d: %s\n", seg->shmid,
			 strerror(-rc));
		return -EIO;
	}
	if (rc == -EPERM) {
		/* The kernel refuses backing files to this daemon
		 * (CAP_SYS_ADMIN outside the initial user namespace): no
		 * segment gets one, so opens never mix. */
		fuse_log(FUSE_LOG_INFO, "ipcfs: the kernel refuses passthrough; "
			 "data files use direct_io\n");
		atomic_store(&sd->pt.granted, false);
	} else if (rc != 0 && rc != -EOPNOTSUPP) {
		fuse_log(FUSE_LOG_INFO, "ipcfs: segment %d: no passthrough "
			 "(%s); direct_io\n", seg->shmid, strerror(-rc));
	}
	return 0;
}

/* Finds or makes the listed seg of shmid and counts one more open of it
 * by uid.  Under sd->lock. */
static int seg_get(struct shm_data *sd, fuse_req_t req, int shmid, uid_t uid,
		   struct seg_user **out)
{
	struct seg *seg;
	int rc;

	for (seg = sd->segs; seg != NULL; seg = seg->next)
		if (seg->shmid == shmid)
			break;
	if (seg != NULL) {
		rc = seg_user_add(&sd->users, seg, uid, out);
		if (rc == 0)
			seg->opens++;
		return rc;
	}
	/* Refuse a caller at its limit before attaching anything. */
	rc = shm_users_may_take(&sd->users, uid, 0);
	if (rc == 0)
		rc = seg_make(shmid, sd->file_writes, &seg);
	if (rc != 0)
		return rc;
	rc = seg_user_add(&sd->users, seg, uid, out);
	if (rc == 0)
		rc = seg_passthrough(sd, req, seg);
	if (rc != 0) {
		if (seg->users != NULL)
			seg_user_drop(&sd->users, *out);
		seg_release(sd, seg, true);
		return rc;
	}
	seg->listed = true;
	seg->next = sd->segs;
	sd->segs = seg;
	return 0;
}

/* Counts one open (or call) of seg less, and the open file of u if not
 * NULL; the last frees the seg.  Takes sd->lock. */
static void seg_put(struct shm_data *sd, struct seg *seg, struct seg_user *u)
{
	struct seg **p;
	bool last;

	pthread_mutex_lock(&sd->lock);
	if (u != NULL)
		seg_user_drop(&sd->users, u);
	last = --seg->opens == 0;
	if (last && seg->listed) {
		for (p = &sd->segs; *p != seg; p = &(*p)->next)
			;
		*p = seg->next;
	}
	pthread_mutex_unlock(&sd->lock);
	if (last)
		seg_release(sd, seg, true);
}

static struct seg_user *seg_user_of(const struct fuse_file_info *fi)
{
	return (struct seg_user *)(uintptr_t)fi->fh;
}

/* --------------------------------------------------------- operations */

/* Errors from the core and from the segment's file go to the caller
 * through fs_errno() (fs_errno.h): IPCORE_OP_ATTACH for what makes a
 * seg (shmat, the file's open, the limits: EMFILE is reported as is),
 * IPCORE_OP_ACCESS for what reads or writes it (ENOSPC and ENOMEM stay
 * what they are, kind MEMORY; a store with no page to be had, -EFAULT
 * from shm_guard.c, is ENOSPC).  The few literal errnos below are the
 * file's own rules (EINVAL, ENOSPC past the end, EFBIG), not kernel
 * results. */

void shm_data_open(struct shm_data *sd, fuse_req_t req, int shmid,
		   struct fuse_file_info *fi)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct seg_user *u = NULL;
	struct seg *seg;
	int rc;

	pthread_mutex_lock(&sd->lock);
	rc = seg_get(sd, req, shmid, fuse_req_ctx(req)->uid, &u);
	pthread_mutex_unlock(&sd->lock);
	if (rc != 0) {
		fuse_reply_err(req, fs_errno(rc, IPCORE_OP_ATTACH));
		return;
	}
	seg = u->seg;
	if ((writing || (fi->flags & O_TRUNC)) && seg->read_only)
		rc = -EACCES;
	else if (fi->flags & O_TRUNC)
		rc = seg_zero(seg, 0, seg->size);
	if (rc != 0) {
		seg_put(sd, seg, u);
		fuse_reply_err(req, fs_errno(rc, IPCORE_OP_ACCESS));
		return;
	}

	fi->fh = (uintptr_t)u;
	fi->keep_cache = 0;
	if (seg->backing_id > 0) {
		fi->direct_io = writing;
		rc = passthrough_reply_open(req, fi, seg->backing_id);
	} else {
		fi->direct_io = 1;
		rc = fuse_reply_open(req, fi);
	}
	if (rc != 0) /* the caller has gone: no release will come */
		seg_put(sd, seg, u);
}

void shm_data_read(struct shm_data *sd, fuse_req_t req, size_t size,
		   off_t off, struct fuse_file_info *fi)
{
	const struct seg *seg = seg_user_of(fi)->seg;
	unsigned char *buf;
	size_t n;
	int rc;

	(void)sd;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= seg->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	n = seg->size - (size_t)off;
	if (n > size)
		n = size;
	buf = malloc(n);
	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = seg_load(seg, off, buf, n);
	if (rc != 0)
		fuse_reply_err(req, fs_errno(rc, IPCORE_OP_ACCESS));
	else
		fuse_reply_buf(req, (const char *)buf, n);
	free(buf);
}

void shm_data_write(struct shm_data *sd, fuse_req_t req, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct seg *seg = seg_user_of(fi)->seg;
	ssize_t w;
	size_t n;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size == 0) {
		fuse_reply_write(req, 0);
		return;
	}
	/* Past the end: ENOSPC; across it: the part that fits (a short write
	 * the caller sees, whose retry then gets ENOSPC).  n bytes at off end
	 * at the segment's end at most, so its file never grows. */
	if ((uint64_t)off >= seg->size) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	n = seg->size - (size_t)off;
	if (n > size)
		n = size;
	w = seg_store(seg, off, buf, n);
	if (w < 0)
		fuse_reply_err(req, fs_errno((int)w, IPCORE_OP_ACCESS));
	else
		fuse_reply_write(req, (size_t)w);
}

int shm_data_truncate(struct shm_data *sd, int shmid, off_t size)
{
	struct seg *seg;
	int rc = 0;

	if (size < 0)
		return -EINVAL;
	/* An open file's seg serves (held by one more count while it is
	 * used); else a transient one, made the same way. */
	pthread_mutex_lock(&sd->lock);
	for (seg = sd->segs; seg != NULL; seg = seg->next)
		if (seg->shmid == shmid)
			break;
	if (seg != NULL)
		seg->opens++;
	else
		rc = seg_make(shmid, sd->file_writes, &seg);
	pthread_mutex_unlock(&sd->lock);
	if (rc != 0)
		return -fs_errno(rc, IPCORE_OP_ATTACH);
	if ((uint64_t)size > seg->size)
		rc = -EFBIG;
	else if ((uint64_t)size < seg->size)
		rc = seg_zero(seg, size, seg->size - (size_t)size);
	seg_put(sd, seg, NULL);
	return -fs_errno(rc, IPCORE_OP_ACCESS);
}

void shm_data_release(struct shm_data *sd, fuse_req_t req,
		      struct fuse_file_info *fi)
{
	struct seg_user *u = seg_user_of(fi);

	seg_put(sd, u->seg, u);
	fuse_reply_err(req, 0);
}

void shm_data_destroy(struct shm_data *sd)
{
	struct seg *seg;

	if (sd == NULL)
		return;
	/* Files still open when the session ended get no release. */
	while ((seg = sd->segs) != NULL) {
		sd->segs = seg->next;
		seg_release(sd, seg, false);
	}
	shm_users_clear(&sd->users);
	pthread_mutex_destroy(&sd->lock);
	free(sd);
}

