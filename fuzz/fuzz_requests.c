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
 */
#include "fuzz.h"
#include "ipcfs.h"
#include "blocking.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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

static uint8_t in_u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t in_bytes(struct input *in, unsigned n)
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
	 * lock (lseek(2) can make any other, see the top). */
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

static struct open_slot opens[MAX_OPENS];
/* Replies being written: an input ends only once none is (a waiter thread
 * between its reply and its free would look like a leak to the check
 * libFuzzer makes after each input). */
static atomic_int writing;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t replied_cv = PTHREAD_COND_INITIALIZER;
static struct pending pend[MAX_PENDING]; /* under lock */
static size_t npend;

static struct known nodes[MAX_NODES];
static size_t nnodes;
static uint64_t next_unique = 2; /* even: the kernel's interrupts are odd */

static struct fuse_session *se;
static struct ipcfs fs;
static int object_ids[4]; /* of reset_objects(), for names in by-id/ */
static bool trace; /* IPCFS_FUZZ_TRACE=1: each request on stderr */

static struct pending *find_pending(uint64_t unique)
{
	size_t i;

	for (i = 0; i < npend; i++)
		if (pend[i].unique == unique)
			return &pend[i];
	return NULL;
}

static bool valid_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

static void check_attr(const struct pending *p, const struct fuse_attr *a)
{
	CHECK(valid_type(a->mode), "op %u: mode 0%o", p->opcode, a->mode);
	CHECK(a->size <= (uint64_t)LLONG_MAX, "op %u: size %llu", p->opcode,
	      (unsigned long long)a->size);
}

/* A READDIR payload, as parse_dirfile() in the kernel's fs/fuse/readdir.c
 * reads it: whole entries, then maybe the start of one that did not fit
 * (ignored: the next READDIR starts at the last whole entry's off). */
static void check_dirents(const struct pending *p, const char *b, size_t n)
{
	struct open_slot *o = &opens[p->slot];
	size_t at = 0;

	CHECK(n <= p->size, "READDIR: %zu bytes for %u", n, p->size);
	while (n - at >= FUSE_NAME_OFFSET) {
		struct fuse_dirent d;
		size_t rec;

		memcpy(&d, b + at, FUSE_NAME_OFFSET);
		rec = FUSE_DIRENT_SIZE(&d);
		CHECK(d.namelen > 0 && d.namelen <= 255, "READDIR: name "
		      "length %u at %zu of %zu", d.namelen, at, n);
		if (rec > n - at)
			break;
		CHECK(!memchr(b + at + FUSE_NAME_OFFSET, '/', d.namelen) &&
		      !memchr(b + at + FUSE_NAME_OFFSET, '\0', d.namelen),
		      "READDIR: '/' or NUL in the name at %zu", at);
		if (o->noffsets < MAX_OFFSETS)
			o->offsets[o->noffsets++] = d.off;
		at += rec;
	}
	/* The kernel asks for at least a page: one entry always fits. */
	CHECK(at > 0 || n == 0, "READDIR: %zu bytes and no whole entry", n);
}

