/* compat314 — see compat314.h (and there, when to delete this file). */
#include "compat314.h"
#include "fuse_abi.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

/* dev_io's filter: notes the INIT request and what it offers. */
static void saw_request(void *ctx, const void *buf, size_t len)
{
	struct compat314 *c = ctx;
	const struct ipcfs_fuse_in_header *in = buf;
	const struct ipcfs_fuse_init_in *arg;

	if (len < sizeof(*in) || in->opcode != IPCFS_FUSE_OP_INIT)
		return;
	arg = (const void *)(in + 1);
	c->init_unique = in->unique;
	if (len >= sizeof(*in) + offsetof(struct ipcfs_fuse_init_in, flags2) +
			   sizeof(arg->flags2) &&
	    (arg->flags & IPCFS_FUSE_INIT_EXT) &&
	    (arg->flags2 & IPCFS_FUSE2_PASSTHROUGH))
		atomic_store(&c->offered, true);
	atomic_store(&c->init_pending, true);
}

/* Writes libfuse's INIT reply (iov[0] header, iov[1] fuse_init_out) with
 * the answer chosen. */
static ssize_t write_init(struct compat314 *c, int fd, const struct iovec *iov,
			  int count)
{
	const size_t min_len = offsetof(struct ipcfs_fuse_init_out,
					max_stack_depth) + sizeof(uint32_t);
	int answer = atomic_load(&c->answer);
	struct ipcfs_fuse_out_header hdr;
	struct ipcfs_fuse_init_out out;
	struct iovec v[2];

	memcpy(&hdr, iov[0].iov_base, sizeof(hdr));
	if (hdr.error != 0 || answer == COMPAT314_AS_IS)
		return writev(fd, iov, count);
	if (answer == COMPAT314_REFUSE) {
		hdr.len = sizeof(hdr);
		hdr.error = -EPROTO;
		return write(fd, &hdr, sizeof(hdr));
	}
	if (count != 2 || iov[1].iov_len < min_len ||
	    iov[1].iov_len > sizeof(out)) {
		/* Not libfuse 3.14's reply: left as it is, and the first
		 * backing file is refused (EPERM): data files use direct_io. */
		fuse_log(FUSE_LOG_WARNING, "ipcfs: unexpected INIT reply; "
			 "passthrough not asked for\n");
		return writev(fd, iov, count);
	}
	memset(&out, 0, sizeof(out));
	memcpy(&out, iov[1].iov_base, iov[1].iov_len);
	out.flags |= IPCFS_FUSE_INIT_EXT;
	out.flags &= ~IPCFS_FUSE_WRITEBACK_CACHE;
	out.flags2 |= IPCFS_FUSE2_PASSTHROUGH;
	out.max_stack_depth = 1;
	v[0] = iov[0];
	v[1].iov_base = &out;
	v[1].iov_len = iov[1].iov_len;
	return writev(fd, v, 2);
}

/* dev_io's filter: writes the reply to the INIT noted, passes the rest. */
static bool write_reply(void *ctx, int fd, const struct iovec *iov, int count,
			ssize_t *written)
{
	struct compat314 *c = ctx;
	const struct ipcfs_fuse_out_header *hdr = iov[0].iov_base;

	if (!atomic_load(&c->init_pending) || count < 1 ||
	    iov[0].iov_len != sizeof(*hdr) || hdr->unique != c->init_unique)
		return false;
	atomic_store(&c->init_pending, false);
	*written = write_init(c, fd, iov, count);
	return true;
}

void compat314_setup(struct compat314 *c)
{
	c->filter.saw_request = saw_request;
	c->filter.write_reply = write_reply;
	c->filter.ctx = c;
	atomic_init(&c->init_pending, false);
	c->init_unique = 0;
	atomic_init(&c->offered, false);
	atomic_init(&c->answer, COMPAT314_AS_IS);
}

bool compat314_offered(const struct compat314 *c)
{
	return atomic_load(&c->offered);
}

void compat314_answer(struct compat314 *c, enum compat314_answer answer)
{
	atomic_store(&c->answer, (int)answer);
}

int compat314_backing_open(int dev_fd, int fd)
{
	struct ipcfs_fuse_backing_map map = { .fd = fd };
	int id = ioctl(dev_fd, IPCFS_FUSE_DEV_IOC_BACKING_OPEN, &map);

	return id > 0 ? id : (id == 0 ? -EIO : -errno);
}

int compat314_reply_open(fuse_req_t req, const struct fuse_file_info *fi,
			 int backing_id)
{
	struct ipcfs_fuse_open_out out = {
		.fh = fi->fh,
		.open_flags = IPCFS_FOPEN_PASSTHROUGH |
			      (fi->direct_io ? IPCFS_FOPEN_DIRECT_IO : 0),
		.backing_id = backing_id,
	};

	return fuse_reply_buf(req, (const char *)&out, sizeof(out));
}
