/*
 * ipcfs — System V IPC objects as files.  Command line and setup.
 *
 *   ipcfs [options] [SOURCE] MOUNTPOINT
 *
 * SOURCE is what mount(8) and fstab put first (mount.fuse3 runs
 * "ipcfs SOURCE MOUNTPOINT -o ..."); it is ignored.
 */
#include "config.h"
#include "ipcfs.h"
#include "blocking.h"
#include "dev_io.h"
#include "ipcns.h"
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n"
	       "\n"
	       "Shows the System V IPC objects of the IPC namespace it runs in\n"
	       "(or of the one -o ipcns= names) as files: sem/<key>/, shm/<key>/,\n"
	       "mq/<key>/, and limits/ and usage/ (see ipcfs(1)).\n"
	       "Every call is checked as the system calls would check it; use\n"
	       "-o allow_other to let other users in.\n"
	       "\n"
	       "ipcfs options:\n"
	       "    -o data=auto           shm data files: passthrough when the kernel\n"
	       "                           and privileges allow it, else the fallback\n"
	       "    -o data=passthrough    passthrough or refuse to mount\n"
	       "    -o data=fallback       never passthrough: read and write reach the\n"
	       "                           segment at once, mmap MAP_SHARED is refused\n"
	       "                           (ENODEV); see ipcfs(1)\n"
	       "    -o shm_size=N[K|M|G]   size of a segment made by mkdir shm/<key>\n"
	       "                           (default: the page size); mkdir\n"
	       "                           shm/<key>:<size> chooses it per segment\n"
	       "    -o max_waiters_per_user=N\n"
	       "                           calls of one user that may wait at once\n"
	       "                           (default %u; then EAGAIN)\n"
	       "    -o max_waiters=N       waiting calls of all users (default %u),\n"
	       "                           plus %u more for each user waiting\n"
	       "    -o max_files_per_user=N\n"
	       "                           attribute, send and receive files one user\n"
	       "                           may have open at once (default %u; ENFILE)\n"
	       "    -o keys=dec            name objects in <kind>/ by their key in\n"
	       "                           decimal (the default)\n"
	       "    -o keys=hex            ... in hex as ipcs prints it: 0x0000abcd\n"
	       "    -o ipcns=PATH          serve the IPC namespace PATH names (e.g.\n"
	       "                           /proc/<pid>/ns/ipc), not the daemon's own\n"
	       "\n", prog, BLOCKING_MAX_WAITERS_PER_USER, BLOCKING_MAX_WAITERS,
	       BLOCKING_RESERVED_WAITERS, IPCFS_MAX_FILES_PER_USER);
}

static void cannot_mount(const char *prog, const char *mountpoint, int rc)
{
	fuse_log(FUSE_LOG_ERR, "%s: cannot mount on %s: %s\n", prog,
		 mountpoint, strerror(-rc));
}

static int run_loop(struct fuse_session *se,
		    const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *cfg;
	int rc;

	if (opts->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)opts->clone_fd);
	fuse_loop_cfg_set_max_threads(cfg, opts->max_threads);
	if (opts->max_idle_threads != UINT_MAX) /* UINT_MAX: not given */
		fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads);
	rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

int main(int argc, char *argv[])
{
	struct ipcfs_options o;
	struct ipcfs fs = { 0 };
	struct fuse_session *se;
	int rc, ret = 1;

	/* 1. Options (options.c): ours, then the mount point, then
	 * libfuse's. */
	switch (options_parse(argc, argv, &o)) {
	case OPTIONS_MOUNT:
		break;
	case OPTIONS_HELP:
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_opts;
	case OPTIONS_VERSION:
		printf("ipcfs version %s\n", IPCFS_VERSION);
		fflush(stdout);
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	case OPTIONS_ERROR:
		goto out_opts;
	}

	/* 2. Into the IPC namespace served, before any thread exists and
	 * before anything is asked of the kernel's IPC (ipcns.h); the state
	 * then judges capabilities against its owner (access.h). */
	if (o.ipcns && ipcns_enter(argv[0], o.ipcns))
		goto out_opts;

	/* 3. The state (ipcfs.h), which the session's .destroy frees. */
	rc = ipcfs_state_init(&fs, o.shm_size, o.max_files_per_user);
	fs.keys = o.keys;
	if (rc)
		goto out_state;

	/* 4. The session (libfuse's own -o options are checked here). */
	se = fuse_session_new(&o.args, &ipcfs_ops, sizeof(ipcfs_ops), &fs);
	if (!se)
		goto out_state;
	if (fuse_set_signal_handlers(se))
		goto out_session;

	/* 5. The mount: the data files' state, with passthrough as -o data=
	 * asks for it (shm_data.h, passthrough.h); the mount; the session's
	 * own I/O on its descriptor (dev_io.h), which also lets libfuse 3.14
	 * negotiate passthrough.  The state's free (step 3) frees shm_data. */
	rc = shm_data_new(se, o.data_mode, &fs.shm_data);
	if (rc) {
		cannot_mount(argv[0], o.cmdline.mountpoint, rc);
		goto out_signals;
	}
	errno = 0;
	if (fuse_session_mount(se, o.cmdline.mountpoint)) {
		cannot_mount(argv[0], o.cmdline.mountpoint,
			     errno ? -errno : -EIO);
		goto out_signals;
	}
	rc = dev_io_new(se, shm_data_io_filter(fs.shm_data), &fs.dev_io);
	if (rc) {
		cannot_mount(argv[0], o.cmdline.mountpoint, rc);
		goto out_unmount;
	}

	/* 6. Into the background (a fork: no thread may exist yet). */
	if (fuse_daemonize(o.cmdline.foreground))
		goto out_unmount;

	/* 7. The waiters for the calls that block. */
	rc = blocking_start(&fs.blocking, se, &o.limits);
	if (rc) {
		fuse_log(FUSE_LOG_ERR, "%s: cannot start: %s\n", argv[0],
			 strerror(-rc));
		goto out_unmount;
	}

	/* 8. Serve until unmounted or signalled (rc > 0: the signal, a
	 * normal end). */
	rc = run_loop(se, &o.cmdline);
	ret = rc < 0 || shm_data_error(fs.shm_data) ? 1 : 0;

	/* 9. The calls still waiting end while the mount stands: their
	 * callers get EINTR, not a connection torn down under them. */
	blocking_stop(fs.blocking);
	fs.blocking = NULL;

out_unmount:
	fuse_session_unmount(se);
	/* Not in .destroy: a FUSE_DESTROY request runs it while other workers
	 * may still be reading through this I/O. */
	dev_io_free(fs.dev_io);
	fs.dev_io = NULL;
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se); /* .destroy frees the state (ops.c) */
out_state:
	ipcfs_state_free(&fs); /* if the session never got INIT: no .destroy */
out_opts:
	options_free(&o);
	return ret;
}