/* Checks a successful reply's payload and notes what it hands out. */
static void check_payload(struct pending *p, const char *b, size_t n)
{
	switch (p->opcode) {
	case FUSE_INIT: {
		struct fuse_init_out o;

		CHECK(n >= 24 && n <= sizeof(o), "INIT: %zu bytes", n);
		memset(&o, 0, sizeof(o));
		memcpy(&o, b, n);
		CHECK(!(o.flags & (FUSE_WRITEBACK_CACHE | FUSE_DO_READDIRPLUS)),
		      "INIT: flags 0x%x", o.flags);
		break;
	}
	case FUSE_LOOKUP:
	case FUSE_MKDIR: {
		struct fuse_entry_out e;

		CHECK(n == sizeof(e), "op %u: %zu bytes", p->opcode, n);
		memcpy(&e, b, n);
		check_attr(p, &e.attr);
		CHECK(e.nodeid != 0 && e.nodeid != FUSE_ROOT_ID,
		      "op %u: nodeid %llu", p->opcode,
		      (unsigned long long)e.nodeid);
		CHECK(p->opcode != FUSE_MKDIR || S_ISDIR(e.attr.mode),
		      "MKDIR: mode 0%o", e.attr.mode);
		p->nodeid = e.nodeid;
		p->type = e.attr.mode & S_IFMT;
		break;
	}
	case FUSE_GETATTR:
	case FUSE_SETATTR: {
		struct fuse_attr_out a;

		CHECK(n == sizeof(a), "op %u: %zu bytes", p->opcode, n);
		memcpy(&a, b, n);
		check_attr(p, &a.attr);
		p->type = a.attr.mode & S_IFMT;
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_out o;

		CHECK(n == sizeof(o), "op %u: %zu bytes", p->opcode, n);
		memcpy(&o, b, n);
		p->fh = o.fh;
		p->open_flags = o.open_flags;
		break;
	}
	case FUSE_READ:
		CHECK(n <= p->size, "READ: %zu bytes for %u", n, p->size);
		break;
	case FUSE_READDIR:
		check_dirents(p, b, n);
		break;
	case FUSE_WRITE: {
		struct fuse_write_out w;

		CHECK(n == sizeof(w), "WRITE: %zu bytes", n);
		memcpy(&w, b, n);
		CHECK(w.size <= p->size, "WRITE: %u written of %u", w.size,
		      p->size);
		break;
	}
	case FUSE_POLL:
		CHECK(n == sizeof(struct fuse_poll_out), "POLL: %zu bytes", n);
		break;
	case FUSE_STATFS:
		CHECK(n == sizeof(struct fuse_statfs_out), "STATFS: %zu bytes",
		      n);
		break;
	default:
		CHECK(n == 0, "op %u: %zu bytes of payload", p->opcode, n);
		break;
	}
}

/* Opcodes that are never answered. */
static bool no_reply(uint32_t opcode)
{
	return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET ||
	       opcode == FUSE_INTERRUPT;
}

