/* dev_io — see dev_io.h. */
#include "dev_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

static const struct dev_io_filter *filter; /* set before the loop starts */

/*
 * Waits until fd can be read.  A signal ends the wait with -1/EINTR, which
 * libfuse takes as "look whether the session has ended"; an unmounted
 * device is readable (read then fails with ENODEV, libfuse's end).
 */
static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, -1) < 0 ? -1 : 0;
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n;

	(void)userdata;
	/* Descriptors cloned for -o clone_fd block: read waits then. */
	while ((n = read(fd, buf, len)) < 0 && errno == EAGAIN)
		if (wait_readable(fd) < 0)
			return -1;
	if (n > 0 && filter)
		filter->saw_request(filter->ctx, buf, (size_t)n);
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
			 void *userdata)
{
	ssize_t written;

	(void)userdata;
	if (filter && filter->write_reply(filter->ctx, fd, iov, count,
					  &written))
		return written;
	return writev(fd, iov, count);
}

/* libfuse splices requests in only with FUSE_CAP_SPLICE_READ, which
 * ipcfs does not ask for; the hook waits like io_read all the same. */
static ssize_t io_splice_receive(int fdin, off_t *offin, int fdout,
				 off_t *offout, size_t len,
				 unsigned int flags, void *userdata)
{
	ssize_t n;

	(void)userdata;
	while ((n = splice(fdin, offin, fdout, offout, len, flags)) < 0 &&
	       errno == EAGAIN)
		if (wait_readable(fdin) < 0)
			return -1;
	return n;
}

/* Replies spliced out (FUSE_CAP_SPLICE_WRITE): /dev/fuse never makes a
 * writer wait. */
static ssize_t io_splice_send(int fdin, off_t *offin, int fdout,
			      off_t *offout, size_t len, unsigned int flags,
			      void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int dev_io_install(struct fuse_session *se,
		   const struct dev_io_filter *f)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
		.splice_receive = io_splice_receive,
		.splice_send = io_splice_send,
	};
	int fd = fuse_session_fd(se);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	filter = f;
	return fuse_session_custom_io(se, &io, fd);
}
