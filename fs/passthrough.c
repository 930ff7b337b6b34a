/* passthrough — see passthrough.h. */
#include "passthrough.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel ABI (protocol 7.40), for <linux/fuse.h> older than that
 * (Debian 12's is 7.38). */
#ifndef FUSE_DEV_IOC_BACKING_CLOSE
#define FUSE_DEV_IOC_BACKING_CLOSE _IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)
#endif

/* True if this process has CAP_SYS_ADMIN, which the kernel requires of the
 * daemon for every backing file. */
static bool capable_of_backing_files(void)
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

int passthrough_setup(struct passthrough *pt, struct fuse_session *se,
		      bool want, bool required)
{
	pt->se = se;
	pt->ask = want && capable_of_backing_files();
	pt->required = required;
	atomic_init(&pt->granted, false);
	atomic_init(&pt->error, 0);
#if IPCFS_COMPAT314
	compat314_setup(&pt->compat);
#endif
	if (required && !pt->ask) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough needs "
			 "CAP_SYS_ADMIN\n");
		return -EPERM;
	}
	return 0;
}

const struct dev_io_filter *passthrough_io_filter(struct passthrough *pt)
{
#if IPCFS_COMPAT314
	return pt->ask ? &pt->compat.filter : NULL;
#else
	(void)pt;
	return NULL;
#endif
}

void passthrough_init(struct passthrough *pt, struct fuse_conn_info *conn)
{
	bool offered;

	if (!pt->ask)
		return;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
#if IPCFS_COMPAT314
	/* The request was read (compat314's filter saw it); its reply is
	 * written after this callback returns. */
	offered = compat314_offered(&pt->compat);
	if (offered)
		compat314_answer(&pt->compat, COMPAT314_GRANT);
	else if (pt->required)
		compat314_answer(&pt->compat, COMPAT314_REFUSE);
#else
	offered = conn->capable & FUSE_CAP_PASSTHROUGH;
	if (offered)
		conn->want |= FUSE_CAP_PASSTHROUGH;
#endif
	if (offered) {
		atomic_store(&pt->granted, true);
	} else if (pt->required) {
		fuse_log(FUSE_LOG_ERR, "ipcfs: data=passthrough: the kernel "
			 "does not offer FUSE passthrough; refusing to mount\n");
		atomic_store(&pt->error, -EOPNOTSUPP);
		fuse_session_exit(pt->se);
	}
}

int passthrough_backing_open(struct passthrough *pt, fuse_req_t req, int fd)
{
#if IPCFS_COMPAT314
	(void)req;
	return compat314_backing_open(fuse_session_fd(pt->se), fd);
#else
	int id;

	(void)pt;
	/* It returns 0 on failure, not -errno: the ioctl's errno is left
	 * (after a message of its own); errno = 0 keeps a stale one out. */
	errno = 0;
	id = fuse_passthrough_open(req, fd);
	return id > 0 ? id : (errno ? -errno : -EPERM);
#endif
}

void passthrough_backing_close(struct passthrough *pt, int backing_id)
{
	/* The ioctl itself (what fuse_passthrough_close() does too): release
	 * may run when no request is at hand. */
	uint32_t id = (uint32_t)backing_id;

	ioctl(fuse_session_fd(pt->se), FUSE_DEV_IOC_BACKING_CLOSE, &id);
}

int passthrough_reply_open(fuse_req_t req, const struct fuse_file_info *fi,
			   int backing_id)
{
#if IPCFS_COMPAT314
	return compat314_reply_open(req, fi, backing_id);
#else
	struct fuse_file_info f = *fi;

	f.backing_id = backing_id;
	return fuse_reply_open(req, &f);
#endif
}