static ssize_t check_reply(struct iovec *iov, int count)
{
	struct fuse_out_header oh;
	struct pending *p;
	size_t total = 0, at = 0;
	char *b;
	int i;

	for (i = 0; i < count; i++)
		total += iov[i].iov_len;
	b = malloc(total ? total : 1);
	CHECK(b, "out of memory");
	for (i = 0; i < count; i++) {
		memcpy(b + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	CHECK(total >= sizeof(oh), "reply of %zu bytes", total);
	memcpy(&oh, b, sizeof(oh));
	CHECK(oh.len == total, "reply length %u, %zu written", oh.len, total);
	if (oh.unique == 0) { /* a notification: the poll wake-up only */
		CHECK(oh.error == FUSE_NOTIFY_POLL &&
		      total == sizeof(oh) +
				sizeof(struct fuse_notify_poll_wakeup_out),
		      "notification %d of %zu bytes", oh.error, total);
		free(b);
		return (ssize_t)total;
	}
	pthread_mutex_lock(&lock);
	if ((oh.unique & 1) && oh.error == -EAGAIN) {
		/* libfuse's answer to an interrupt that found nothing (the
		 * request was answered meanwhile), sent with the next request,
		 * maybe in the next input. */
		pthread_mutex_unlock(&lock);
		free(b);
		return (ssize_t)total;
	}
	p = find_pending(oh.unique);
	CHECK(p, "reply to unique %llu, never asked",
	      (unsigned long long)oh.unique);
	CHECK(!p->replied, "second reply to unique %llu (op %u)",
	      (unsigned long long)oh.unique, p->opcode);
	CHECK(oh.error <= 0 && oh.error > -512, "op %u: error %d", p->opcode,
	      oh.error);
	CHECK(!no_reply(p->opcode), "op %u answered", p->opcode);
	if (oh.error)
		CHECK(total == sizeof(oh), "op %u: error %d with %zu bytes",
		      p->opcode, oh.error, total);
	else
		check_payload(p, b + sizeof(oh), total - sizeof(oh));
	p->replied = true;
	p->error = oh.error;
	pthread_cond_broadcast(&replied_cv);
	pthread_mutex_unlock(&lock);
	free(b);
	return (ssize_t)total;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
			 void *userdata)
{
	ssize_t n;

	(void)fd, (void)userdata;
	atomic_fetch_add(&writing, 1);
	n = check_reply(iov, count);
	atomic_fetch_sub(&writing, 1);
	return n;
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)fd, (void)buf, (void)len, (void)userdata;
	errno = ENODEV; /* never called: requests go in by process_buf */
	return -1;
}

/* ------------------------------------------------------------------ */
/* Sending requests                                                   */
/* ------------------------------------------------------------------ */

struct fuzz_caller {
	uint32_t uid, gid, pid;
};

/* Sends one request (header made here) and returns its pending entry. */
static struct pending *send_req(uint32_t opcode, uint64_t nodeid,
				const struct fuzz_caller *c, const void *arg,
				size_t arglen, const void *arg2, size_t len2,
				uint32_t size, int slot)
{
	struct fuse_in_header h = {
		.opcode = opcode, .nodeid = nodeid, .uid = c->uid,
		.gid = c->gid, .pid = c->pid,
	};
	struct fuse_buf fb = { 0 };
	struct pending *p;
	char *b;

	h.len = (uint32_t)(sizeof(h) + arglen + len2);
	h.unique = next_unique;
	next_unique += 2;
	pthread_mutex_lock(&lock);
	CHECK(npend < MAX_PENDING, "too many requests");
	p = &pend[npend++];
	*p = (struct pending){ .unique = h.unique, .opcode = opcode,
			       .size = size, .slot = slot };
	pthread_mutex_unlock(&lock);
	b = malloc(h.len);
	CHECK(b, "out of memory");
	memcpy(b, &h, sizeof(h));
	if (arglen)
		memcpy(b + sizeof(h), arg, arglen);
	if (len2)
		memcpy(b + sizeof(h) + arglen, arg2, len2);
	fb.mem = b;
	fb.size = h.len;
	fuse_session_process_buf(se, &fb);
	free(b);
	pthread_mutex_lock(&lock);
	if (trace)
		fprintf(stderr, "op %u node %llx uid %u size %u: %s %d\n",
			opcode, (unsigned long long)nodeid, c->uid, size,
			p->replied ? "answered" : "pending", p->error);
	CHECK(p->replied || no_reply(opcode) || opcode == FUSE_READ ||
	      opcode == FUSE_WRITE, "op %u on %llu not answered", opcode,
	      (unsigned long long)nodeid);
	pthread_mutex_unlock(&lock);
	return p;
}

/* Interrupts p (if still unanswered) and waits for its reply. */
static void interrupt_and_wait(struct pending *p, const struct fuzz_caller *c)
{
	struct fuse_interrupt_in in = { .unique = p->unique };
	struct fuse_in_header h = { .opcode = FUSE_INTERRUPT, .uid = c->uid,
				    .gid = c->gid, .pid = c->pid };
	struct fuse_buf fb = { 0 };
	char b[sizeof(h) + sizeof(in)];
	struct timespec until;
	bool done;

	pthread_mutex_lock(&lock);
	done = p->replied || no_reply(p->opcode);
	if (!done) {
		/* libfuse answers EAGAIN to an interrupt that finds nothing
		 * (the reply may be on its way): note it as a request. */
		CHECK(npend < MAX_PENDING, "too many requests");
		pend[npend++] = (struct pending){ .unique = p->unique | 1,
						  .opcode = FUSE_INTERRUPT,
						  .slot = -1 };
	}
	pthread_mutex_unlock(&lock);
	if (done)
		return;
	h.len = sizeof(b);
	h.unique = p->unique | 1;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &in, sizeof(in));
	fb.mem = b;
	fb.size = sizeof(b);
	fuse_session_process_buf(se, &fb);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += REPLY_WAIT_S;
	pthread_mutex_lock(&lock);
	while (!p->replied)
		CHECK(pthread_cond_timedwait(&replied_cv, &lock, &until) == 0 ||
		      p->replied, "op %u (unique %llu) unanswered %d s after "
		      "its interrupt", p->opcode,
		      (unsigned long long)p->unique, REPLY_WAIT_S);
	pthread_mutex_unlock(&lock);
}

/* The kernel sends no RELEASE while a request on the file is in flight:
 * ends those first. */
static void drain_slot(int slot, const struct fuzz_caller *c)
{
	size_t i;

	for (i = 0; i < npend; i++)
		if (pend[i].slot == slot && pend[i].opcode != FUSE_INTERRUPT)
			interrupt_and_wait(&pend[i], c);
}

/* ------------------------------------------------------------------ */
/* Nodes and open files                                               */
/* ------------------------------------------------------------------ */

static struct known *node_find(uint64_t nodeid)
{
	size_t i;

	for (i = 0; i < nnodes; i++)
		if (nodes[i].nodeid == nodeid)
			return &nodes[i];
	return NULL;
}

