/*
 * shm_zero — zero-fill of a segment, for O_TRUNC and truncate (see
 * shm_seg.h), allocating nothing for what already reads as zeros:
 *   - a shmem file gets a hole punched (what reads as zeros needs no
 *     page, and the memory is given back);
 *   - a hugetlbfs file must keep its pages (a hole would also drop the
 *     segment's reservation): it zeroes the huge pages that exist through
 *     windows, and leaves the holes: a userfaultfd in SIGBUS mode makes
 *     MADV_POPULATE_READ tell a hole (-EFAULT) from a page without
 *     allocating one (huge_zero());
 *   - an attached seg is zeroed through its attachment, where a page is
 *     or can be had (attached_zero()).
 */
#include "shm_seg.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Zero-fill by reading works in steps of this much: a bounded buffer, and
 * (as it divides every huge page size) steps that never cross a huge
 * page. */
#define STEP ((size_t)1 << 20)

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
 * that has none and can have none (shm_populate() says -EFAULT) is a hole,
 * zeros already: it is left alone, page by page. */
static int attached_zero(unsigned char *p, size_t len)
{
	size_t page = shm_page_size(), done = 0;
	int rc = shm_guarded_store(p, NULL, len);

	if (rc != -EFAULT)
		return rc;
	while (done < len) {
		size_t n = page - ((uintptr_t)p + done) % page;

		if (n > len - done)
			n = len - done;
		rc = shm_guarded_store(p + done, NULL, n);
		if (rc != 0 && rc != -EFAULT)
			return rc;
		done += n;
	}
	return 0;
}

/* Zero-fills [off, off + len) of a hugetlbfs seg by reading it in steps
 * (holes read as zeros, unallocated) and storing zeros only into steps
 * that are not all zero.  Costs a read of the whole range. */
static int huge_zero_by_reading(const struct seg *seg, off_t off,
				size_t len)
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
			ssize_t w = seg_store(seg, (off_t)at, NULL, n);

			rc = w < 0 ? (int)w : 0;
		}
		done += n;
	}
	free(buf);
	return rc;
}

/* A userfaultfd for missing pages that answers with SIGBUS: a range
 * registered with it faults a hole as -EFAULT (to shm_populate()) instead of
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
	bool all = shm_populate(w, wlen, false) == 0; /* the common case */
	int rc;

	for (at = start; at < start + wlen; at += seg->unit) {
		size_t a = at > lo ? at : lo;
		size_t b = at + seg->unit < hi ? at + seg->unit : hi;

		if (!all) {
			rc = shm_populate(w + (at - start), seg->unit, false);
			if (rc == -EFAULT)
				continue; /* a hole: zeros already */
			if (rc != 0)
				return rc;
		}
		rc = shm_guarded_store(w + (a - start), NULL, b - a);
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
static int huge_zero(const struct seg *seg, off_t off, size_t len)
{
	size_t unit = seg->unit, window = HUGE_WINDOW / unit * unit;
	size_t pos = (size_t)off / unit * unit;
	size_t end = shm_round_up((size_t)off + len, unit);
	int uffd = hole_detector(), rc = 0;

	if (uffd < 0)
		return huge_zero_by_reading(seg, off, len);
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
int seg_zero(const struct seg *seg, off_t off, size_t len)
{
	if (seg->read_only)
		return -EACCES;
	if (len == 0)
		return 0;
	if (seg->fd < 0)
		return attached_zero(seg->map.addr + off, len);
	if (seg->huge)
		return huge_zero(seg, off, len);
	if (fallocate(seg->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      (off_t)len) != 0)
		return -errno;
	return 0;
}
