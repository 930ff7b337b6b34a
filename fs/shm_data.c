/*
 * shm_data — see shm_data.h; the choices are in the man page (DATA FILES).
 *
 * Every open data file refers to a struct seg, one per segment with open
 * files: the daemon's attachment (reads and truncation copy from and to
 * it) and, when the daemon may open it (CAP_SYS_ADMIN, no huge pages), the
 * segment's own shmem file.  Writes go into that file with pwrite(), in
 * every mode: a store through the attachment would first fault in each
 * page of the daemon's mapping (every first open attaches anew, so a
 * 256 MiB dd took 65536 minor faults, half the daemon's time); pwrite
 * copies into the same pages through the page cache, mapping nothing.
 * Under passthrough the file is also registered with /dev/fuse as the
 * backing file of every open of the segment (the kernel wants one backing
 * file per FUSE inode at a time).  The last release frees it all.
 *
 * Under passthrough, opens for reading only are pure passthrough (read and
 * mmap go to the segment); any other open is passthrough with direct_io:
 * mmap is the segment, read and write come here.  So no write ever goes
 * past the daemon: a write through a passthrough file at or past its end
 * would grow the shmem file (not shm_segsz), which later shmat()s would
 * map.  The last release checks the file's size all the same and puts it
 * back if it ever grew.
 */
#include "shm_data.h"
#include "passthrough.h"
#include "ipcore.h"
#include "fs_errno.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

struct seg {
	struct seg *next;
	int shmid;
	unsigned int opens;        /* open files using it, under sd->lock */
	struct ipcore_mapping map; /* the daemon's attachment */
	int file_fd;               /* the segment's shmem file, or -1 */
	int backing_id;            /* its id in /dev/fuse, or 0 */
};

struct shm_data {
	enum shm_data_mode mode;
	struct passthrough pt;
	bool file_writes; /* writes may use pwrite() (no RLIMIT_FSIZE) */
	pthread_mutex_t lock;
	struct seg *segs; /* segments with open files */
};

int shm_data_new(enum shm_data_mode mode, struct shm_data **out)
{
	struct shm_data *sd = calloc(1, sizeof(*sd));
	struct rlimit rl;

	if (sd == NULL)
		return -ENOMEM;
	sd->mode = mode;
	pthread_mutex_init(&sd->lock, NULL);
	if (mode != SHM_DATA_FALLBACK) {
		sd->pt.ask = passthrough_capable();
		sd->pt.required = mode == SHM_DATA_PASSTHROUGH;
		if (sd->pt.required && !sd->pt.ask) {
			fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough needs "
				 "CAP_SYS_ADMIN\n");
			pthread_mutex_destroy(&sd->lock);
			free(sd);
			return -EPERM;
		}
	}
	/* Each segment with open files holds one descriptor (its shmem
	 * file): allow as many as the hard limit does. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* pwrite() past a file size limit would be EFBIG and SIGXFSZ (which
	 * kills); a daemon run with one stores through its attachment. */
	sd->file_writes = getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
			  rl.rlim_cur == RLIM_INFINITY;
	*out = sd;
	return 0;
}

int shm_data_mount(struct fuse_session *se, const char *mountpoint,
		   enum shm_data_mode mode, struct shm_data **out)
{
	struct shm_data *sd;
	int rc = shm_data_new(mode, &sd);

	if (rc != 0)
		return rc;
	rc = passthrough_mount(&sd->pt, se, mountpoint);
	if (rc != 0) {
		shm_data_destroy(sd);
		return rc;
	}
	*out = sd;
	return 0;
}

void shm_data_init(struct shm_data *sd, struct fuse_conn_info *conn)
{
	passthrough_init(&sd->pt, conn);
}

bool shm_data_passthrough_active(const struct shm_data *sd)
{
	return atomic_load(&sd->pt.granted);
}

int shm_data_error(const struct shm_data *sd)
{
	return atomic_load(&sd->pt.error);
}

/* ------------------------------------------------------------ segments */

/* Opens the segment's shmem file through the daemon's attachment into
 * seg->file_fd.  Returns 0 or -errno: -EOPNOTSUPP for a huge-page segment
 * (see below), -EPERM for a daemon that may not open /proc/self/map_files
 * (no CAP_SYS_ADMIN). */
