/*
 * The command line (options_parse, as main() runs it, then
 * fuse_session_new(), which checks libfuse's own -o options, and nothing
 * mounted).  The input is split at NUL bytes into argv[1..] (at most 16
 * words; argv[0] is "ipcfs").  Must never crash or leak, whatever it
 * returns; what it accepts must be whole: a mount point that is an
 * absolute path, a data mode of the three, a positive shm_size.
 */
#include "fuzz.h"
#include "ipcfs.h"
#include "options.h"

#define MAX_WORDS 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuse_set_log_func(fuzz_quiet_log);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_cstring(data, size), *argv[MAX_WORDS + 2];
	char prog[] = "ipcfs";
	struct ipcfs_options o;
	struct ipcfs fs = { 0 };
	struct fuse_session *se;
	size_t i = 0;
	int argc = 1;
	enum options_result rc;

	argv[0] = prog;
	/* Words end at NUL bytes; the copy has one more at the end. */
	while (i < size && argc <= MAX_WORDS) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	rc = options_parse(argc, argv, &o);
	CHECK(rc >= OPTIONS_ERROR && rc <= OPTIONS_VERSION, "result %d", rc);
	if (rc == OPTIONS_MOUNT) {
		CHECK(o.cmdline.mountpoint && o.cmdline.mountpoint[0] == '/',
		      "mount point '%s'", o.cmdline.mountpoint ?
		      o.cmdline.mountpoint : "(null)");
		CHECK(o.data_mode == SHM_DATA_AUTO ||
		      o.data_mode == SHM_DATA_PASSTHROUGH ||
		      o.data_mode == SHM_DATA_FALLBACK, "mode %d",
		      o.data_mode);
		CHECK(o.shm_size > 0, "shm_size 0");
		CHECK(o.args.argc >= 1 && o.args.argv[o.args.argc] == NULL,
		      "args");
		fs.shm_size = o.shm_size;
		se = fuse_session_new(&o.args, &ipcfs_ops, sizeof(ipcfs_ops),
				      &fs);
		if (se)
			fuse_session_destroy(se);
	}
	options_free(&o);
	free(copy);
	return 0;
}
