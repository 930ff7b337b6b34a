/*
 * options — ipcfs's command line: its own -o options (data=, shm_size=,
 * max_waiters=, max_waiters_per_user=, max_files_per_user=, keys=,
 * ipcns=),
 * the fstab words it ignores, SOURCE and MOUNTPOINT, then libfuse's
 * command-line options.  Parsing mounts nothing and starts nothing, so the
 * fuzz target (fuzz/fuzz_options.c) runs exactly what main() runs.
 */
#ifndef IPCFS_OPTIONS_H
#define IPCFS_OPTIONS_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <stddef.h>

#include "blocking.h"
#include "ipcfs.h"
#include "shm_data.h"

struct ipcfs_options {
	/* What is left for fuse_session_new(), with fsname/subtype added
	 * and default_permissions taken out (access.h). */
	struct fuse_args args;
	/* libfuse's: mountpoint (never NULL for OPTIONS_MOUNT), foreground,
	 * threads, clone_fd... */
	struct fuse_cmdline_opts cmdline;
	enum shm_data_mode data_mode; /* -o data= */
	size_t shm_size;              /* -o shm_size=, else the page size */
	struct blocking_limits limits; /* -o max_waiters*= (0: default) */
	unsigned int max_files_per_user; /* -o max_files_per_user= */
	enum key_names keys;          /* -o keys=dec|hex */
	char *ipcns; /* -o ipcns=PATH (malloc'd), or NULL: the daemon's own */
};

enum options_result {
	OPTIONS_ERROR = -1, /* a message was logged (fuse_log) */
	OPTIONS_MOUNT = 0,  /* all checked: go on and mount */
	OPTIONS_HELP = 1,   /* -h: print the help, exit 0 */
	OPTIONS_VERSION = 2 /* -V: print the version, exit 0 */
};

/* Parses argv into o.  Whatever it returns, options_free(o) after. */
enum options_result options_parse(int argc, char *argv[],
				  struct ipcfs_options *o);
void options_free(struct ipcfs_options *o);

#endif /* IPCFS_OPTIONS_H */
