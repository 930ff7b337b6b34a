/*
 * Directory listings: each READDIR lists afresh from its offset, a cursor
 * (see listing.h for the cursors and what they promise).
 */
#include "listing.h"
#include "names.h"
#include "sysinfo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* The cursor of the object in slot 0 of <kind>/ and by-id/. */
#define OBJ_CURSOR 3u

/* A reply is at most this big whatever size the kernel offers (it offers a
 * page): the rest of the listing comes with the next READDIR. */
#define REPLY_MAX 65536u

/* The reply being filled. */
struct reply {
	fuse_req_t req;
	char *buf;
	size_t size, len;
};

/* One entry of a listing. */
struct entry {
	const char *name;
	char num[32]; /* name, when it is a number (or "<i>.type") */
	struct ino_parts p;
	bool dir;
};

/* Adds e, whose successor is at cursor next; false when it does not fit:
 * the reply is then full (the kernel needs whole entries). */
static bool emit(struct reply *r, const struct entry *e, uint64_t next)
{
	struct stat st = { .st_ino = ino_make(&e->p),
			   .st_mode = e->dir ? S_IFDIR : S_IFREG };
	size_t need = fuse_add_direntry(r->req, r->buf + r->len,
					r->size - r->len, e->name, &st,
					(off_t)next);

	if (need > r->size - r->len)
		return false;
	r->len += need;
	return true;
}

/* The elements of a set that have a directory, as lookup has them:
 * semop(2) numbers them with an unsigned short, and so does the inode
 * number's param field. */
static unsigned elements(const struct obj *o)
{
	return o->u.sem.nsems < 65536 ? o->u.sem.nsems : 65536;
}

static struct ino_parts parent_of(const struct ino_parts *p)
{
	switch (p->node) {
	case NODE_BYID:
		return (struct ino_parts){ .node = NODE_KIND, .kind = p->kind };
	case NODE_OBJ:
		return (struct ino_parts){
			.node = p->via == VIA_BYID ? NODE_BYID : NODE_KIND,
			.kind = p->kind };
	case NODE_ELEM:
	case NODE_TYPES:
	case NODE_MSGS:
		return (struct ino_parts){ .node = NODE_OBJ, .kind = p->kind,
					   .via = p->via, .id = p->id };
	case NODE_TYPE:
		return (struct ino_parts){ .node = NODE_TYPES, .kind = p->kind,
					   .via = p->via, .id = p->id };
	default: /* the kind directories, limits/ and usage/ */
		return (struct ino_parts){ .node = NODE_ROOT };
	}
}

/* The k-th file of the kind's table that appears in where (the send file
 * of a type directory only for a type > 0); false past the last. */
static bool file_entry(const struct listing_dir *d, unsigned where,
		       uint64_t k, struct entry *e)
{
	size_t count, i;
	const struct file_def *t = file_table(d->p.kind, &count);

	for (i = 0; i < count; i++) {
		if (!(t[i].where & where) ||
		    (where == IN_TYPE && t[i].role == ROLE_SEND &&
		     d->type <= 0))
			continue;
		if (k--)
			continue;
		e->name = t[i].name;
		e->p = (struct ino_parts){
			.node = NODE_FILE, .kind = d->p.kind, .id = d->p.id,
			.file = (unsigned)i,
			.param = where == IN_OBJ ? 0 : d->p.param };
		e->dir = false;
		return true;
	}
	return false;
}

/* The number of files of the kind's table that appear in where. */
static uint64_t file_count(const struct listing_dir *d, unsigned where)
{
	struct entry e;
	uint64_t n = 0;

	while (file_entry(d, where, n, &e))
		n++;
	return n;
}

/*
 * Entry k (from 0, after "." and "..") of mq/<key>/messages/: 2i is "<i>",
 * 2i + 1 "<i>.type", for the messages the queue holds now (d->o is fresh):
 * any cursor gives a real entry or the end.
 */
static bool message_entry(const struct listing_dir *d, uint64_t k,
			  struct entry *e)
{
	uint64_t i = k / 2;
	size_t count, f;
	const struct file_def *t = file_table(IPCORE_MQ, &count);
	enum file_role role = k % 2 ? ROLE_MSG_TYPE : ROLE_MSG;

	if (i >= d->o->u.mq.qnum)
		return false;
	for (f = 0; f < count && t[f].role != role; f++)
		;
	snprintf(e->num, sizeof(e->num), k % 2 ? "%llu.type" : "%llu",
		 (unsigned long long)i);
	e->name = e->num;
	e->p = (struct ino_parts){ .node = NODE_FILE, .kind = IPCORE_MQ,
				   .id = d->p.id, .file = (unsigned)f,
				   .param = ino_type_tag((long)i) };
	e->dir = false;
	return true;
}

/*
 * Fills e with the entry at cursor k of a directory whose entries are
 * fixed: all but the objects of <kind>/ and by-id/.  False when there is
 * none at k: past the end, or the place of by-id/ in by-id/ itself.
 */
static bool fixed_entry(const struct listing_dir *d, uint64_t k,
			struct entry *e)
{
	unsigned where = 0;
	uint64_t n;

