/*
 * fuzz_requests: the requests per opcode, each built from the input (the
 * bytes it reads, in order, are the input format) and sent as the kernel
 * would send it; what a reply hands out (nodeids, open files) is noted for
 * the requests that follow.
 */
#include "requests.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>

void do_lookup(struct input *in, const struct fuzz_caller *c)
{
	uint64_t parent = pick_node(in);
	char name[256];
	size_t n = pick_name(in, name);
	struct pending *p = send_req(FUSE_LOOKUP, parent, c, name, n + 1,
				     NULL, 0, 0, -1);

	if (!p->error)
		node_add(p->nodeid, p->type);
}

void do_mkdir(struct input *in, const struct fuzz_caller *c)
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

void do_name_op(struct input *in, const struct fuzz_caller *c,
		uint32_t opcode)
{
	uint64_t parent = pick_node(in);
	char name[256];
	size_t n = pick_name(in, name);

	send_req(opcode, parent, c, name, n + 1, NULL, 0, 0, -1);
}

void do_getattr(struct input *in, const struct fuzz_caller *c)
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

void do_setattr(struct input *in, const struct fuzz_caller *c)
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

void do_open(struct input *in, const struct fuzz_caller *c, bool dir)
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

void do_read(struct input *in, const struct fuzz_caller *c)
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

void do_write(struct input *in, const struct fuzz_caller *c)
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

void do_readdir(struct input *in, const struct fuzz_caller *c)
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
	pthread_mutex_lock(&pending_lock);
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
	pthread_mutex_unlock(&pending_lock);
	send_req(FUSE_READDIR, opens[slot].nodeid, c, &r, sizeof(r), NULL, 0,
		 r.size, slot);
}

void do_release(int slot, const struct fuzz_caller *c)
{
	struct fuse_release_in r = { .fh = opens[slot].fh,
				     .flags = opens[slot].flags };

	drain_slot(slot, c);
	send_req(opens[slot].dir ? FUSE_RELEASEDIR : FUSE_RELEASE,
		 opens[slot].nodeid, c, &r, sizeof(r), NULL, 0, 0, -1);
	opens[slot].used = false;
}

void do_poll(struct input *in, const struct fuzz_caller *c)
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
void forget(struct known *n, uint64_t count, const struct fuzz_caller *c)
{
	struct fuse_forget_in f = { .nlookup = count };

	send_req(FUSE_FORGET, n->nodeid, c, &f, sizeof(f), NULL, 0, 0, -1);
	n->nlookup -= count;
	if (!n->nlookup)
		*n = nodes[--nnodes];
}

void do_forget(struct input *in, const struct fuzz_caller *c)
{
	struct known *n;

	if (!nnodes)
		return;
	n = &nodes[in_u8(in) % nnodes];
	if (node_open(n->nodeid))
		return;
	forget(n, 1 + in_u8(in) % n->nlookup, c);
}

void do_batch_forget(struct input *in, const struct fuzz_caller *c)
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

void do_other(struct input *in, const struct fuzz_caller *c)
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
