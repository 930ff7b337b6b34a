/*
 * shm_data — see shm_data.h; the choices are in the man page (DATA FILES,
 * LIMITS).
 *
 * Every open data file refers to a struct seg, one per segment with open
 * files.  A seg holds the segment's own file (its shmem file, or its
 * hugetlbfs file for SHM_HUGETLB), opened through /proc/self/map_files of
 * the daemon's attachment, and of that attachment only one (huge) page
 * (seg_trim()): what keeps the segment, as any attachment does (it counts
 * in number_attached, IPC_RMID does not destroy it and its id is not
 * reused while files are open), at the cost of one page of address space.
 * So open files cost the daemon one descriptor and one page per segment,
 * however big the segments.
 *
 * No load or store through a mapping may ever kill the daemon: a segment
 * made with SHM_NORESERVE may have no page to give (SIGBUS on a store
 * into a hugetlb segment with no free huge page; the OOM path for shmem).
 * So the daemon never touches a page it has not made sure of:
 *   - reads are pread() of the file: a hole reads as zeros (shmem's zero
 *     page, hugetlbfs's zero-fill) and nothing is allocated;
 *   - writes are pwrite() into the shmem file, which fails with ENOSPC or
 *     ENOMEM where a store would fault.  hugetlbfs has no write(), and a
 *     daemon with a file size limit may not pwrite() (EFBIG, SIGXFSZ):
 *     those write through a transient window (an mmap of the file at
 *     page, or huge page, granularity) after MADV_POPULATE_WRITE has
 *     faulted the pages in, which reports the fault as an error;
 *   - zero-fill (O_TRUNC, truncate) punches a hole into a shmem file
 *     (what reads as zeros needs no page); for hugetlbfs, where a hole
 *     would also drop the segment's reservation, it zeroes the huge pages
 *     that exist through windows, and leaves the holes: a userfaultfd in
 *     SIGBUS mode makes MADV_POPULATE_READ tell a hole (-EFAULT) from a
 *     page without allocating one (huge_zero()).
 * A daemon that may not open map_files (no CAP_SYS_ADMIN) keeps the
 * attachment instead (the fallback "attached" seg) and goes through it
 * with the same MADV_POPULATE guard.  Such attachments cost address space,
 * so their bytes are capped per caller; so is, for every seg, the number
 * of segments one caller holds open (descriptors).
 *
 * Under passthrough, the shmem file is also registered with /dev/fuse as
 * the backing file of every open of the segment (the kernel wants one
 * backing file per FUSE inode at a time).  Opens for reading only are
 * pure passthrough (read and mmap go to the segment); any other open is
 * passthrough with direct_io: mmap is the segment, read and write come
 * here.  So no write ever goes past the daemon: a write through a
 * passthrough file at or past its end would grow the shmem file (not
 * shm_segsz), which later shmat()s would map.  The last release checks the
 * file's size all the same and puts it back if it ever grew.
 */
#include "shm_data.h"
#include "passthrough.h"
#include "ipcore.h"
#include "fs_errno.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ /* Linux 5.14; older headers */
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef EHWPOISON
#define EHWPOISON 133
#endif

/* Limits per caller uid (the man page, LIMITS).  Root is held to them as
 * well: a root caller gains nothing by exhausting the daemon either. */
#define SEGS_PER_USER 1024u /* segments with open data files (descriptors) */
#define ATTACHED_BYTES_PER_USER ((uint64_t)1 << 40) /* fallback: 1 TiB */

/* Zero-fill by reading works in steps of this much: a bounded buffer, and
 * (as it divides every huge page size) steps that never cross a huge
 * page. */
#define STEP ((size_t)1 << 20)

/* Which callers hold a seg open, and how many files each.  Also the
 * fi->fh of their open files: the uid to uncharge at release. */
struct seg_user {
	struct seg_user *next;
	struct seg *seg;
	uid_t uid;
	unsigned int opens;
};