/* Notes a looked-up nodeid; while it is looked up, its type stays. */
static void node_add(uint64_t nodeid, uint32_t type)
{
	struct known *n = node_find(nodeid);

	if (n) {
		CHECK(n->type == type, "nodeid %llx was type 0%o, now 0%o",
		      (unsigned long long)nodeid, n->type, type);
		n->nlookup++;
		return;
	}
	CHECK(nnodes < MAX_NODES, "too many nodes");
	nodes[nnodes++] = (struct known){ nodeid, type, 1 };
}

static bool node_open(uint64_t nodeid)
{
	int i;

	for (i = 0; i < MAX_OPENS; i++)
		if (opens[i].used && opens[i].nodeid == nodeid)
			return true;
	return false;
}

/* A nodeid: one the replies handed out (or the root), or any number. */
static uint64_t pick_node(struct input *in)
{
	uint8_t b = in_u8(in);

	if (b < 0xf0)
		return b % (nnodes + 1) == 0 ? FUSE_ROOT_ID :
					       nodes[b % (nnodes + 1) - 1].nodeid;
	return in_bytes(in, 8);
}

static int pick_open(struct input *in, bool dir)
{
	int i, n = 0, want = in_u8(in);

	for (i = 0; i < MAX_OPENS; i++)
		n += opens[i].used && opens[i].dir == dir;
	if (!n)
		return -1;
	want %= n;
	for (i = 0; i < MAX_OPENS; i++)
		if (opens[i].used && opens[i].dir == dir && want-- == 0)
			return i;
	return -1;
}

/* A name as the kernel sends it: 1..255 bytes, no NUL, no '/', not "."
 * or "..".  Mostly a name the filesystem knows, or the id of one of the
 * objects every input starts with. */
static size_t pick_name(struct input *in, char *name)
{
	static const char *const words[] = {
		"sem", "shm", "mq", "by-id", "type", "value", "op", "data",
		"send", "receive", "mode", "uid", "gid", "max_size", "nsems",
		"id", "key", "last_pid", "waiting_for_zero", "size",
		"current_messages", "0", "1", "2", "3", "-1", "5",
		"1001", "1002", "1003", "1004", "0x3e9", "0x3EA", "+1003",
		"1001:3", "1002:4096", "1005", "1006:2", "1007:8K", "0x3ef:1",
		"0", "2147483647", "-2147483648", "9223372036854775807",
		"limits", "usage", "msgmax", "shmall", "sem_sets",
		"shm_pages", "0x000003e9", "0x000003ea",
		"peek", "messages", "0.type", "1.type", "00", "1.typ",
	};
	uint8_t b = in_u8(in);
	size_t n, i;

	if (b >= 0xb0 && b < 0xc0) {
		snprintf(name, 256, "%d", object_ids[b % 4]);
		return strlen(name);
	}
	if (b < 0xc0) {
		strcpy(name, words[b % (sizeof(words) / sizeof(words[0]))]);
		return strlen(name);
	}
	n = 1 + in_u8(in) % 255;
	for (i = 0; i < n; i++) {
		char c = (char)in_u8(in);

		name[i] = c == '\0' || c == '/' ? 'x' : c;
	}
	name[n] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		name[0] = 'x';
	return n;
}

static void pick_caller(struct input *in, struct fuzz_caller *c)
{
	static const uint32_t ids[] = { 0, 1000, 65534, 1 };
	uint8_t b = in_u8(in);

	c->pid = (uint32_t)getpid();
	if (b < 0xf0) {
		c->uid = ids[b % 4];
		c->gid = ids[(b >> 2) % 4];
		return;
	}
	/* Any id the kernel can map: not (uid_t)-1. */
	c->uid = (uint32_t)in_bytes(in, 4) % UINT32_MAX;
	c->gid = (uint32_t)in_bytes(in, 4) % UINT32_MAX;
	c->pid = (uint32_t)in_bytes(in, 4);
}

/* An offset the kernel can send: 0..LLONG_MAX - size. */
static uint64_t pick_offset(struct input *in, uint32_t size)
{
	uint8_t b = in_u8(in);
	uint64_t v;

	if (b < 0x80)
		return b % 16;
	v = in_bytes(in, 8) & (uint64_t)LLONG_MAX;
	return v > (uint64_t)LLONG_MAX - size ? (uint64_t)LLONG_MAX - size : v;
}

