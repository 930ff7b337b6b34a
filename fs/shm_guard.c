/*
 * shm_guard — loads and stores of a segment that cannot kill the daemon
 * (see shm_seg.h).
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
 *   - an attached seg (no file) is read and written through the
 *     attachment after the same MADV_POPULATE.
 * Zero-fill, which must not allocate what reads as zeros, is shm_zero.c.
 */
#include "shm_seg.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ /* Linux 5.14; older headers */
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

int shm_populate(void *p, size_t len, bool write)
{
	uintptr_t page = shm_page_size();
	uintptr_t start = (uintptr_t)p & ~(page - 1);
	uintptr_t end = shm_round_up((uintptr_t)p + len, page);

	if (len == 0)
		return 0;
	if (madvise((void *)start, end - start,
		    write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
		return 0;
	return -errno;
}

int shm_guarded_store(unsigned char *p, const void *src, size_t len)
{
	int rc = shm_populate(p, len, true);

	if (rc != 0)
		return rc;
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
	size_t wlen = shm_round_up((size_t)off + len, seg->unit) - start;
	unsigned char *w;
	int rc;

	w = mmap(NULL, wlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 seg->fd, (off_t)start);
	if (w == MAP_FAILED)
		return -errno;
	rc = shm_guarded_store(w + ((size_t)off - start), src, len);
	munmap(w, wlen);
	return rc;
}

ssize_t seg_store(const struct seg *seg, off_t off, const void *src,
		  size_t len)
{
	ssize_t w;
	int rc;

	if (seg->read_only)
		return -EACCES;
	if (seg->fd < 0)
		rc = shm_guarded_store(seg->map.addr + off, src, len);
	else if (!seg->file_writes || src == NULL)
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

/* Reads len bytes at p of the attachment into buf after shm_populate().
 * If that fails with -EFAULT (a page there neither exists nor can be had:
 * a hole), page by page: zeros for those. */
static int attached_load(const unsigned char *p, unsigned char *buf,
			 size_t len)
{
	size_t done = 0, page = shm_page_size();
	int rc = shm_populate((void *)p, len, false);

	if (rc == 0) {
		memcpy(buf, p, len);
		return 0;
	}
	if (rc != -EFAULT)
		return rc;
	while (done < len) {
		size_t n = page - ((uintptr_t)p + done) % page;

		if (n > len - done)
			n = len - done;
		rc = shm_populate((void *)(p + done), n, false);
		if (rc == 0)
			memcpy(buf + done, p + done, n);
		else if (rc == -EFAULT)
			memset(buf + done, 0, n);
		else
			return rc;
		done += n;
	}
	return 0;
}

int seg_load(const struct seg *seg, off_t off, void *buf, size_t len)
{
	if (seg->fd >= 0)
		return file_load(seg, off, buf, len);
	return attached_load(seg->map.addr + off, buf, len);
}