struct seg {
	struct seg *next;
	int shmid;
	unsigned int opens;   /* open files and calls using it, under sd->lock */
	bool listed;          /* in sd->segs (else a truncate's own, transient) */
	size_t size;          /* shm_segsz */
	bool read_only;       /* the daemon may only read the segment */
	int fd;               /* the segment's file, or -1 (attached) */
	bool huge;            /* fd is on hugetlbfs: no write(), huge mappings */
	size_t unit;          /* fd's mapping granularity: (huge) page size */
	struct ipcore_mapping map; /* the daemon's attachment: all of it when
				    * fd < 0, else its first unit (seg_trim) */
	int backing_id;       /* fd's id in /dev/fuse, or 0 */
	struct seg_user *users; /* under sd->lock */
};

/* What one caller uid holds, against the limits above. */
struct user_acct {
	struct user_acct *next;
	uid_t uid;
	unsigned int segs;  /* segs with open files of this uid */
	uint64_t attached;  /* bytes of those that are attached (fallback) */
};

struct shm_data {
	enum shm_data_mode mode;
	struct passthrough pt;
	bool file_writes; /* writes may use pwrite() (no RLIMIT_FSIZE) */
	pthread_mutex_t lock;
	struct seg *segs;        /* segments with open files */
	struct user_acct *users; /* callers holding any */
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t round_up(size_t n, size_t unit)
{
	return (n + unit - 1) / unit * unit;
}

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
	/* Each segment with open files holds one descriptor (its file): allow
	 * as many as the hard limit does (SEGS_PER_USER bounds each caller). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* A daemon left with a file size limit writes through windows. */
	sd->file_writes = no_file_size_limit();
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

/* ------------------------------------------------------- guarded access */

/*
 * Faults in [p, p + len) of a mapping for writing (or reading), so that a
 * store (load) there cannot fault afterwards.  Returns 0 or -errno; where
 * a store would have been SIGBUS (no page can be had: no free huge page,
 * a NORESERVE segment beyond memory) that is -EFAULT.
 */
static int populate(void *p, size_t len, bool write)
{
	uintptr_t page = page_size();
	uintptr_t start = (uintptr_t)p & ~(page - 1);
	uintptr_t end = round_up((uintptr_t)p + len, page);

	if (len == 0)
		return 0;
	if (madvise((void *)start, end - start,
		    write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
		return 0;
	return -errno;
}

/* The errno a writer expects for a failed populate(): no page to be had
 * is "no space" (what write(2) to a full tmpfs says). */
static int store_errno(int rc)
{
	if (rc == -EFAULT)
		return -ENOSPC;
	if (rc == -EHWPOISON)
		return -EIO;
	return rc;
}

/* Stores len bytes of src (zeros if NULL) at p after populate(). */
static int guarded_store(unsigned char *p, const void *src, size_t len)
{
	int rc = populate(p, len, true);

	if (rc != 0)
		return store_errno(rc);
	if (src != NULL)
		memcpy(p, src, len);
	else
		memset(p, 0, len);
	return 0;
}

/*
 * Stores len bytes of src (zeros if NULL) at off in seg's file through a
 * transient shared mapping of the (huge-)page-aligned window around them.
 * For hugetlbfs (no write()) and daemons with a file size limit.
 * MAP_NORESERVE: a window takes no huge page reservation of its own (the
 * segment's own, if any, still serves its faults).
 */
static int window_store(const struct seg *seg, off_t off, const void *src,
			size_t len)
{
	size_t start = (size_t)off / seg->unit * seg->unit;
	size_t wlen = round_up((size_t)off + len, seg->unit) - start;
	unsigned char *w;
	int rc;

	w = mmap(NULL, wlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 seg->fd, (off_t)start);
	if (w == MAP_FAILED)
		return -errno;
	rc = guarded_store(w + ((size_t)off - start), src, len);
	munmap(w, wlen);
	return rc;
}

/* Stores len bytes of src (zeros if NULL) at off, by whatever way seg
 * allows.  The range lies inside the segment.  Returns the bytes stored
 * (pwrite() may store fewer) or -errno. */
static ssize_t seg_store(const struct shm_data *sd, const struct seg *seg,
			 off_t off, const void *src, size_t len)
{
	ssize_t w;
	int rc;

	if (seg->read_only)
		return -EACCES;
	if (seg->fd < 0)
		rc = guarded_store(seg->map.addr + off, src, len);
	else if (seg->huge || !sd->file_writes || src == NULL)
		rc = window_store(seg, off, src, len);
	else {
		do
			w = pwrite(seg->fd, src, len, off);
		while (w < 0 && errno == EINTR);
		return w < 0 ? -errno : w;
	}
	return rc != 0 ? rc : (ssize_t)len;
}

/* Reads len bytes at off into buf from seg's file: pread(), which reads a
 * hole as zeros without allocating. */
static int file_load(const struct seg *seg, off_t off, unsigned char *buf,
		     size_t len)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = pread(seg->fd, buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) /* cannot happen: the file is as long as the seg */
			return -EIO;
		done += (size_t)r;
	}
	return 0;
}

/* Reads len bytes at p of the attachment into buf after populate().  If
 * that fails with -EFAULT (a page there neither exists nor can be had:
 * a hole), page by page: zeros for those. */
static int attached_load(const unsigned char *p, unsigned char *buf,
			 size_t len)
{
	size_t done = 0, page = page_size();
	int rc = populate((void *)p, len, false);

	if (rc == 0) {
		memcpy(buf, p, len);
		return 0;
	}
	if (rc != -EFAULT)
		return rc == -EHWPOISON ? -EIO : rc;
	while (done < len) {
		size_t n = page - ((uintptr_t)p + done) % page;

		if (n > len - done)
			n = len - done;
		rc = populate((void *)(p + done), n, false);
		if (rc == 0)
			memcpy(buf + done, p + done, n);
		else if (rc == -EFAULT)
			memset(buf + done, 0, n);
		else
			return rc == -EHWPOISON ? -EIO : rc;
		done += n;
	}
	return 0;
}

/* Reads len bytes at off into buf, by whatever way seg allows. */
static int seg_load(const struct seg *seg, off_t off, void *buf, size_t len)
{
	if (seg->fd >= 0)
		return file_load(seg, off, buf, len);
	return attached_load(seg->map.addr + off, buf, len);
}

static bool all_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Whether [off, off + len) of seg's file reads as zeros (len <= STEP;
 * buf holds STEP bytes). */
