/*
 * dev_io — how the daemon reads requests from /dev/fuse and writes its
 * replies: the session's I/O, installed with fuse_session_custom_io() on
 * every mount, and its state (struct dev_io), made and freed with the
 * session by main.
 *
 * Why not libfuse's own read(2): a worker blocked in read(2) on /dev/fuse
 * sleeps in an exclusive wait, so each request wakes exactly one worker,
 * on the CPU it last ran on.  On a virtual machine whose other vCPU is
 * idle that wake-up costs more than the request: measured here, a stat(2)
 * of a node with a 0 s attribute timeout took 34-91 us with libfuse's
 * loop.  A worker that waits in poll(2) on a non-blocking descriptor is
 * woken with all the other idle workers, and one of them runs on the
 * caller's CPU as soon as the caller sleeps: 13-21 us for the same stat,
 * and open+read+close of an attribute file 196 -> 80 us.  Waking every
 * idle worker costs throughput when many callers are served at once, so
 * only about as many workers as there are CPUs poll (dev_io.c).
 *
 * A filter lets compat314.c see the FUSE_INIT request and rewrite its
 * reply (libfuse 3.14 cannot negotiate passthrough itself).
 */
#ifndef IPCFS_DEV_IO_H
#define IPCFS_DEV_IO_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

struct dev_io_filter {
	/* Sees each request as read, before libfuse does. */
	void (*saw_request)(void *ctx, const void *buf, size_t len);
	/* May write a reply itself: returns true and *written (what
	 * writev(2) returned), or false to have it written unchanged. */
	bool (*write_reply)(void *ctx, int fd, const struct iovec *iov,
			    int count, ssize_t *written);
	void *ctx;
};

struct dev_io;

/*
 * Installs the session's I/O on se's (mounted) descriptor, with filter
 * (which may be NULL, and must outlive the session): 0 and *out, or
 * -errno.  libfuse hands the I/O hooks the session's userdata, the
 * mount's struct ipcfs (ipcfs.h): *out must be its dev_io member before
 * the session's loop starts, which is where the hooks find their state.
 */
int dev_io_new(struct fuse_session *se, const struct dev_io_filter *filter,
	       struct dev_io **out);

/* Frees io once the session's loop has returned (no worker reads any
 * more); not in the filesystem's .destroy, which a FUSE_DESTROY request
 * may run while other workers still read.  io may be NULL. */
void dev_io_free(struct dev_io *io);

#endif /* IPCFS_DEV_IO_H */