static int seg_file(struct seg *seg)
{
	uintptr_t start = (uintptr_t)seg->map.addr;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t end = start + ((seg->map.size + page - 1) & ~(page - 1));
	char path[64];
	struct statfs sfs;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)start, (unsigned long)end);
	/* Huge-page segments are served the fallback way: mappings of them
	 * must be huge-page aligned, which a FUSE file's are not.  (Their
	 * entry ends at a huge-page boundary: ENOENT unless the size is a
	 * multiple of the huge page size.)  Nor has hugetlbfs write(); they
	 * are written through the attachment. */
	fd = open(path, (seg->map.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC) {
		close(fd);
		return -EOPNOTSUPP;
	}
	seg->file_fd = fd;
	return 0;
}

/* Registers the segment's shmem file as the backing file.  Returns 0
 * (seg->backing_id set), or -errno. */
static int seg_backing(struct shm_data *sd, fuse_req_t req, struct seg *seg)
{
	int id;

	if (seg->file_fd < 0)
		return -EOPNOTSUPP;
	id = passthrough_backing_open(&sd->pt, req, seg->file_fd);
	if (id < 0)
		return id;
	seg->backing_id = id;
	return 0;
}

/* Finds or makes the seg of shmid and counts one more open of it.  Under
 * sd->lock. */
static int seg_get(struct shm_data *sd, fuse_req_t req, int shmid,
		   struct seg **out)
{
	struct seg *seg;
	int rc;

	for (seg = sd->segs; seg != NULL; seg = seg->next) {
		if (seg->shmid == shmid) {
			seg->opens++;
			*out = seg;
			return 0;
		}
	}
	seg = calloc(1, sizeof(*seg));
	if (seg == NULL)
		return -ENOMEM;
	seg->shmid = shmid;
	seg->file_fd = -1;
	rc = ipcore_shm_attach(shmid, NULL, 0, &seg->map);
	if (rc == -EACCES) /* a daemon without root: maybe read-only */
		rc = ipcore_shm_attach(shmid, NULL, SHM_RDONLY, &seg->map);
	if (rc != 0) {
		free(seg);
		return rc;
	}
	/* Without it (fallback, no CAP_SYS_ADMIN) writes use the attachment. */
	rc = seg_file(seg);
	if (atomic_load(&sd->pt.granted)) {
		if (rc == 0)
			rc = seg_backing(sd, req, seg);
		if (rc != 0 && rc != -EOPNOTSUPP &&
		    sd->mode == SHM_DATA_PASSTHROUGH) {
			fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough: no "
				 "backing file for segment %d: %s\n", shmid,
				 strerror(-rc));
			if (seg->file_fd >= 0)
				close(seg->file_fd);
			ipcore_shm_detach(&seg->map);
			free(seg);
			return -EIO;
		}
		if (rc == -EPERM) {
			/* The kernel refuses backing files to this daemon
			 * (CAP_SYS_ADMIN outside the initial user namespace):
			 * no segment gets one, so opens never mix. */
			fuse_log(FUSE_LOG_INFO, "ipcfs: the kernel refuses "
				 "passthrough; data files use direct_io\n");
			atomic_store(&sd->pt.granted, false);
		} else if (rc != 0 && rc != -EOPNOTSUPP) {
			fuse_log(FUSE_LOG_INFO, "ipcfs: segment %d: no "
				 "passthrough (%s); direct_io\n", shmid,
				 strerror(-rc));
		}
	}
	seg->opens = 1;
	seg->next = sd->segs;
	sd->segs = seg;
	*out = seg;
	return 0;
}

/* Frees a seg no open file uses any more; connected is false once the
 * session has ended (its backing ids went with it). */
static void seg_free(struct shm_data *sd, struct seg *seg, bool connected)
{
	if (seg->file_fd >= 0) {
		struct stat st;

		/* Cannot happen: the daemon's writes end at the segment's
		 * end, and passthrough ones take the direct_io way; if a
		 * kernel ever let one through and grow the file, shrink it
		 * back to the segment's size. */
		if (!seg->map.read_only && fstat(seg->file_fd, &st) == 0 &&
		    (size_t)st.st_size != seg->map.size) {
			fuse_log(FUSE_LOG_WARNING, "ipcfs: segment %d's file "
				 "grew to %lld bytes; restoring %zu\n",
				 seg->shmid, (long long)st.st_size,
				 seg->map.size);
			if (ftruncate(seg->file_fd, (off_t)seg->map.size))
				fuse_log(FUSE_LOG_ERR, "ipcfs: ftruncate: %s\n",
					 strerror(errno));
		}
	}
	if (seg->backing_id > 0 && connected)
		passthrough_backing_close(&sd->pt, seg->backing_id);
	if (seg->file_fd >= 0)
		close(seg->file_fd);
	ipcore_shm_detach(&seg->map);
	free(seg);
}