/* ------------------------------------------------------------------ */
/* Ownership: only root, the owner or the creator change it           */
/* ------------------------------------------------------------------ */

#define MAX_OBJECTS 64

struct owner_view {
	enum ipcore_kind kind;
	struct ipcore_entry e;
};

/* The owner, group and mode of every object, for the caller's check. */
static size_t owners(struct owner_view *v)
{
	static const enum ipcore_kind kinds[] = { IPCORE_SEM, IPCORE_SHM,
						  IPCORE_MQ };
	struct ipcore_entry *e;
	size_t n = 0, count, i, k;

	for (k = 0; k < 3; k++) {
		CHECK(ipcore_list(kinds[k], &e, &count) == 0, "cannot list");
		for (i = 0; i < count && n < MAX_OBJECTS; i++)
			v[n++] = (struct owner_view){ kinds[k], e[i] };
		free(e);
	}
	return n;
}

/*
 * After a request of an unprivileged caller: every object it neither owns
 * nor created has the owner, group and mode it had, and still exists
 * (IPC_SET and IPC_RMID are for root, the owner and the creator; the
 * daemon, root itself, must check it: with default_permissions the kernel
 * lets anyone write an owner-only file of an object whose creator is not
 * its owner, see file_mode() in ops.c).
 */
static void check_owners(const struct fuzz_caller *c, uint32_t opcode,
			 const struct owner_view *before, size_t nbefore)
{
	struct owner_view after[MAX_OBJECTS];
	size_t nafter = owners(after), i, j;

	for (i = 0; i < nbefore; i++) {
		const struct ipcore_entry *b = &before[i].e;
		bool mine = c->uid == b->uid || c->uid == b->cuid;

		for (j = 0; j < nafter; j++)
			if (after[j].kind == before[i].kind &&
			    after[j].e.id == b->id)
				break;
		if (mine)
			continue;
		CHECK(j < nafter, "op %u of uid %u removed object %d (kind "
		      "%d) of uid %u, creator %u", opcode, c->uid, b->id,
		      before[i].kind, b->uid, b->cuid);
		CHECK(after[j].e.uid == b->uid && after[j].e.gid == b->gid &&
		      (after[j].e.mode & 0777) == (b->mode & 0777),
		      "op %u of uid %u changed object %d (kind %d): uid %u->%u "
		      "gid %u->%u mode 0%o->0%o (creator %u)", opcode, c->uid,
		      b->id, before[i].kind, b->uid, after[j].e.uid, b->gid,
		      after[j].e.gid, b->mode & 0777, after[j].e.mode & 0777,
		      b->cuid);
	}
}

/* ------------------------------------------------------------------ */
/* The operations                                                     */
/* ------------------------------------------------------------------ */

static void do_lookup(struct input *in, const struct fuzz_caller *c)
{
	uint64_t parent = pick_node(in);
	char name[256];
	size_t n = pick_name(in, name);
	struct pending *p = send_req(FUSE_LOOKUP, parent, c, name, n + 1,
				     NULL, 0, 0, -1);

	if (!p->error)
		node_add(p->nodeid, p->type);
}

static void do_mkdir(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_mkdir_in m = { .mode = (uint32_t)in_bytes(in, 2) & 07777,
				   .umask = 022 };
	uint64_t parent = pick_node(in);
	char name[256];
	size_t n = pick_name(in, name);
	struct pending *p = send_req(FUSE_MKDIR, parent, c, &m, sizeof(m),
				     name, n + 1, 0, -1);

	if (!p->error)
		node_add(p->nodeid, p->type);
}

static void do_name_op(struct input *in, const struct fuzz_caller *c,
		       uint32_t opcode)
{
	uint64_t parent = pick_node(in);
	char name[256];
	size_t n = pick_name(in, name);

	send_req(opcode, parent, c, name, n + 1, NULL, 0, 0, -1);
}

static void do_getattr(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_getattr_in g = { 0 };
	uint64_t nodeid = pick_node(in);
	struct pending *p = send_req(FUSE_GETATTR, nodeid, c, &g, sizeof(g),
				     NULL, 0, 0, -1);
	struct known *n = node_find(nodeid);

	if (!p->error && n)
		CHECK(n->type == p->type, "GETATTR of %llx: type 0%o, was 0%o",
		      (unsigned long long)nodeid, p->type, n->type);
}

