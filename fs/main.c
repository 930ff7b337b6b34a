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
#include "quota.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct options {
	char *data;     /* -o data=auto|passthrough|fallback */
	char *shm_size; /* -o shm_size=N[KMG] */
	const char *positional[2];
	int npositional;
	bool too_many;
	bool has_fsname, has_subtype;
};

enum {
	KEY_FSTAB, /* words fstab and mount(8) pass that mean nothing here */
};

#define OPT(t, p) { t, offsetof(struct options, p), 1 }

static const struct fuse_opt option_spec[] = {
	OPT("data=%s", data),
	OPT("shm_size=%s", shm_size),
	FUSE_OPT_KEY("auto", KEY_FSTAB),
	FUSE_OPT_KEY("noauto", KEY_FSTAB),
	FUSE_OPT_KEY("user", KEY_FSTAB),
	FUSE_OPT_KEY("nouser", KEY_FSTAB),
	FUSE_OPT_KEY("users", KEY_FSTAB),
	FUSE_OPT_KEY("owner", KEY_FSTAB),
	FUSE_OPT_KEY("group", KEY_FSTAB),
	FUSE_OPT_KEY("_netdev", KEY_FSTAB),
	FUSE_OPT_KEY("nofail", KEY_FSTAB),
	FUSE_OPT_KEY("defaults", KEY_FSTAB),
	/* The daemon checks every call as the kernel would (access.h); the
	 * kernel's file-mode checks would refuse what ipcperms() allows. */
	FUSE_OPT_KEY("default_permissions", KEY_FSTAB),
	FUSE_OPT_END
};

static int option_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct options *o = data;

	(void)outargs;
	switch (key) {
	case KEY_FSTAB:
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (o->npositional == 2)
			o->too_many = true;
		else
			o->positional[o->npositional++] = arg;
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.automount and the like, comment=...: for other
		 * programs reading fstab. */
		if (!strncmp(arg, "x-", 2) || !strncmp(arg, "comment=", 8))
			return 0;
		if (!strncmp(arg, "fsname=", 7))
			o->has_fsname = true;
		if (!strncmp(arg, "subtype=", 8))
			o->has_subtype = true;
		return 1;
	default:
		return 1;
	}
}

static void usage(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n"
	       "\n"
	       "Shows the System V IPC objects of the IPC namespace it runs in\n"
	       "as files: sem/<key>/, shm/<key>/, mq/<key>/ (see ipcfs(1)).\n"
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
	       "\n", prog);
}

/* The -o data= word, or -1. */
static int parse_data_mode(const char *s)
{
	if (!s || !strcmp(s, "auto"))
		return SHM_DATA_AUTO;
	if (!strcmp(s, "passthrough"))
		return SHM_DATA_PASSTHROUGH;
	if (!strcmp(s, "fallback"))
		return SHM_DATA_FALLBACK;
	return -1;
}

static bool parse_shm_size(const char *s, size_t *size)
{
	unsigned long long v;

	if (!s)
		return true;
	if (!parse_size(s, &v) || v > SIZE_MAX)
		return false;
	*size = (size_t)v;
	return true;
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
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct options o = { 0 };
	struct ipcfs fs = { 0 };
	struct fuse_session *se;
	int mode, rc, ret = 1;

	/* 1. Options: ours, then the mount point, then libfuse's. */
	if (fuse_opt_parse(&args, &o, option_spec, option_proc))
		goto out_args;
	if (o.too_many) {
		fprintf(stderr, "%s: too many arguments (see -h)\n", argv[0]);
		goto out_args;
	}
	if (o.npositional &&
	    fuse_opt_add_arg(&args, o.positional[o.npositional - 1]))
		goto out_args;
	if ((!o.has_subtype && fuse_opt_insert_arg(&args, 1, "-osubtype=ipcfs")) ||
	    (!o.has_fsname && fuse_opt_insert_arg(&args, 1, "-ofsname=ipcfs")))
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts))
		goto out_args;
	if (opts.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		printf("ipcfs version %s\n", IPCFS_VERSION);
		fflush(stdout);
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "usage: %s [options] MOUNTPOINT (see -h)\n",
			argv[0]);
		goto out_opts;
	}
	mode = parse_data_mode(o.data);
	if (mode < 0) {
		fprintf(stderr, "%s: -o data= takes auto, passthrough or "
			"fallback, not '%s'\n", argv[0], o.data);
		goto out_opts;
	}
	fs.shm_size = (size_t)sysconf(_SC_PAGESIZE);
	if (!parse_shm_size(o.shm_size, &fs.shm_size)) {
		fprintf(stderr, "%s: -o shm_size= takes a size in bytes "
			"(suffix K, M or G), not '%s'\n", argv[0], o.shm_size);
		goto out_opts;
	}
	fs.daemon_uid = geteuid();
	fs.daemon_gid = getegid();
	fs.started = time(NULL);
	fs.userns = access_daemon_userns();

	if (quota_new(&fs.open_quota, IPCFS_MAX_FILES_PER_USER))
		goto out_opts;

	/* 2. The session (libfuse's own -o options are checked here). */
	se = fuse_session_new(&args, &ipcfs_ops, sizeof(ipcfs_ops), &fs);
	if (!se)
		goto out_opts;
	if (fuse_set_signal_handlers(se))
		goto out_session;

	/* 3. The mount, with passthrough negotiated by shm_data. */
	rc = shm_data_mount(se, opts.mountpoint, (enum shm_data_mode)mode,
			    &fs.shm_data);
	if (rc) {
		fprintf(stderr, "%s: cannot mount on %s: %s\n", argv[0],
			opts.mountpoint, strerror(-rc));
		goto out_signals;
	}

	/* 4. Into the background (a fork: no thread may exist yet). */
	if (fuse_daemonize(opts.foreground))
		goto out_mount;

	/* 5. The waiters for the calls that block. */
	rc = blocking_start(&fs.blocking, se);
	if (rc) {
		fuse_log(FUSE_LOG_ERR, "%s: cannot start: %s\n", argv[0],
			 strerror(-rc));
		goto out_mount;
	}

	/* 6. Serve until unmounted or signalled (rc > 0: the signal, a
	 * normal end). */
	rc = run_loop(se, &opts);
	ret = rc < 0 || shm_data_error(fs.shm_data) ? 1 : 0;

	blocking_stop(fs.blocking);
	ipcfs_files_clear();
out_mount:
	fuse_session_unmount(se);
	shm_data_destroy(fs.shm_data);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	inode_tables_clear();
out_opts:
	quota_free(fs.open_quota);
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(o.data);
	free(o.shm_size);
	return ret;
}