/* Counts one open less; the last frees the seg. */
static void seg_put(struct shm_data *sd, struct seg *seg)
{
	struct seg **p;
	bool last;

	pthread_mutex_lock(&sd->lock);
	last = --seg->opens == 0;
	if (last) {
		for (p = &sd->segs; *p != seg; p = &(*p)->next)
			;
		*p = seg->next;
	}
	pthread_mutex_unlock(&sd->lock);
	if (last)
		seg_free(sd, seg, true);
}

static struct seg *seg_of(const struct fuse_file_info *fi)
{
	return (struct seg *)(uintptr_t)fi->fh;
}

/* --------------------------------------------------------- operations */

void shm_data_open(struct shm_data *sd, fuse_req_t req, int shmid,
		   struct fuse_file_info *fi)
{
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct seg *seg;
	int rc;

	pthread_mutex_lock(&sd->lock);
	rc = seg_get(sd, req, shmid, &seg);
	pthread_mutex_unlock(&sd->lock);
	if (rc != 0) {
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_ATTACH));
		return;
	}
	if ((writing || (fi->flags & O_TRUNC)) && seg->map.read_only) {
		seg_put(sd, seg);
		fuse_reply_err(req, EACCES);
		return;
	}
	if (fi->flags & O_TRUNC)
		memset(seg->map.addr, 0, seg->map.size);

	fi->fh = (uintptr_t)seg;
	fi->keep_cache = 0;
	if (seg->backing_id > 0) {
		fi->direct_io = writing;
		rc = passthrough_reply_open(req, fi, seg->backing_id);
	} else {
		fi->direct_io = 1;
		rc = fuse_reply_open(req, fi);
	}
	if (rc != 0) /* the caller has gone: no release will come */
		seg_put(sd, seg);
}

void shm_data_read(struct shm_data *sd, fuse_req_t req, size_t size,
		   off_t off, struct fuse_file_info *fi)
{
	const struct seg *seg = seg_of(fi);
	size_t n;

	(void)sd;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= seg->map.size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	n = seg->map.size - (size_t)off;
	if (n > size)
		n = size;
	fuse_reply_buf(req, (const char *)seg->map.addr + off, n);
}

void shm_data_write(struct shm_data *sd, fuse_req_t req, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct seg *seg = seg_of(fi);
	size_t n;
	int rc;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size == 0) {
		fuse_reply_write(req, 0);
		return;
	}
	/* Past the end: ENOSPC; across it: the part that fits (a short write
	 * the caller sees, whose retry then gets ENOSPC). */
	if ((uint64_t)off >= seg->map.size) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	n = seg->map.size - (size_t)off;
	if (n > size)
		n = size;
	/* Into the shmem file (see the top): n bytes at off end at the
	 * segment's end at most, so the file never grows. */
	if (seg->file_fd >= 0 && !seg->map.read_only && sd->file_writes) {
		ssize_t w = pwrite(seg->file_fd, buf, n, off);

		if (w < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_write(req, (size_t)w);
		return;
	}
	rc = ipcore_shm_write(&seg->map, (size_t)off, buf, n);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, n);
}

int shm_data_truncate(struct shm_data *sd, int shmid, off_t size)
{
	struct ipcore_mapping tmp = { 0 };
	const struct ipcore_mapping *map;
	struct seg *seg;
	int rc = 0;

	if (size < 0)
		return -EINVAL;
	/* An open file's attachment serves (held by one more open while it
	 * is used); else a short-lived one. */
	pthread_mutex_lock(&sd->lock);
	for (seg = sd->segs; seg != NULL; seg = seg->next)
		if (seg->shmid == shmid)
			break;
	if (seg != NULL)
		seg->opens++;
	pthread_mutex_unlock(&sd->lock);
	if (seg != NULL) {
		map = &seg->map;
	} else {
		rc = ipcore_shm_attach(shmid, NULL, 0, &tmp);
		map = &tmp;
	}
	if (rc == 0) {
		if ((uint64_t)size > map->size)
			rc = -EFBIG;
		else if ((uint64_t)size == map->size)
			rc = 0;
		else if (map->read_only)
			rc = -EACCES;
		else
			memset(map->addr + size, 0, map->size - (size_t)size);
	}
	if (seg != NULL)
		seg_put(sd, seg);
	else if (tmp.addr != NULL)
		ipcore_shm_detach(&tmp);
	if (rc == -EINVAL || rc == -EIDRM)
		rc = -ENOENT;
	return rc;
}

void shm_data_release(struct shm_data *sd, fuse_req_t req,
		      struct fuse_file_info *fi)
{
	seg_put(sd, seg_of(fi));
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
		seg_free(sd, seg, false);
	}
	pthread_mutex_destroy(&sd->lock);
	free(sd);
}
