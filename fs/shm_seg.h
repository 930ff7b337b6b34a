/*
 * shm_seg — the inside of shm data files (shm_data.h): one struct seg per
 * segment with open data files, and what each file of the module does
 * with it.  Private to these files:
 *
 *   shm_data.c   the table of segs, passthrough for them, and the file
 *                operations (open, read, write, truncate, release)
 *   shm_seg.c    a seg's making and freeing: the attachment, the
 *                segment's own file, the attachment trimmed to one page
 *   shm_guard.c  loads and stores that cannot fault: pread/pwrite of the
 *                file, or MADV_POPULATE before a mapping is touched
 *   shm_zero.c   zero-fill (O_TRUNC, truncate): holes punched for shmem,
 *                hugetlb windows that skip holes (userfaultfd)
 *   shm_users.c  per caller uid: segments held and bytes attached, against
 *                the limits of the man page (LIMITS)
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
 * A daemon that may not open map_files (no CAP_SYS_ADMIN) keeps the
 * attachment instead (the fallback "attached" seg) and goes through it
 * with the same MADV_POPULATE guard (shm_guard.c).  Such attachments cost
 * address space, so their bytes are capped per caller; so is, for every
 * seg, the number of segments one caller holds open (descriptors).
 *
 * Errors are negated errnos, as the kernel gave them (a store with no page
 * to be had: -EFAULT); the operations of shm_data.c turn them into what
 * the caller sees through fs_errno() (fs_errno.h).
 */
#ifndef IPCFS_SHM_SEG_H
#define IPCFS_SHM_SEG_H

#include "ipcore.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

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
	bool file_writes;     /* stores may pwrite() fd: shmem, and the daemon
			       * has no file size limit (else windows) */
	size_t unit;          /* fd's mapping granularity: (huge) page size */
	struct ipcore_mapping map; /* the daemon's attachment: all of it when
				    * fd < 0, else its first unit (seg_trim) */
	int backing_id;       /* fd's id in /dev/fuse, or 0 */
	struct seg_user *users; /* under sd->lock */
};

static inline size_t shm_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline size_t shm_round_up(size_t n, size_t unit)
{
	return (n + unit - 1) / unit * unit;
}

/* ------------------------------------------------------------ shm_seg.c */

/*
 * Makes a seg for segment shmid (opens = 1, not listed): attaches it,
 * opens its file and trims the attachment to one page; a daemon that
 * cannot open the file keeps the whole attachment.  file_writes: the
 * daemon may pwrite() (no file size limit).  The attachment binds the seg
 * to the object the id names now.  Under sd->lock, so that at most one
 * whole-segment attachment is being trimmed at a time.  Returns 0 or
 * -errno (of shmat, or of the file's open).
 */
int seg_make(int shmid, bool file_writes, struct seg **out);

/* Frees a seg no open file uses any more (and its seg_users, left only at
 * unmount).  Its backing id, if any, is the caller's to close first. */
void seg_free(struct seg *seg);


/* ---------------------------------------------------------- shm_guard.c */

/*
 * Faults in [p, p + len) of a mapping for writing (or reading), so that a
 * store (load) there cannot fault afterwards.  Returns 0 or -errno; where
 * a store would have been SIGBUS (no page can be had: no free huge page,
 * a NORESERVE segment beyond memory) that is -EFAULT.
 */
int shm_populate(void *p, size_t len, bool write);

/* Stores len bytes of src (zeros if NULL) at p after shm_populate(). */
int shm_guarded_store(unsigned char *p, const void *src, size_t len);

/* Stores len bytes of src (zeros if NULL) at off, by whatever way seg
 * allows.  The range lies inside the segment.  Returns the bytes stored
 * (pwrite() may store fewer) or -errno. */
ssize_t seg_store(const struct seg *seg, off_t off, const void *src,
		  size_t len);

/* Reads len bytes at off into buf, by whatever way seg allows; holes read
 * as zeros and are not allocated. */
int seg_load(const struct seg *seg, off_t off, void *buf, size_t len);

/* ----------------------------------------------------------- shm_zero.c */

/* Zero-fills [off, off + len) of the segment (-EACCES if read-only). */
int seg_zero(const struct seg *seg, off_t off, size_t len);

/* ---------------------------------------------------------- shm_users.c */

/* The callers holding any seg, against the limits.  Under sd->lock. */
struct shm_users {
	struct user_acct *list;
};

/* Whether uid may hold one more segment (of attached bytes attached).
 * Returns 0 or -EMFILE / -ENOMEM. */
int shm_users_may_take(struct shm_users *users, uid_t uid, uint64_t attached);

/* Counts one open file of seg for uid, charging uid for the seg if it is
 * its first.  Returns 0 (*out set) or -errno (a limit). */
int seg_user_add(struct shm_users *users, struct seg *seg, uid_t uid,
		 struct seg_user **out);

/* Counts one open file of u's uid less (and uncharges the uid after its
 * last). */
void seg_user_drop(struct shm_users *users, struct seg_user *u);

/* Forgets every account (unmount). */
void shm_users_clear(struct shm_users *users);

#endif /* IPCFS_SHM_SEG_H */
