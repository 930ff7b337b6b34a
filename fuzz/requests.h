/*
 * What the files of fuzz_requests share (private to that target; the top
 * of fuzz_requests.c says what it does and checks):
 *
 *   fuzz_requests.c     the libFuzzer entry points: the session set up as
 *                       main() does, one input run as a request script,
 *                       its end as the kernel would make it
 *   requests_session.c  sending requests through the session, the custom
 *                       I/O that catches the replies, interrupts
 *   requests_replies.c  the checks of every reply
 *   requests_input.c    the input decoder: nodeids, open files, names,
 *                       callers, offsets picked by the fuzz bytes
 *   requests_ops.c      the requests per opcode, built from the input
 *   requests_objects.c  the IPC objects every input starts with, and the
 *                       check that only root, owner or creator change one
 */
#ifndef IPCFS_FUZZ_REQUESTS_H
#define IPCFS_FUZZ_REQUESTS_H

#include "fuzz.h"
#include "ipcore.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/uio.h>

#define MAX_REQUESTS 48  /* per input */
#define MAX_PENDING 256  /* requests and interrupts per input */
#define MAX_NODES 64
#define MAX_OPENS 16
#define MAX_OFFSETS 32
#define MAX_READ (128 * 1024)
#define MAX_WRITE 4096
#define REPLY_WAIT_S 5

/* Keys of the objects every input starts with. */
#define KEY_SEM 1001
#define KEY_SHM 1002
#define KEY_MQ 1003
#define KEY_SEM_PRIVATE 1004

/* ------------------------------------------------------------------ */
/* The input                                                          */
/* ------------------------------------------------------------------ */

struct input {
	const uint8_t *p;
	size_t left;
};

/* The next byte, 0 once the input is used up. */
static inline uint8_t in_u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/* The next n bytes (n <= 8), big-endian. */
static inline uint64_t in_bytes(struct input *in, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = v << 8 | in_u8(in);
	return v;
}

/* ------------------------------------------------------------------ */
/* What the replies handed out, and the requests waiting for one      */
/* ------------------------------------------------------------------ */

struct known {
	uint64_t nodeid;
	uint32_t type; /* S_IFMT bits of its attributes */
	uint64_t nlookup;
};

struct open_slot {
	bool used, dir;
	uint64_t nodeid, fh;
	uint32_t flags;
	/* Directories: the d_off values its listings handed out, under
	 * pending_lock (lseek(2) can make any other, see the top of
	 * fuzz_requests.c). */
	uint64_t offsets[MAX_OFFSETS];
	size_t noffsets;
};

struct pending {
	uint64_t unique;
	uint32_t opcode;
	uint32_t size;   /* READ/READDIR/WRITE: the size asked */
	int slot;        /* READ/WRITE/POLL: the open file, or -1 */
	bool replied;
	int32_t error;
	/* From the payload, for the harness. */
	uint64_t nodeid, fh;
	uint32_t type, open_flags;
};

struct fuzz_caller {
	uint32_t uid, gid, pid;
};

/* The open files (requests_ops.c opens and releases them). */
extern struct open_slot opens[MAX_OPENS];
/* The nodeids the replies handed out and not yet forgotten. */
extern struct known nodes[MAX_NODES];
extern size_t nnodes;

/* The requests of this input, answered or not, and the interrupts sent,
 * under pending_lock as are the directories' offsets in opens (a request
 * that waits is answered from another thread). */
extern pthread_mutex_t pending_lock;
extern pthread_cond_t replied_cv;
extern struct pending pend[MAX_PENDING];
extern size_t npend;
/* Replies being written: an input ends only once none is (a waiter thread
 * between its reply and its free would look like a leak to the check
 * libFuzzer makes after each input). */
extern atomic_int writing_replies;

/* The session (fuzz_requests.c sets it up). */
extern struct fuse_session *session;
extern bool trace; /* IPCFS_FUZZ_TRACE=1: each request on stderr */

/* Opcodes that are never answered. */
static inline bool no_reply(uint32_t opcode)
{
	return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET ||
	       opcode == FUSE_INTERRUPT;
}

/* requests_session.c */
struct pending *send_req(uint32_t opcode, uint64_t nodeid,
			 const struct fuzz_caller *c, const void *arg,
			 size_t arglen, const void *arg2, size_t len2,
			 uint32_t size, int slot);
void interrupt_and_wait(struct pending *p, const struct fuzz_caller *c);
void drain_slot(int slot, const struct fuzz_caller *c);
ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata);
ssize_t io_read(int fd, void *buf, size_t len, void *userdata);

/* requests_replies.c */
ssize_t check_reply(struct iovec *iov, int count);

/* requests_input.c */
struct known *node_find(uint64_t nodeid);
void node_add(uint64_t nodeid, uint32_t type);
bool node_open(uint64_t nodeid);
uint64_t pick_node(struct input *in);
int pick_open(struct input *in, bool dir);
size_t pick_name(struct input *in, char *name);
void pick_caller(struct input *in, struct fuzz_caller *c);
uint64_t pick_offset(struct input *in, uint32_t size);

/* requests_ops.c */
void do_lookup(struct input *in, const struct fuzz_caller *c);
void do_mkdir(struct input *in, const struct fuzz_caller *c);
void do_name_op(struct input *in, const struct fuzz_caller *c,
		uint32_t opcode);
void do_getattr(struct input *in, const struct fuzz_caller *c);
void do_setattr(struct input *in, const struct fuzz_caller *c);
void do_open(struct input *in, const struct fuzz_caller *c, bool dir);
void do_read(struct input *in, const struct fuzz_caller *c);
void do_write(struct input *in, const struct fuzz_caller *c);
void do_readdir(struct input *in, const struct fuzz_caller *c);
void do_release(int slot, const struct fuzz_caller *c);
void do_poll(struct input *in, const struct fuzz_caller *c);
void forget(struct known *n, uint64_t count, const struct fuzz_caller *c);
void do_forget(struct input *in, const struct fuzz_caller *c);
void do_batch_forget(struct input *in, const struct fuzz_caller *c);
void do_other(struct input *in, const struct fuzz_caller *c);

/* requests_objects.c */
#define MAX_OBJECTS 64

struct owner_view {
	enum ipcore_kind kind;
	struct ipcore_entry e;
};

extern int object_ids[4]; /* of reset_objects(), for names in by-id/ */
void reset_objects(void);
size_t owners(struct owner_view *v);
void check_owners(const struct fuzz_caller *c, uint32_t opcode,
		  const struct owner_view *before, size_t nbefore);
void set_limit(const char *path, const char *value);
void check_private_namespace(void);

#endif /* IPCFS_FUZZ_REQUESTS_H */