static int chunk_is_zero(const struct seg *seg, off_t off, size_t len,
			 unsigned char *buf, bool *zero)
{
	int rc = seg_load(seg, off, buf, len);

	*zero = rc == 0 && all_zero(buf, len);
	return rc;
}

/* Zeroes [p, p + len) of the attachment where there is a page; a part
 * that has none and can have none (populate() says -EFAULT) is a hole,
 * zeros already: it is left alone, page by page. */
static int attached_zero(unsigned char *p, size_t len)
{
	size_t page = page_size(), done = 0;
	int rc = guarded_store(p, NULL, len);

	if (rc != -ENOSPC)
		return rc;
	while (done < len) {
		size_t n = page - ((uintptr_t)p + done) % page;

		if (n > len - done)
			n = len - done;
		rc = guarded_store(p + done, NULL, n);
		if (rc != 0 && rc != -ENOSPC)
			return rc;
		done += n;
	}
	return 0;
}

/* Zero-fills [off, off + len) of a hugetlbfs seg by reading it in steps
 * (holes read as zeros, unallocated) and storing zeros only into steps
 * that are not all zero.  Costs a read of the whole range. */
static int huge_zero_by_reading(const struct shm_data *sd,
				const struct seg *seg, off_t off, size_t len)
{
	unsigned char *buf = malloc(STEP);
	size_t done = 0;
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (rc == 0 && done < len) {
		size_t at = (size_t)off + done;
		size_t n = STEP - at % STEP; /* steps stay inside huge pages */
		bool zero;

		if (n > len - done)
			n = len - done;
		rc = chunk_is_zero(seg, (off_t)at, n, buf, &zero);
		if (rc == 0 && !zero) {
			ssize_t w = seg_store(sd, seg, (off_t)at, NULL, n);

			rc = w < 0 ? (int)w : 0;
		}
		done += n;
	}
	free(buf);
	return rc;
}