static void do_setattr(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_setattr_in s = { 0 };
	uint64_t nodeid = pick_node(in);

	s.valid = (uint32_t)in_bytes(in, 2) &
		  (FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
		   FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW |
		   FATTR_MTIME_NOW | FATTR_CTIME);
	s.mode = (uint32_t)in_bytes(in, 2) & 07777;
	s.uid = (uint32_t)in_bytes(in, 4) % UINT32_MAX;
	s.gid = (uint32_t)in_bytes(in, 4) % UINT32_MAX;
	s.size = in_u8(in) < 0x80 ? in_bytes(in, 2) :
				    in_bytes(in, 8) & (uint64_t)LLONG_MAX;
	send_req(FUSE_SETATTR, nodeid, c, &s, sizeof(s), NULL, 0, 0, -1);
}

static void do_open(struct input *in, const struct fuzz_caller *c, bool dir)
{
	struct fuse_open_in o = { 0 };
	uint64_t nodeid = pick_node(in);
	uint8_t b = in_u8(in);
	struct pending *p;
	int i;

	o.flags = (uint32_t)(b & O_ACCMODE);
	if (b & 0x04)
		o.flags |= O_NONBLOCK;
	if (b & 0x08)
		o.flags |= O_TRUNC;
	if (b & 0x10)
		o.flags |= O_APPEND;
	for (i = 0; i < MAX_OPENS && opens[i].used; i++)
		;
	if (i == MAX_OPENS)
		return;
	p = send_req(dir ? FUSE_OPENDIR : FUSE_OPEN, nodeid, c, &o, sizeof(o),
		     NULL, 0, 0, -1);
	if (p->error)
		return;
	opens[i] = (struct open_slot){ .used = true, .dir = dir,
				       .nodeid = nodeid, .fh = p->fh,
				       .flags = o.flags };
}

/* O_NONBLOCK can change after open (fcntl F_SETFL). */
static uint32_t io_flags(struct input *in, int slot)
{
	uint8_t b = in_u8(in);

	if (b < 0xc0)
		return opens[slot].flags;
	return opens[slot].flags ^ O_NONBLOCK;
}

static void do_read(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_read_in r = { 0 };
	int slot = pick_open(in, false);

	if (slot < 0)
		return;
	r.fh = opens[slot].fh;
	r.size = in_u8(in) < 0x80 ? in_u8(in) : (uint32_t)in_bytes(in, 3) %
							(MAX_READ + 1);
	r.offset = pick_offset(in, r.size);
	r.flags = io_flags(in, slot);
	send_req(FUSE_READ, opens[slot].nodeid, c, &r, sizeof(r), NULL, 0,
		 r.size, slot);
}

static void do_write(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_write_in w = { 0 };
	uint8_t data[MAX_WRITE];
	int slot = pick_open(in, false);
	uint32_t i;

	if (slot < 0)
		return;
	w.fh = opens[slot].fh;
	w.size = in_u8(in) < 0xe0 ? in_u8(in) % 16 :
				    (uint32_t)in_bytes(in, 2) % (MAX_WRITE + 1);
	for (i = 0; i < w.size; i++)
		data[i] = in_u8(in);
	w.offset = pick_offset(in, w.size);
	w.flags = io_flags(in, slot);
	send_req(FUSE_WRITE, opens[slot].nodeid, c, &w, sizeof(w), data,
		 w.size, w.size, slot);
}

static void do_readdir(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_read_in r = { 0 };
	int slot = pick_open(in, true);
	uint8_t b;

	if (slot < 0)
		return;
	r.fh = opens[slot].fh;
	/* The kernel's buffer: a page up to max_pages (128 KiB here). */
	r.size = in_u8(in) < 0x80 ? 4096 :
		4096 + (uint32_t)in_bytes(in, 3) % (MAX_READ - 4096 + 1);
	b = in_u8(in);
	pthread_mutex_lock(&lock);
	if (b < 0x80)
		r.offset = 0;
	else if (b < 0xe0 && opens[slot].noffsets)
		r.offset = opens[slot].offsets[b % opens[slot].noffsets];
	else if (b & 1)
		r.offset = in_bytes(in, 8) & (uint64_t)LLONG_MAX;
	else
		r.offset = (uint64_t)LLONG_MAX; /* far past the end */
	/* Offset 0 builds the listing anew: the old offsets are gone
	 * (as telldir() values are after rewinddir()). */
	if (r.offset == 0)
		opens[slot].noffsets = 0;
	pthread_mutex_unlock(&lock);
	send_req(FUSE_READDIR, opens[slot].nodeid, c, &r, sizeof(r), NULL, 0,
		 r.size, slot);
}

