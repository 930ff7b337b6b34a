/*
 * fuzz_requests: the input decoder.  The fuzz bytes pick what a caller
 * chooses (names, offsets, ids) and what the kernel holds (nodeids the
 * replies handed out, open files); the request encoders in requests_ops.c
 * read the rest.  The format is the corpus's: changing what a byte means
 * changes what every saved input and reproducer does.
 */
#include "requests.h"

#include <limits.h>
#include <unistd.h>

struct open_slot opens[MAX_OPENS];
struct known nodes[MAX_NODES];
size_t nnodes;

/* ------------------------------------------------------------------ */
/* Nodes and open files                                               */
/* ------------------------------------------------------------------ */

struct known *node_find(uint64_t nodeid)
{
	size_t i;

	for (i = 0; i < nnodes; i++)
		if (nodes[i].nodeid == nodeid)
			return &nodes[i];
	return NULL;
}

/* Notes a looked-up nodeid; while it is looked up, its type stays. */
void node_add(uint64_t nodeid, uint32_t type)
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

bool node_open(uint64_t nodeid)
{
	int i;

	for (i = 0; i < MAX_OPENS; i++)
		if (opens[i].used && opens[i].nodeid == nodeid)
			return true;
	return false;
}

/* A nodeid: one the replies handed out (or the root), or any number. */
uint64_t pick_node(struct input *in)
{
	uint8_t b = in_u8(in);

	if (b < 0xf0)
		return b % (nnodes + 1) == 0 ? FUSE_ROOT_ID :
					       nodes[b % (nnodes + 1) - 1].nodeid;
	return in_bytes(in, 8);
}

int pick_open(struct input *in, bool dir)
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
size_t pick_name(struct input *in, char *name)
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

void pick_caller(struct input *in, struct fuzz_caller *c)
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
uint64_t pick_offset(struct input *in, uint32_t size)
{
	uint8_t b = in_u8(in);
	uint64_t v;

	if (b < 0x80)
		return b % 16;
	v = in_bytes(in, 8) & (uint64_t)LLONG_MAX;
	return v > (uint64_t)LLONG_MAX - size ? (uint64_t)LLONG_MAX - size : v;
}
