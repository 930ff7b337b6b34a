/*
 * options — see options.h.  Errors go through fuse_log() (stderr unless a
 * log function is installed: the fuzz target silences them).
 */
#include "options.h"
#include "ipcfs.h"
#include "names.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What fuse_opt_parse() fills in. */
struct raw_options {
	char *data;     /* -o data=auto|passthrough|fallback */
	char *shm_size; /* -o shm_size=N[KMG] */
	char *max_waiters, *max_waiters_per_user; /* -o ...=N (blocking.h) */
	char *max_files_per_user; /* -o max_files_per_user=N (ipcfs.h) */
	char *keys;  /* -o keys=dec|hex */
	char *ipcns; /* -o ipcns=PATH: handed over to the options */
	const char *positional[2];
	int npositional;
	bool too_many;
	bool has_fsname, has_subtype;
};

enum {
	KEY_FSTAB, /* words fstab and mount(8) pass that mean nothing here */
};

#define OPT(t, p) { t, offsetof(struct raw_options, p), 1 }

static const struct fuse_opt option_spec[] = {
	OPT("data=%s", data),
	OPT("shm_size=%s", shm_size),
	OPT("max_waiters=%s", max_waiters),
	OPT("max_waiters_per_user=%s", max_waiters_per_user),
	OPT("max_files_per_user=%s", max_files_per_user),
	OPT("keys=%s", keys),
	OPT("ipcns=%s", ipcns),
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
	struct raw_options *o = data;

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
	if (!names_parse_size(s, &v) || v > SIZE_MAX)
		return false;
	*size = (size_t)v;
	return true;
}

/* A count for -o max_waiters*= and max_files_per_user=: 1 .. 2^20, or
 * false. */
static bool parse_count(const char *s, unsigned int *n)
{
	unsigned long v;
	char *end;

	if (!s)
		return true;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > 1UL << 20)
		return false;
	*n = (unsigned int)v;
	return true;
}

/* Everything but the checks of ours that -h and -V skip. */
static enum options_result parse(char *argv[], struct raw_options *r,
				 struct ipcfs_options *o)
{
	int mode;

	/* Ours, then the mount point, then libfuse's. */
	if (fuse_opt_parse(&o->args, r, option_spec, option_proc))
		return OPTIONS_ERROR;
	if (r->too_many) {
		fuse_log(FUSE_LOG_ERR, "%s: too many arguments (see -h)\n",
			 argv[0]);
		return OPTIONS_ERROR;
	}
	if (r->npositional &&
	    fuse_opt_add_arg(&o->args, r->positional[r->npositional - 1]))
		return OPTIONS_ERROR;
	if ((!r->has_subtype &&
	     fuse_opt_insert_arg(&o->args, 1, "-osubtype=ipcfs")) ||
	    (!r->has_fsname &&
	     fuse_opt_insert_arg(&o->args, 1, "-ofsname=ipcfs")))
		return OPTIONS_ERROR;
	if (fuse_parse_cmdline(&o->args, &o->cmdline))
		return OPTIONS_ERROR;
	if (o->cmdline.show_help)
		return OPTIONS_HELP;
	if (o->cmdline.show_version)
		return OPTIONS_VERSION;
	if (!o->cmdline.mountpoint) {
		fuse_log(FUSE_LOG_ERR, "usage: %s [options] MOUNTPOINT "
			 "(see -h)\n", argv[0]);
		return OPTIONS_ERROR;
	}
	mode = parse_data_mode(r->data);
	if (mode < 0) {
		fuse_log(FUSE_LOG_ERR, "%s: -o data= takes auto, passthrough "
			 "or fallback, not '%s'\n", argv[0], r->data);
		return OPTIONS_ERROR;
	}
	o->data_mode = (enum shm_data_mode)mode;
	o->shm_size = (size_t)sysconf(_SC_PAGESIZE);
	if (!parse_shm_size(r->shm_size, &o->shm_size)) {
		fuse_log(FUSE_LOG_ERR, "%s: -o shm_size= takes a size in bytes "
			 "(suffix K, M or G), not '%s'\n", argv[0],
			 r->shm_size);
		return OPTIONS_ERROR;
	}
	o->max_files_per_user = IPCFS_MAX_FILES_PER_USER;
	if (!parse_count(r->max_waiters, &o->limits.max_waiters) ||
	    !parse_count(r->max_waiters_per_user, &o->limits.max_per_user) ||
	    !parse_count(r->max_files_per_user, &o->max_files_per_user)) {
		fuse_log(FUSE_LOG_ERR, "%s: -o max_waiters=, "
			 "-o max_waiters_per_user= and -o max_files_per_user= "
			 "take a number from 1 to 1048576\n", argv[0]);
		return OPTIONS_ERROR;
	}
	if (!r->keys || !strcmp(r->keys, "dec")) {
		o->keys = KEYS_DEC;
	} else if (!strcmp(r->keys, "hex")) {
		o->keys = KEYS_HEX;
	} else {
		fuse_log(FUSE_LOG_ERR, "%s: -o keys= takes dec or hex, not "
			 "'%s'\n", argv[0], r->keys);
		return OPTIONS_ERROR;
	}
	if (r->ipcns && !*r->ipcns) {
		fuse_log(FUSE_LOG_ERR, "%s: -o ipcns= takes the path of an IPC "
			 "namespace, e.g. /proc/<pid>/ns/ipc\n", argv[0]);
		return OPTIONS_ERROR;
	}
	o->ipcns = r->ipcns;
	r->ipcns = NULL;
	return OPTIONS_MOUNT;
}

enum options_result options_parse(int argc, char *argv[],
				  struct ipcfs_options *o)
{
	struct raw_options r = { 0 };
	enum options_result rc;

	memset(o, 0, sizeof(*o));
	o->args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	rc = parse(argv, &r, o);
	/* (The positional words point into argv: nothing to free.) */
	free(r.data);
	free(r.shm_size);
	free(r.max_waiters);
	free(r.max_waiters_per_user);
	free(r.max_files_per_user);
	free(r.keys);
	free(r.ipcns);
	return rc;
}

void options_free(struct ipcfs_options *o)
{
	free(o->cmdline.mountpoint);
	o->cmdline.mountpoint = NULL;
	free(o->ipcns);
	o->ipcns = NULL;
	fuse_opt_free_args(&o->args);
}