static void do_release(int slot, const struct fuzz_caller *c)
{
	struct fuse_release_in r = { .fh = opens[slot].fh,
				     .flags = opens[slot].flags };

	drain_slot(slot, c);
	send_req(opens[slot].dir ? FUSE_RELEASEDIR : FUSE_RELEASE,
		 opens[slot].nodeid, c, &r, sizeof(r), NULL, 0, 0, -1);
	opens[slot].used = false;
}

static void do_poll(struct input *in, const struct fuzz_caller *c)
{
	struct fuse_poll_in p = { 0 };
	int slot = pick_open(in, false);
	uint8_t b = in_u8(in);

	if (slot < 0)
		return;
	p.fh = opens[slot].fh;
	p.kh = b;
	p.flags = b & 1 ? FUSE_POLL_SCHEDULE_NOTIFY : 0;
	p.events = POLLIN | POLLRDNORM;
	send_req(FUSE_POLL, opens[slot].nodeid, c, &p, sizeof(p), NULL, 0, 0,
		 slot);
}

/* FORGET as the kernel sends it: of a nodeid it has, with no open file,
 * at most the lookups it got. */
static void forget(struct known *n, uint64_t count, const struct fuzz_caller *c)
{
	struct fuse_forget_in f = { .nlookup = count };

	send_req(FUSE_FORGET, n->nodeid, c, &f, sizeof(f), NULL, 0, 0, -1);
	n->nlookup -= count;
	if (!n->nlookup)
		*n = nodes[--nnodes];
}

static void do_forget(struct input *in, const struct fuzz_caller *c)
{
	struct known *n;

	if (!nnodes)
		return;
	n = &nodes[in_u8(in) % nnodes];
	if (node_open(n->nodeid))
		return;
	forget(n, 1 + in_u8(in) % n->nlookup, c);
}

static void do_batch_forget(struct input *in, const struct fuzz_caller *c)
{
	struct {
		struct fuse_batch_forget_in h;
		struct fuse_forget_one one[4];
	} b = { 0 };
	unsigned k = 1 + in_u8(in) % 4, i;

	for (i = 0; i < k && nnodes; i++) {
		struct known *n = &nodes[in_u8(in) % nnodes];

		if (node_open(n->nodeid))
			break;
		b.one[i].nodeid = n->nodeid;
		b.one[i].nlookup = n->nlookup;
		*n = nodes[--nnodes];
	}
	b.h.count = i;
	send_req(FUSE_BATCH_FORGET, 0, c, &b,
		 sizeof(b.h) + i * sizeof(b.one[0]), NULL, 0, 0, -1);
}

static void do_other(struct input *in, const struct fuzz_caller *c)
{
	uint64_t nodeid = pick_node(in);

	switch (in_u8(in) % 6) {
	case 0:
		send_req(FUSE_STATFS, nodeid, c, NULL, 0, NULL, 0, 0, -1);
		break;
	case 1: {
		struct fuse_access_in a = { .mask = in_u8(in) & 7 };

		send_req(FUSE_ACCESS, nodeid, c, &a, sizeof(a), NULL, 0, 0,
			 -1);
		break;
	}
	case 2: {
		struct fuse_mknod_in m = { .mode = S_IFREG | 0644 };
		char name[256];
		size_t n = pick_name(in, name);

		send_req(FUSE_MKNOD, nodeid, c, &m, sizeof(m), name, n + 1, 0,
			 -1);
		break;
	}
	case 3: {
		struct fuse_create_in cr = { .flags = O_WRONLY,
					     .mode = S_IFREG | 0644 };
		char name[256];
		size_t n = pick_name(in, name);

		send_req(FUSE_CREATE, nodeid, c, &cr, sizeof(cr), name, n + 1,
			 0, -1);
		break;
	}
	case 4: {
		struct fuse_rename_in r = { .newdir = pick_node(in) };
		char names[2 * 256];
		size_t n = pick_name(in, names);

		n += 1 + pick_name(in, names + n + 1);
		send_req(FUSE_RENAME, nodeid, c, &r, sizeof(r), names, n + 1,
			 0, -1);
		break;
	}
	default: {
		struct fuse_link_in l = { .oldnodeid = pick_node(in) };
		char name[256];
		size_t n = pick_name(in, name);

		send_req(FUSE_LINK, nodeid, c, &l, sizeof(l), name, n + 1, 0,
			 -1);
		break;
	}
	}
}

