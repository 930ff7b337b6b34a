/*
 * The filesystem's request handling: a libfuse session with the real
 * ipcfs_ops and a struct ipcfs as main() builds it (shm_data from
 * shm_data_new() in fallback mode, blocking_start()), fed with FUSE
 * requests built from the input through fuse_session_process_buf(), and
 * its replies caught by a custom writev.  No mount: requests are made here
 * as the kernel makes them, so the framing is trusted (lengths, nodeids
 * and file handles the kernel holds) while what callers choose is not:
 * names, offsets, sizes, flags, modes, uids, write payloads.
 *
 * Every input starts from the same objects (reset_objects: a set of 3
 * semaphores, a 4 KiB segment, a queue holding 3 messages, a 0600 set owned
 * by uid 1000) in a private IPC namespace (scripts/fuzz runs it under
 * unshare --ipc; it refuses to run in the namespace of pid 1, since it
 * removes every object).  It ends as the kernel would: pending requests
 * are interrupted, open files released, lookups forgotten.
 *
 * Checked on every reply: it answers a request that was made and not yet
 * answered (never one of FORGET and the like); its error is a negative
 * errno the kernel takes (> -512); an error carries no payload; a payload
 * has the size of its operation's reply (READ and READDIR no more than
 * asked); entries and attributes have a valid file type and size, a
 * directory for MKDIR, the type a nodeid had before while it is looked up,
 * never nodeid 0 or the root's; READDIR replies are whole dirents with
 * names of 1..255 bytes without '/' or NUL; every request but READ and
 * WRITE (which may wait) is answered before process_buf returns, and every
 * waiting one within 5 s of its interrupt.  The INIT reply keeps the
 * writeback cache and readdirplus off.  After every request of a caller
 * other than root, the objects it neither owns nor created keep their
 * owner, group and mode and still exist (check_owners).
 *
 * READDIR offsets are 0, one a reply handed out, or any non-negative
 * number (lseek(2) on a directory allows any).  IPCFS_FUZZ_TRACE=1 prints
 * each request and how it was answered (to read a reproducer).
 * IPCFS_FUZZ_KEYS=hex: the mount's -o keys=hex.
 *
 * The input is a script of up to MAX_REQUESTS requests, each a caller
 * (pick_caller), an opcode byte, then the bytes its encoder reads
 * (requests_ops.c, with the pickers of requests_input.c).  What each file
 * of this target holds: requests.h.
 */
#include "requests.h"
#include "ipcfs.h"
#include "blocking.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

struct fuse_session *session;
bool trace;
static struct ipcfs fs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct fuse_custom_io io = { .read = io_read,
						  .writev = io_writev };
	char prog[] = "fuzz_requests", *args_v[] = { prog, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, args_v);
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION, .minor = 38,
		.max_readahead = 128 * 1024,
		.flags = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS |
			 FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
			 FUSE_DONT_MASK | FUSE_AUTO_INVAL_DATA |
			 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |
			 FUSE_ASYNC_DIO | FUSE_WRITEBACK_CACHE |
			 FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES,
	};
	struct fuzz_caller root = { 0, 0, (uint32_t)getpid() };
	struct pending *p;
	const char *e = getenv("IPCFS_FUZZ_TRACE");
	int fd, rc;

	(void)argc, (void)argv;
	check_private_namespace();
	trace = e && !strcmp(e, "1");
	fuse_set_log_func(fuzz_quiet_log);
	/* Segments of up to 1 MiB, 64 MiB in all: mkdir shm/<k>:<size> then
	 * an O_TRUNC open would zero-fill whatever the kernel allows. */
	set_limit("/proc/sys/kernel/shmmax", "1048576");
	set_limit("/proc/sys/kernel/shmall", "16384");

	CHECK(ipcfs_state_init(&fs, (size_t)sysconf(_SC_PAGESIZE),
			       IPCFS_MAX_FILES_PER_USER) == 0, "state");
	e = getenv("IPCFS_FUZZ_KEYS");
	fs.keys = e && !strcmp(e, "hex") ? KEYS_HEX : KEYS_DEC;
	session = fuse_session_new(&args, &ipcfs_ops, sizeof(ipcfs_ops), &fs);
	CHECK(session, "fuse_session_new");
	fuse_opt_free_args(&args);
	CHECK(shm_data_new(session, SHM_DATA_FALLBACK, &fs.shm_data) == 0,
	      "shm_data_new");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "/dev/null");
#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 17)
	rc = fuse_session_custom_io(session, &io, sizeof(io), fd);
#else
	rc = fuse_session_custom_io(session, &io, fd);
#endif
	CHECK(rc == 0, "custom io: %d", rc);
	rc = blocking_start(&fs.blocking, session, NULL);
	CHECK(rc == 0, "blocking_start: %d", rc);
	p = send_req(FUSE_INIT, 0, &root, &init, sizeof(init), NULL, 0, 0, -1);
	CHECK(p->replied && p->error == 0, "INIT: %d", p->error);
	npend = 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct fuzz_caller c, root = { 0, 0, (uint32_t)getpid() };
	struct owner_view before[MAX_OBJECTS];
	size_t i, nbefore;
	unsigned sel;
	bool watch;
	int n = 0;

	reset_objects();
	while (in.left && n++ < MAX_REQUESTS) {
		pick_caller(&in, &c);
		/* Only SETATTR, RMDIR and WRITE (to mode, uid, gid) can
		 * change an owner: the others are not watched (the
		 * listing costs). */
		sel = in.left ? in.p[0] % 16 : 0;
		watch = c.uid && (sel == 4 || sel == 6 || sel == 10);
		nbefore = watch ? owners(before) : 0;
		switch (in_u8(&in) % 16) {
		case 0: case 1: case 2:
			do_lookup(&in, &c);
			break;
		case 3:
			do_getattr(&in, &c);
			break;
		case 4:
			do_setattr(&in, &c);
			break;
		case 5:
			do_mkdir(&in, &c);
			break;
		case 6:
			do_name_op(&in, &c, in_u8(&in) & 1 ? FUSE_RMDIR :
							     FUSE_UNLINK);
			break;
		case 7:
			do_open(&in, &c, false);
			break;
		case 8:
			do_open(&in, &c, true);
			break;
		case 9:
			do_read(&in, &c);
			break;
		case 10:
			do_write(&in, &c);
			break;
		case 11:
			do_readdir(&in, &c);
			break;
		case 12: {
			int slot = pick_open(&in, in_u8(&in) & 1);

			if (slot >= 0)
				do_release(slot, &c);
			break;
		}
		case 13:
			if (in_u8(&in) & 1)
				do_forget(&in, &c);
			else
				do_batch_forget(&in, &c);
			break;
		case 14:
			do_poll(&in, &c);
			break;
		default:
			do_other(&in, &c);
			break;
		}
		if (watch && npend)
			check_owners(&c, pend[npend - 1].opcode, before,
				     nbefore);
	}
	/* The end, as the kernel would make it: what waits is interrupted,
	 * files are released, lookups forgotten. */
	for (i = 0; i < npend; i++)
		if (pend[i].opcode != FUSE_INTERRUPT)
			interrupt_and_wait(&pend[i], &root);
	for (i = 0; i < MAX_OPENS; i++)
		if (opens[i].used)
			do_release((int)i, &root);
	while (nnodes)
		forget(&nodes[0], nodes[0].nlookup, &root);
	while (atomic_load(&writing_replies))
		sched_yield();
	pthread_mutex_lock(&pending_lock);
	npend = 0;
	pthread_mutex_unlock(&pending_lock);
	return 0;
}
