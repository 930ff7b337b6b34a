/* ipcns — see ipcns.h. */
#include "ipcns.h"
#include "fuse_version.h"
#include <fuse_log.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

/* The threads of the process, or -1 if /proc cannot say. */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int ipcns_enter(const char *prog, const char *path)
{
	int fd, rc = 0, threads = thread_count();

	/* A thread that already exists would stay behind (ipcns.h). */
	if (threads > 1) {
		fuse_log(FUSE_LOG_ERR, "%s: -o ipcns=: the daemon already has "
			 "%d threads\n", prog, threads);
		return -EBUSY;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fuse_log(FUSE_LOG_ERR, "%s: -o ipcns=%s: %s\n", prog, path,
			 strerror(-rc));
		return rc;
	}
	if (setns(fd, CLONE_NEWIPC)) {
		rc = -errno;
		if (rc == -EINVAL)
			fuse_log(FUSE_LOG_ERR, "%s: -o ipcns=%s: not an IPC "
				 "namespace (give /proc/<pid>/ns/ipc, or a bind "
				 "mount of one)\n", prog, path);
		else if (rc == -EPERM)
			fuse_log(FUSE_LOG_ERR, "%s: -o ipcns=%s: may not enter "
				 "it (needs CAP_SYS_ADMIN, in the user namespace "
				 "that owns it too)\n", prog, path);
		else
			fuse_log(FUSE_LOG_ERR, "%s: -o ipcns=%s: %s\n", prog,
				 path, strerror(-rc));
	}
	close(fd);
	return rc;
}