/* ------------------------------------------------------------------ */
/* The objects, and the session                                       */
/* ------------------------------------------------------------------ */

static void remove_all(void)
{
	static const enum ipcore_kind kinds[] = { IPCORE_SEM, IPCORE_SHM,
						  IPCORE_MQ };
	struct ipcore_entry *e;
	size_t n, i, k;

	for (k = 0; k < 3; k++) {
		CHECK(ipcore_list(kinds[k], &e, &n) == 0, "cannot list");
		for (i = 0; i < n; i++)
			ipcore_remove(kinds[k], e[i].id);
		free(e);
	}
}

static void reset_objects(void)
{
	struct {
		long type;
		char text[8];
	} m;
	unsigned short vals[3] = { 0, 1, 5 };
	struct semid_ds ds;
	long types[3] = { 1, 2, 5 };
	int sem, shm, mq, priv, i;
	void *at;

	remove_all();
	sem = semget(KEY_SEM, 3, IPC_CREAT | 0666);
	CHECK(sem >= 0 && semctl(sem, 0, SETALL, vals) == 0, "semget: %s",
	      strerror(errno));
	shm = shmget(KEY_SHM, 4096, IPC_CREAT | 0666);
	at = shm >= 0 ? shmat(shm, NULL, 0) : (void *)-1;
	CHECK(at != (void *)-1, "shm: %s", strerror(errno));
	memcpy(at, "segment bytes\n", 14);
	shmdt(at);
	mq = msgget(KEY_MQ, IPC_CREAT | 0666);
	CHECK(mq >= 0, "msgget: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		m.type = types[i];
		memcpy(m.text, "message", 8);
		CHECK(msgsnd(mq, &m, 8, IPC_NOWAIT) == 0, "msgsnd: %s",
		      strerror(errno));
	}
	priv = semget(KEY_SEM_PRIVATE, 1, IPC_CREAT | 0600);
	CHECK(priv >= 0 && semctl(priv, 0, IPC_STAT, &ds) == 0, "semget");
	ds.sem_perm.uid = 1000;
	ds.sem_perm.gid = 1000;
	CHECK(semctl(priv, 0, IPC_SET, &ds) == 0, "IPC_SET");
	object_ids[0] = sem;
	object_ids[1] = shm;
	object_ids[2] = mq;
	object_ids[3] = priv;
}

/* Writes a sysctl of this IPC namespace. */
static void set_limit(const char *path, const char *value)
{
	FILE *f = fopen(path, "we");

	CHECK(f && fputs(value, f) >= 0 && fclose(f) == 0, "%s", path);
}

static void check_private_namespace(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/ipc", &self) == 0 &&
	    stat("/proc/1/ns/ipc", &init) == 0 && self.st_ino == init.st_ino) {
		fprintf(stderr, "fuzz_requests removes every IPC object: run "
			"it in a private IPC namespace (unshare --ipc, as "
			"scripts/fuzz does)\n");
		exit(2);
	}
}

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
	se = fuse_session_new(&args, &ipcfs_ops, sizeof(ipcfs_ops), &fs);
	CHECK(se, "fuse_session_new");
	fuse_opt_free_args(&args);
	CHECK(shm_data_new(se, SHM_DATA_FALLBACK, &fs.shm_data) == 0,
	      "shm_data_new");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "/dev/null");
#if FUSE_USE_VERSION >= FUSE_MAKE_VERSION(3, 17)
	rc = fuse_session_custom_io(se, &io, sizeof(io), fd);
#else
	rc = fuse_session_custom_io(se, &io, fd);
#endif
	CHECK(rc == 0, "custom io: %d", rc);
	rc = blocking_start(&fs.blocking, se, NULL);
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
	while (atomic_load(&writing))
		sched_yield();
	pthread_mutex_lock(&lock);
	npend = 0;
	pthread_mutex_unlock(&lock);
	return 0;
}