/* A userfaultfd for missing pages that answers with SIGBUS: a range
 * registered with it faults a hole as -EFAULT (to populate()) instead of
 * allocating a page for it.  Returns it, or -errno (no userfaultfd). */
static int hole_detector(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_SIGBUS,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Zeroes the part of [off, off + len) in each present huge page of the
 * window w (file offset start, wlen bytes), skipping holes.  w is
 * registered with a hole_detector(). */
static int window_zero_present(const struct seg *seg, unsigned char *w,
			       size_t start, size_t wlen, off_t off,
			       size_t len)
{
	size_t lo = (size_t)off, hi = (size_t)off + len, at;
	bool all = populate(w, wlen, false) == 0; /* the common case */
	int rc;

	for (at = start; at < start + wlen; at += seg->unit) {
		size_t a = at > lo ? at : lo;
		size_t b = at + seg->unit < hi ? at + seg->unit : hi;

		if (!all) {
			rc = populate(w + (at - start), seg->unit, false);
			if (rc == -EFAULT)
				continue; /* a hole: zeros already */
			if (rc != 0)
				return rc == -EHWPOISON ? -EIO : rc;
		}
		rc = guarded_store(w + (a - start), NULL, b - a);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Maps at most this much of a hugetlbfs file at a time (or one huge page
 * if larger). */
#define HUGE_WINDOW ((size_t)64 << 20)

/*
 * Zero-fills [off, off + len) of a hugetlbfs seg, one system call per
 * huge page and nothing allocated: windows registered with a
 * hole_detector() tell holes (zeros already, left alone) from present
 * pages (zeroed).  Without userfaultfd, huge_zero_by_reading().
 */
static int huge_zero(const struct shm_data *sd, const struct seg *seg,
		     off_t off, size_t len)
{
	size_t unit = seg->unit, window = HUGE_WINDOW / unit * unit;
	size_t pos = (size_t)off / unit * unit;
	size_t end = round_up((size_t)off + len, unit);
	int uffd = hole_detector(), rc = 0;

	if (uffd < 0)
		return huge_zero_by_reading(sd, seg, off, len);
	if (window == 0)
		window = unit;
	for (; rc == 0 && pos < end; pos += window) {
		size_t wlen = end - pos < window ? end - pos : window;
		struct uffdio_register reg = {
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		unsigned char *w;

		w = mmap(NULL, wlen, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, seg->fd, (off_t)pos);
		if (w == MAP_FAILED) {
			rc = -errno;
			break;
		}
		reg.range.start = (uintptr_t)w;
		reg.range.len = wlen;
		if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0)
			rc = -errno;
		else
			rc = window_zero_present(seg, w, pos, wlen, off, len);
		munmap(w, wlen);
	}
	close(uffd);
	return rc;
}

/*
 * Zero-fills [off, off + len) of the segment.  A shmem file gets a hole
 * punched (partial pages are zeroed in place): no page is needed, and the
 * memory is given back.  A hugetlbfs file must keep its pages (a hole
 * would also cancel the segment's reservation): only its present pages
 * are zeroed (huge_zero()), which needs no page for a hole either.  The
 * fallback zeroes through its attachment (attached_zero()).
 */
static int seg_zero(const struct shm_data *sd, const struct seg *seg,
		    off_t off, size_t len)
{
	if (seg->read_only)
		return -EACCES;
	if (len == 0)
		return 0;
	if (seg->fd < 0)
		return attached_zero(seg->map.addr + off, len);
	if (seg->huge)
		return huge_zero(sd, seg, off, len);
	if (fallocate(seg->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      (off_t)len) != 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ segments */

/* Opens /proc/self/map_files/<start>-<any end>: a huge-page segment's
 * entry ends at a huge page boundary, past its page-rounded size. */
static int open_map_file_from(uintptr_t start, int flags)
{
	char prefix[32];
	struct dirent *e;
	int fd = -1, err = ENOENT;
	size_t len;
	DIR *d;

	len = (size_t)snprintf(prefix, sizeof(prefix), "%lx-",
			       (unsigned long)start);
	d = opendir("/proc/self/map_files");
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, len) == 0) {
			fd = openat(dirfd(d), e->d_name, flags);
			err = errno;
			break;
		}
	}
	closedir(d);
	return fd >= 0 ? fd : -err;
}

/*
 * Opens the segment's own file through the daemon's attachment seg->map:
 * its shmem file, or its hugetlbfs file for SHM_HUGETLB.  Returns the
 * descriptor or -errno: -EPERM for a daemon that may not open
 * /proc/self/map_files (no CAP_SYS_ADMIN).
 */
static int open_segment_file(const struct seg *seg)
{
	uintptr_t start = (uintptr_t)seg->map.addr;
	uintptr_t end = start + round_up(seg->map.size, page_size());
	int flags = (seg->map.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)start, (unsigned long)end);
	fd = open(path, flags);
	if (fd < 0 && errno == ENOENT)
		return open_map_file_from(start, flags);
	return fd < 0 ? -errno : fd;
}

/* Takes seg->fd (the segment's file) and what it is. */
static int seg_take_file(struct seg *seg, int fd)
{
	struct statfs sfs;
	struct stat st;

	if (fstatfs(fd, &sfs) != 0 || fstat(fd, &st) != 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	seg->fd = fd;
	seg->huge = sfs.f_type == HUGETLBFS_MAGIC;
	/* hugetlbfs gives its huge page size as the block size */
	seg->unit = seg->huge && st.st_blksize > 0 ? (size_t)st.st_blksize :
						     page_size();
	return 0;
}

/*
 * Keeps one unit (page or huge page) of a seg's attachment, moved out of
 * the segment's range, and unmaps the rest.  A stub left where the
 * attachment was would split the big hole it leaves, and the next big
 * segment would no longer fit (measured: with 32 TiB segments, the 4th
 * shmat failed); moved, it goes where the kernel puts small mappings.  A
 * SysV attachment moved by mremap() or cut by munmap() is still one
 * attachment: shm_nattch is unchanged, shmdt() of the new address ends it.
 */
static int seg_trim(struct seg *seg)
{
	size_t unit = seg->unit, mapped = round_up(seg->size, unit);
	unsigned char *old = seg->map.addr, *room, *dst;
	void *moved;

	if (mapped <= unit)
		return 0;
	/* Room for one unit, aligned to it (hugetlb mappings must be). */
	room = mmap(NULL, 2 * unit, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (room == MAP_FAILED)
		return -errno;
	dst = room + (unit - (uintptr_t)room % unit) % unit;
	moved = mremap(old, unit, unit, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (moved == MAP_FAILED) {
		int err = -errno;

		munmap(room, 2 * unit);
		return err;
	}
	if (dst > room)
		munmap(room, (size_t)(dst - room));
	if (dst + unit < room + 2 * unit)
		munmap(dst + unit, (size_t)(room + 2 * unit - (dst + unit)));
	seg->map.addr = moved;
	if (munmap(old + unit, mapped - unit) != 0)
		return -errno;
	return 0;
}

/*
 * Makes a seg for segment shmid (opens = 1, not listed): attaches it,
 * opens its file and trims the attachment to one page; a daemon that
 * cannot open the file keeps the whole attachment.  The attachment binds
 * the seg to the object the id names now.  Under sd->lock, so that at
 * most one whole-segment attachment is being trimmed at a time.  Returns
 * 0 or -errno (of shmat, or of the file's open).
 */
static int seg_make(int shmid, struct seg **out)
{
	struct seg *seg = calloc(1, sizeof(*seg));
	int rc, fd;

	if (seg == NULL)
		return -ENOMEM;
	seg->shmid = shmid;
	seg->fd = -1;
	seg->opens = 1;
	rc = ipcore_shm_attach(shmid, NULL, 0, &seg->map);
	if (rc == -EACCES) /* a daemon without root: maybe read-only */
		rc = ipcore_shm_attach(shmid, NULL, SHM_RDONLY, &seg->map);
	if (rc != 0) {
		free(seg);
		return rc;
	}
	seg->size = seg->map.size;
	seg->read_only = seg->map.read_only;
	fd = open_segment_file(seg);
	if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM) {
		ipcore_shm_detach(&seg->map);
		free(seg);
		return fd;
	}
	if (fd >= 0 && seg_take_file(seg, fd) == 0) {
		rc = seg_trim(seg);
		if (rc != 0) {
			close(seg->fd);
			ipcore_shm_detach(&seg->map);
			free(seg);
			return rc;
		}
	}
	*out = seg;
	return 0;
}

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
static void seg_free(struct shm_data *sd, struct seg *seg, bool connected)
{
	struct stat st;

	/* Cannot happen: the daemon's writes end at the segment's end, and
	 * passthrough ones take the direct_io way; if a kernel ever let one
	 * through and grow the file, shrink it back to the segment's size.
	 * (A hugetlbfs file is always a whole number of huge pages.) */
	if (seg->fd >= 0 && !seg->huge && !seg->read_only &&
	    fstat(seg->fd, &st) == 0 && (size_t)st.st_size != seg->size) {
		fuse_log(FUSE_LOG_WARNING, "ipcfs: segment %d's file grew to "
			 "%lld bytes; restoring %zu\n", seg->shmid,
			 (long long)st.st_size, seg->size);
		if (ftruncate(seg->fd, (off_t)seg->size))
			fuse_log(FUSE_LOG_ERR, "ipcfs: ftruncate: %s\n",
				 strerror(errno));
	}
	if (seg->backing_id > 0 && connected)
		passthrough_backing_close(&sd->pt, seg->backing_id);
	if (seg->fd >= 0)
		close(seg->fd);
	ipcore_shm_detach(&seg->map);
	while (seg->users != NULL) { /* only at unmount */
		struct seg_user *u = seg->users;

		seg->users = u->next;
		free(u);
	}
	free(seg);
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

/* ------------------------------------------------------------ callers */

/* The account of uid, made if make and missing (NULL if out of memory or
 * missing).  Under sd->lock. */
static struct user_acct *user_acct(struct shm_data *sd, uid_t uid, bool make)
{
	struct user_acct *a;

	for (a = sd->users; a != NULL; a = a->next)
		if (a->uid == uid)
			return a;
	if (!make || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->uid = uid;
	a->next = sd->users;
	sd->users = a;
	return a;
}

static void user_acct_drop_if_idle(struct shm_data *sd, struct user_acct *a)
{
	struct user_acct **p;

	if (a->segs != 0)
		return;
	for (p = &sd->users; *p != a; p = &(*p)->next)
		;
	*p = a->next;
	free(a);
}

/* Whether uid may hold one more segment (of size bytes if attached).
 * Returns 0 or -EMFILE / -ENOMEM.  Under sd->lock. */
static int user_may_take(struct shm_data *sd, uid_t uid, uint64_t attached)
{
	const struct user_acct *a = user_acct(sd, uid, false);

	if (a == NULL)
		return attached > ATTACHED_BYTES_PER_USER ? -ENOMEM : 0;
	if (a->segs >= SEGS_PER_USER)
		return -EMFILE;
	if (attached > ATTACHED_BYTES_PER_USER - a->attached)
		return -ENOMEM;
	return 0;
}

static uint64_t seg_attached_bytes(const struct seg *seg)
{
	return seg->fd < 0 ? seg->size : 0;
}

/* Counts one open file of seg for uid, charging uid for the seg if it is
 * its first.  Returns 0 (*out set) or -errno (a limit).  Under sd->lock. */
static int seg_user_add(struct shm_data *sd, struct seg *seg, uid_t uid,
			struct seg_user **out)
{
	struct seg_user *u;
	struct user_acct *a;
	int rc;

	for (u = seg->users; u != NULL; u = u->next) {
		if (u->uid == uid) {
			u->opens++;
			*out = u;
			return 0;
		}
	}
	rc = user_may_take(sd, uid, seg_attached_bytes(seg));
	if (rc != 0)
		return rc;
	u = calloc(1, sizeof(*u));
	a = u != NULL ? user_acct(sd, uid, true) : NULL;
	if (a == NULL) {
		free(u);
		return -ENOMEM;
	}
	u->seg = seg;
	u->uid = uid;
	u->opens = 1;
	u->next = seg->users;
	seg->users = u;
	a->segs++;
	a->attached += seg_attached_bytes(seg);
	*out = u;
	return 0;
}

/* Counts one open file of u's uid less (and uncharges the uid after its
 * last).  Under sd->lock. */
static void seg_user_drop(struct shm_data *sd, struct seg_user *u)
{
	struct seg *seg = u->seg;
	uid_t uid = u->uid;
	struct seg_user **p;
	struct user_acct *a;

	if (--u->opens != 0)
		return;
	for (p = &seg->users; *p != u; p = &(*p)->next)
		;
	*p = u->next;
	free(u);
	a = user_acct(sd, uid, false);
	if (a == NULL)
		return;
	a->segs--;
	a->attached -= seg_attached_bytes(seg);
	user_acct_drop_if_idle(sd, a);
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
		rc = seg_user_add(sd, seg, uid, out);
		if (rc == 0)
			seg->opens++;
		return rc;
	}
	/* Refuse a caller at its limit before attaching anything. */
	rc = user_may_take(sd, uid, 0);
	if (rc == 0)
		rc = seg_make(shmid, &seg);
	if (rc != 0)
		return rc;
	rc = seg_user_add(sd, seg, uid, out);
	if (rc == 0)
		rc = seg_passthrough(sd, req, seg);
	if (rc != 0) {
		if (seg->users != NULL)
			seg_user_drop(sd, *out);
		seg_free(sd, seg, true);
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
		seg_user_drop(sd, u);
	last = --seg->opens == 0;
	if (last && seg->listed) {
		for (p = &sd->segs; *p != seg; p = &(*p)->next)
			;
		*p = seg->next;
	}
	pthread_mutex_unlock(&sd->lock);
	if (last)
		seg_free(sd, seg, true);
}

static struct seg_user *seg_user_of(const struct fuse_file_info *fi)
{
	return (struct seg_user *)(uintptr_t)fi->fh;
}

/* --------------------------------------------------------- operations */

/* Errors from the core and from the segment's file go to the caller
 * through ipcfs_errno() (fs_errno.h): IPCORE_OP_ATTACH for what makes a
 * seg (shmat, the file's open, the limits: EMFILE is reported as is),
 * IPCORE_OP_ACCESS for what reads or writes it (ENOSPC and ENOMEM stay
 * what they are, kind MEMORY).  The few literal errnos below are the
 * file's own rules (EINVAL, ENOSPC past the end), not kernel results. */

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
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_ATTACH));
		return;
	}
	seg = u->seg;
	if ((writing || (fi->flags & O_TRUNC)) && seg->read_only)
		rc = -EACCES;
	else if (fi->flags & O_TRUNC)
		rc = seg_zero(sd, seg, 0, seg->size);
	if (rc != 0) {
		seg_put(sd, seg, u);
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_ACCESS));
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
		fuse_reply_err(req, ipcfs_errno(rc, IPCORE_OP_ACCESS));
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
	w = seg_store(sd, seg, off, buf, n);
	if (w < 0)
		fuse_reply_err(req, ipcfs_errno((int)w, IPCORE_OP_ACCESS));
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
		rc = seg_make(shmid, &seg);
	pthread_mutex_unlock(&sd->lock);
	if (rc != 0)
		return -ipcfs_errno(rc, IPCORE_OP_ATTACH);
	if ((uint64_t)size > seg->size)
		rc = -EFBIG;
	else if ((uint64_t)size < seg->size)
		rc = seg_zero(sd, seg, size, seg->size - (size_t)size);
	seg_put(sd, seg, NULL);
	return -ipcfs_errno(rc, IPCORE_OP_ACCESS);
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
		seg_free(sd, seg, false);
	}
	while (sd->users != NULL) {
		struct user_acct *a = sd->users;

		sd->users = a->next;
		free(a);
	}
	pthread_mutex_destroy(&sd->lock);
	free(sd);
}
