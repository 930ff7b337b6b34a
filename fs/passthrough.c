/* passthrough — see passthrough.h. */
#include "passthrough.h"
#include "dev_io.h"
#include "fuse_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef FUSE_CAP_PASSTHROUGH
#define PT_OFFICIAL 1 /* libfuse >= 3.17 negotiates and registers itself */
#else
#define PT_OFFICIAL 0
#endif

bool passthrough_capable(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &
	       CAP_TO_MASK(CAP_SYS_ADMIN);
}

#if !PT_OFFICIAL
/* libfuse 3.14: dev_io's filter. */
static void pt_saw_request(void *ctx, const void *buf, size_t len)
{
	struct passthrough *pt = ctx;
	const struct ipcfs_fuse_in_header *in = buf;
	const struct ipcfs_fuse_init_in *arg;

	if (len < sizeof(*in) || in->opcode != IPCFS_FUSE_OP_INIT)
		return;
	arg = (const void *)(in + 1);
	pt->init_unique = in->unique;
	if (len >= sizeof(*in) + offsetof(struct ipcfs_fuse_init_in, flags2) +
			   sizeof(arg->flags2) &&
	    (arg->flags & IPCFS_FUSE_INIT_EXT) &&
	    (arg->flags2 & IPCFS_FUSE2_PASSTHROUGH))
		atomic_store(&pt->offered, true);
	atomic_store(&pt->init_pending, true);
}

/* Writes libfuse's INIT reply (iov[0] header, iov[1] fuse_init_out), with
 * passthrough asked for when the kernel offered it; refuses INIT instead
 * when passthrough is required and cannot be had. */
static ssize_t pt_write_init(struct passthrough *pt, int fd,
			     const struct iovec *iov, int count)
{
	const size_t min_len = offsetof(struct ipcfs_fuse_init_out,
					max_stack_depth) + sizeof(uint32_t);
	struct ipcfs_fuse_out_header hdr;
	struct ipcfs_fuse_init_out out;
	struct iovec v[2];

	memcpy(&hdr, iov[0].iov_base, sizeof(hdr));
	if (pt->ask && atomic_load(&pt->offered) && hdr.error == 0 &&
	    count == 2 && iov[1].iov_len >= min_len &&
	    iov[1].iov_len <= sizeof(out)) {
		memset(&out, 0, sizeof(out));
		memcpy(&out, iov[1].iov_base, iov[1].iov_len);
		out.flags |= IPCFS_FUSE_INIT_EXT;
		out.flags &= ~IPCFS_FUSE_WRITEBACK_CACHE;
		out.flags2 |= IPCFS_FUSE2_PASSTHROUGH;
		out.max_stack_depth = 1;
		atomic_store(&pt->granted, true);
		v[0] = iov[0];
		v[1].iov_base = &out;
		v[1].iov_len = iov[1].iov_len;
		return writev(fd, v, 2);
	}
	if (pt->required && hdr.error == 0) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough: the kernel "
			 "does not offer FUSE passthrough; refusing to mount\n");
		atomic_store(&pt->error, -EOPNOTSUPP);
		hdr.len = sizeof(hdr);
		hdr.error = -EPROTO;
		fuse_session_exit(pt->se);
		return write(fd, &hdr, sizeof(hdr));
	}
	return writev(fd, iov, count);
}

static bool pt_write_reply(void *ctx, int fd, const struct iovec *iov,
			   int count, ssize_t *written)
{
	struct passthrough *pt = ctx;
	const struct ipcfs_fuse_out_header *hdr = iov[0].iov_base;

	if (!atomic_load(&pt->init_pending) || count < 1 ||
	    iov[0].iov_len != sizeof(*hdr) || hdr->unique != pt->init_unique)
		return false;
	atomic_store(&pt->init_pending, false);
	*written = pt_write_init(pt, fd, iov, count);
	return true;
}

static struct dev_io_filter init_filter = {
	.saw_request = pt_saw_request,
	.write_reply = pt_write_reply,
};
#endif /* !PT_OFFICIAL */

int passthrough_mount(struct passthrough *pt, struct fuse_session *se,
		      const char *mountpoint)
{
	const struct dev_io_filter *filter = NULL;
	int rc;

	pt->se = se;
	errno = 0;
	if (fuse_session_mount(se, mountpoint) != 0)
		return errno ? -errno : -EIO;
#if !PT_OFFICIAL
	if (pt->ask) {
		init_filter.ctx = pt;
		filter = &init_filter;
	}
#endif
	rc = dev_io_install(se, filter);
	if (rc != 0)
		fuse_session_unmount(se);
	return rc;
}

void passthrough_init(struct passthrough *pt, struct fuse_conn_info *conn)
{
	if (!pt->ask)
		return;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
#if PT_OFFICIAL
	if (conn->capable & FUSE_CAP_PASSTHROUGH) {
		conn->want |= FUSE_CAP_PASSTHROUGH;
		atomic_store(&pt->offered, true);
		atomic_store(&pt->granted, true);
	} else if (pt->required) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough: the kernel "
			 "does not offer FUSE passthrough; refusing to mount\n");
		atomic_store(&pt->error, -EOPNOTSUPP);
		fuse_session_exit(pt->se);
	}
#endif
}

int passthrough_backing_open(struct passthrough *pt, fuse_req_t req, int fd)
{
	int id;
#if PT_OFFICIAL
	/* It returns 0 on failure, not -errno: the ioctl's errno is left
	 * (after a message of its own); errno = 0 keeps a stale one out. */
	errno = 0;
	id = fuse_passthrough_open(req, fd);
	return id > 0 ? id : (errno ? -errno : -EPERM);
#else
	struct ipcfs_fuse_backing_map map = { .fd = fd };

	(void)req;
	id = ioctl(fuse_session_fd(pt->se), IPCFS_FUSE_DEV_IOC_BACKING_OPEN,
		   &map);
	return id > 0 ? id : (id == 0 ? -EIO : -errno);
#endif
}

void passthrough_backing_close(struct passthrough *pt, int backing_id)
{
	/* The ioctl itself (what fuse_passthrough_close() does too): release
	 * may run when no request is at hand. */
	uint32_t id = (uint32_t)backing_id;

	ioctl(fuse_session_fd(pt->se), IPCFS_FUSE_DEV_IOC_BACKING_CLOSE, &id);
}

int passthrough_reply_open(fuse_req_t req, const struct fuse_file_info *fi,
			   int backing_id)
{
#if PT_OFFICIAL
	struct fuse_file_info f = *fi;

	f.backing_id = backing_id;
	return fuse_reply_open(req, &f);
#else
	struct ipcfs_fuse_open_out out = {
		.fh = fi->fh,
		.open_flags = IPCFS_FOPEN_PASSTHROUGH |
			      (fi->direct_io ? IPCFS_FOPEN_DIRECT_IO : 0),
		.backing_id = backing_id,
	};

	return fuse_reply_buf(req, (const char *)&out, sizeof(out));
#endif
}
