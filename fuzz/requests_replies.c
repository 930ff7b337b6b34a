/*
 * fuzz_requests: the checks of every reply the session writes (the list
 * is at the top of fuzz_requests.c), and what a reply hands out noted in
 * its request's entry for the harness.
 */
#include "requests.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

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

ssize_t check_reply(struct iovec *iov, int count)
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
	pthread_mutex_lock(&pending_lock);
	if ((oh.unique & 1) && oh.error == -EAGAIN) {
		/* libfuse's answer to an interrupt that found nothing (the
		 * request was answered meanwhile), sent with the next request,
		 * maybe in the next input. */
		pthread_mutex_unlock(&pending_lock);
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
	pthread_mutex_unlock(&pending_lock);
	free(b);
	return (ssize_t)total;
}
