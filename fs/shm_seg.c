/*
 * shm_seg — making and freeing a struct seg (see shm_seg.h): the daemon's
 * attachment of the segment, the segment's own file opened through it,
 * and the attachment trimmed to one (huge) page.
 */
#include "shm_seg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_log.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

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
	uintptr_t end = start + shm_round_up(seg->map.size, shm_page_size());
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
						     shm_page_size();
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
	size_t unit = seg->unit, mapped = shm_round_up(seg->size, unit);
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

int seg_make(int shmid, bool file_writes, struct seg **out)
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
		/* hugetlbfs has no write() */
		seg->file_writes = file_writes && !seg->huge;
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

void seg_free(struct seg *seg)
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

