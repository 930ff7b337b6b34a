/* dev_io — see dev_io.h. */
#include "dev_io.h"
#include "ipcfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * The pollers.  Every worker that waits in poll(2) is woken by every
 * request, so that one on the caller's CPU takes it (dev_io.h); pollers
 * beyond that only add wake-ups that find nothing.  So at most pollers_max
 * workers poll: one per CPU the daemon may use, and one more; other idle
 * workers are parked on a condition variable, and the last poller to take
 * a request wakes one of them to poll in its place.  Measured on 2 CPUs,
 * open+read+close of an attribute file by 1, 2, 4 and 16 processes at once,
 * thousands per second (libfuse's read(2) / 2 pollers / 3 / all 10 idle
 * workers): 1: 4-7 / 4 / 11-16 / 14-16; 2: 12-14 / 7-11 / 16-20 / 11;
 * 4: 13-14 / 16-19 / 19 / 8-11; 16: 11-14 / 19-26 / 11-15 / 8-9.
 */
struct dev_io {
	const struct dev_io_filter *filter; /* or NULL */
	pthread_mutex_t poll_lock;
	pthread_cond_t poll_turn; /* a parked worker may poll */
	unsigned pollers, pollers_max, parked; /* under poll_lock */
};

/* The state of the session whose hook runs: libfuse hands the hooks the
 * session's userdata (dev_io.h). */
static struct dev_io *dev_io_of(void *userdata)
{
	return ((struct ipcfs *)userdata)->dev_io;
}

static void unlock_poll(void *arg)
{
	struct dev_io *io = arg;

	pthread_mutex_unlock(&io->poll_lock);
}

/* libfuse cancels its workers at the end of the session: a worker parked
 * here lets go of the lock as it goes. */
static void poller_enter(struct dev_io *io)
{
	pthread_mutex_lock(&io->poll_lock);
	pthread_cleanup_push(unlock_poll, io);
	while (io->pollers >= io->pollers_max) {
		io->parked++;
		pthread_cond_wait(&io->poll_turn, &io->poll_lock);
		io->parked--;
	}
	io->pollers++;
	pthread_cleanup_pop(1);
}

static void poller_leave(struct dev_io *io)
{
	int saved = errno;

	pthread_mutex_lock(&io->poll_lock);
	/* Another poller still waits: the parked can stay parked. */
	if (--io->pollers == 0 && io->parked)
		pthread_cond_signal(&io->poll_turn);
	pthread_mutex_unlock(&io->poll_lock);
	errno = saved;
}

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
	struct dev_io *io = dev_io_of(userdata);
	/* Descriptors cloned for -o clone_fd block: read waits then. */
	ssize_t n = read(fd, buf, len);

	if (n < 0 && errno == EAGAIN) {
		poller_enter(io);
		do
			n = wait_readable(fd) < 0 ? -1 : read(fd, buf, len);
		while (n < 0 && errno == EAGAIN);
		poller_leave(io);
	}
	if (n > 0 && io->filter)
		io->filter->saw_request(io->filter->ctx, buf, (size_t)n);
	return n;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
			 void *userdata)
{
	const struct dev_io_filter *filter = dev_io_of(userdata)->filter;
	ssize_t written;

	if (filter && filter->write_reply(filter->ctx, fd, iov, count,
					  &written))
		return written;
	return writev(fd, iov, count);
}

#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 17)
/*
 * -o clone_fd: a worker's own descriptor on the session.  libfuse 3.14
 * clones for every session itself; 3.17 only for sessions without their
 * own I/O, and otherwise asks this hook (without it, it drops clone_fd
 * with an error message).  Made as libfuse makes it, so that both behave
 * alike: a blocking descriptor (io_read waits in read(2) then).
 */
static int io_clone_fd(int master_fd)
{
	uint32_t master = (uint32_t)master_fd;
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: cannot open /dev/fuse for "
			 "clone_fd: %s\n", strerror(errno));
		return -1;
	}
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &master) < 0) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: cannot clone the /dev/fuse "
			 "descriptor: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
#endif

int dev_io_new(struct fuse_session *se, const struct dev_io_filter *filter,
	       struct dev_io **out)
{
	/*
	 * No splice hooks: libfuse splices requests in only for a write_buf
	 * operation and replies out only for fuse_reply_data() of a
	 * descriptor, and ipcfs has neither; without the hooks it never
	 * tries.
	 */
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 17)
		.clone_fd = io_clone_fd,
#endif
	};
	int fd = fuse_session_fd(se);
	int fl = fcntl(fd, F_GETFL);
	struct dev_io *dio;
	cpu_set_t cpus;
	int rc;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	dio = calloc(1, sizeof(*dio));
	if (dio == NULL)
		return -ENOMEM;
	dio->filter = filter;
	pthread_mutex_init(&dio->poll_lock, NULL);
	pthread_cond_init(&dio->poll_turn, NULL);
	dio->pollers_max = 1;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus))
		dio->pollers_max = (unsigned)CPU_COUNT(&cpus) + 1;
#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 17)
	/* The size tells libfuse which hooks io has (clone_fd: 3.17). */
	rc = fuse_session_custom_io(se, &io, sizeof(io), fd);
#else
	rc = fuse_session_custom_io(se, &io, fd);
#endif
	if (rc != 0) {
		dev_io_free(dio);
		return rc;
	}
	*out = dio;
	return 0;
}

void dev_io_free(struct dev_io *io)
{
	if (io == NULL)
		return;
	pthread_cond_destroy(&io->poll_turn);
	pthread_mutex_destroy(&io->poll_lock);
	free(io);
}
