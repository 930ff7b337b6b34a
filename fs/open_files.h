/*
 * open_files — the handles of open files (attribute, limits/ and usage/,
 * and message files: what each open remembers between its calls), counted
 * per user: each holds a little of the daemon's memory, so one user may
 * have at most max_files_per_user open at once (ipcfs.h); the next open
 * is ENFILE.
 *
 * Every handle is kept in a list: what is still open when the session
 * ends gets no release, and is freed by open_table_clear().  Open
 * directories hold nothing (listing.h); data files are shm_data.c's.
 */
#ifndef IPCFS_OPEN_FILES_H
#define IPCFS_OPEN_FILES_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <sys/types.h>

/* The head of every handle (the first member of each kind of handle). */
struct open_file {
	struct open_file *prev, *next;
	void (*free)(struct open_file *f); /* frees the whole handle */
	uid_t uid; /* the opener, whose quota of open files it counts in */
};

/* Part of the mount's state (ipcfs.h). */
struct open_table {
	pthread_mutex_t lock; /* the list */
	struct open_file *head;
	struct quota *quota;  /* open files per user */
};

/* Starts an empty table for at most max_per_user open files per user:
 * 0 or -ENOMEM.  open_table_free() after, whatever it returned. */
int open_table_init(struct open_table *t, unsigned max_per_user);
/* Frees every handle still open (they get no release; after the waiters
 * are stopped: a pending receive writes to its handle) and the quota. */
void open_table_free(struct open_table *t);

/* A new handle of size bytes (its struct open_file first) for an open by
 * req's caller, counted in the caller's quota of open files: NULL once
 * req is answered ENFILE (quota) or ENOMEM. */
void *open_handle_new(fuse_req_t req, size_t size,
		      void (*free_handle)(struct open_file *f));
/* Answers the open with handle f; frees it if the caller has gone (no
 * release will come). */
void open_handle_reply(fuse_req_t req, struct fuse_file_info *fi,
		       struct open_file *f);
/* Forgets and frees a handle, and gives its quota back. */
void open_handle_free(fuse_req_t req, struct open_file *f);

/* The handle of an open file. */
static inline void *open_handle(const struct fuse_file_info *fi)
{
	return (void *)(uintptr_t)fi->fh;
}

#endif /* IPCFS_OPEN_FILES_H */