	e->dir = true;
	if (k == 0) {
		e->name = ".";
		e->p = d->p;
		return true;
	}
	if (k == 1) {
		e->name = "..";
		e->p = parent_of(&d->p);
		return true;
	}
	k -= 2;
	switch (d->p.node) {
	case NODE_ROOT:
		if (k >= 3) { /* then limits/ and usage/ */
			if (k - 3 >= INFO_DIRS)
				return false;
			e->name = info_dir_name((unsigned)(k - 3));
			e->p = (struct ino_parts){ .node = NODE_INFO,
						   .param = (unsigned)(k - 3) };
			return true;
		}
		e->name = ipcore_kind_name((enum ipcore_kind)k);
		e->p = (struct ino_parts){ .node = NODE_KIND,
					   .kind = (enum ipcore_kind)k };
		return true;
	case NODE_KIND:
		if (k != 0)
			return false;
		e->name = "by-id";
		e->p = (struct ino_parts){ .node = NODE_BYID,
					   .kind = d->p.kind };
		return true;
	case NODE_OBJ:
		where = IN_OBJ;
		break;
	case NODE_ELEM:
		where = IN_ELEM;
		break;
	case NODE_TYPE:
		where = IN_TYPE;
		break;
	case NODE_INFO:
		e->name = info_file_name(d->p.param, k < UINT_MAX ? (unsigned)k :
								  UINT_MAX);
		e->p = (struct ino_parts){ .node = NODE_INFO_FILE,
					   .param = d->p.param,
					   .file = (unsigned)k };
		e->dir = false;
		return e->name != NULL;
	case NODE_MSGS:
		return message_entry(d, k, e);
	default: /* by-id/ lists only objects; type/ lists no type */
		return false;
	}
	if (file_entry(d, where, k, e))
		return true;
	if (d->p.node != NODE_OBJ)
		return false;
	k -= file_count(d, where);
	if (d->p.kind == IPCORE_SEM && d->o->u.sem.nsems > 1) {
		n = elements(d->o);
		if (k < n) {
			snprintf(e->num, sizeof(e->num), "%u", (unsigned)k);
			e->name = e->num;
			e->p = d->p;
			e->p.node = NODE_ELEM;
			e->p.param = (unsigned)k;
			return true;
		}
		k -= n;
	}
	if (d->p.kind == IPCORE_MQ && k == 0) {
		e->name = "type";
		e->p = d->p;
		e->p.node = NODE_TYPES;
		return true;
	}
	if (d->p.kind == IPCORE_MQ && k == 1) {
		e->name = "messages";
		e->p = d->p;
		e->p.node = NODE_MSGS;
		return true;
	}
	return false;
}

/*
 * Adds the objects of <kind>/ or by-id/ from cursor pos on, until the reply
 * is full or the last slot in use.  Each call reads the kernel's table
 * afresh, one system call per slot from the cursor, and allocates nothing.
 * Returns 0 or -errno.
 */
static int list_objects(struct reply *r, const struct listing_dir *d,
			uint64_t pos)
{
	bool by_key = d->p.node == NODE_KIND;
	struct ipcore_entry o;
	struct entry e = {
		.name = e.num,
		.p = { .node = NODE_OBJ, .kind = d->p.kind,
		       .via = by_key ? VIA_KEY : VIA_BYID },
		.dir = true,
	};
	long long slot, last;
	int rc;

	if (pos - OBJ_CURSOR > INT_MAX)
		return 0; /* beyond any slot */
	last = ipcore_list_last_slot(d->p.kind);
	if (last < 0)
		return (int)last;
	for (slot = (long long)(pos - OBJ_CURSOR); slot <= last; slot++) {
		rc = ipcore_list_slot(d->p.kind, (int)slot, &o);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		/* IPC_PRIVATE objects have no name but their id. */
		if (by_key && o.key == IPC_PRIVATE)
			continue;
		if (by_key) /* as lookups name it VIA_KEY (names.h) */
			names_format_key(o.key, ipcfs_of(r->req)->keys, e.num,
					 sizeof(e.num));
		else
			snprintf(e.num, sizeof(e.num), "%d", o.id);
		e.p.id = o.id;
		if (!emit(r, &e, OBJ_CURSOR + (uint64_t)slot + 1))
			break;
	}
	return 0;
}

void listing_readdir(fuse_req_t req, const struct listing_dir *d, size_t size,
		     off_t off)
{
	bool objects = d->p.node == NODE_KIND || d->p.node == NODE_BYID;
	struct reply r = { .req = req, .size = size < REPLY_MAX ? size :
								   REPLY_MAX };
	struct entry e;
	uint64_t pos;
	int rc = 0;

	/* lseek(2) refuses negative offsets; a cursor never is one. */
	if (off < 0 || r.size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	r.buf = malloc(r.size);
	if (!r.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (pos = (uint64_t)off; !objects || pos < OBJ_CURSOR; pos++) {
		if (!fixed_entry(d, pos, &e)) {
			if (objects)
				continue; /* no by-id/ in by-id/ */
			break;
		}
		if (!emit(&r, &e, pos + 1))
			goto reply;
	}
	if (objects)
		rc = list_objects(&r, d, pos);
reply:
	/* Entries already found go out; the error comes with the next read,
	 * which starts after them. */
	if (rc && !r.len)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, r.buf, r.len);
	free(r.buf);
}
