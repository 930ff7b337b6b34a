/*
 * access — the kernel's IPC permission rules for the callers of the mount
 * (see access.h).
 */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* /proc/<tid>/status is ~1.5 KiB; a caller with 65536 supplementary groups
 * makes it ~400 KiB.  Beyond this it is not read (no groups, no
 * capabilities: refused rather than wrongly granted). */
#define STATUS_MAX (1u << 20)

void caller_init(struct caller *c, fuse_req_t req,
		 const struct userns_chain *userns)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*c = (struct caller){ .tid = ctx->pid, .uid = ctx->uid,
			      .gid = ctx->gid, .userns = userns,
			      .ns_level = -1 };
}

void caller_done(struct caller *c)
{
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

void access_userns_load(struct userns_chain *u)
{
	struct stat st;
	ino_t self;
	int fd, ns;

	memset(u, 0, sizeof(*u));
	if (stat("/proc/self/ns/user", &st))
		return;
	self = st.st_ino;
	fd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	ns = fd < 0 ? -1 : ioctl(fd, NS_GET_USERNS, 0);
	if (fd >= 0)
		close(fd);
	while (ns >= 0 && u->depth < USERNS_CHAIN_MAX) {
		uid_t owner;
		int parent;

		if (fstat(ns, &st))
			break;
		u->ino[u->depth] = st.st_ino;
		u->owner[u->depth] =
			ioctl(ns, NS_GET_OWNER_UID, &owner) ? (uid_t)-1 : owner;
		u->depth++;
		/* EPERM above the daemon's own user namespace.  (A 0 where
		 * the ioctl takes no argument: the variadic ioctl() would
		 * pass whatever the register holds.) */
		parent = ioctl(ns, NS_GET_PARENT, 0);
		close(ns);
		ns = parent;
	}
	if (ns >= 0)
		close(ns);
	if (!u->depth) { /* no nsfs ioctls: the daemon's own, as it was */
		u->ino[0] = self;
		u->owner[0] = (uid_t)-1;
		u->depth = 1;
	}
	for (u->daemon = 0; u->daemon < u->depth; u->daemon++)
		if (u->ino[u->daemon] == self)
			break;
}

/* The value of the line "name:\t..." in status text, or NULL. */
static const char *status_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, name, n) && p[n] == ':')
			return p + n + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* The n-th number of a Uid:/Gid: line: the 2nd the effective id, the 4th
 * the filesystem id, which is what the request carries. */
static bool nth_id(const char *v, int n, unsigned long *id)
{
	char *end;
	int i;

	for (i = 0; i < n; i++) {
		errno = 0;
		*id = strtoul(v, &end, 10);
		if (errno || end == v)
			return false;
		v = end;
	}
	return true;
}

static bool parse_groups(struct caller *c, const char *v)
{
	const char *line_end = strchr(v, '\n');
	size_t n = 0, cap = 0;
	gid_t *g = NULL;

	if (!line_end)
		line_end = v + strlen(v);
	for (;;) {
		unsigned long id;
		char *end;

		while (v < line_end && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= line_end)
			break;
		errno = 0;
		id = strtoul(v, &end, 10);
		if (errno || end == v || end > line_end) {
			free(g);
			return false;
		}
		if (n == cap) {
			gid_t *ng;

			cap = cap ? 2 * cap : 32;
			ng = realloc(g, cap * sizeof(*g));
			if (!ng) {
				free(g);
				return false;
			}
			g = ng;
		}
		g[n++] = (gid_t)id;
		v = end;
	}
	c->groups = g;
	c->ngroups = n;
	return true;
}

bool caller_parse_status(struct caller *c, const char *text, size_t len)
{
	const char *uid = status_field(text, "Uid");
	const char *gid = status_field(text, "Gid");
	const char *groups = status_field(text, "Groups");
	const char *cap = status_field(text, "CapEff");
	unsigned long fsuid, fsgid, euid;
	unsigned long long caps;
	char *end;

	(void)len; /* text is NUL-terminated; len is for callers that know */
	if (!uid || !gid || !groups || !cap || !nth_id(uid, 4, &fsuid) ||
	    !nth_id(gid, 4, &fsgid) || fsuid != c->uid || fsgid != c->gid ||
	    !nth_id(uid, 2, &euid))
		return false;
	errno = 0;
	caps = strtoull(cap, &end, 16);
	if (errno || end == cap || (*end != '\n' && *end != '\0'))
		return false;
	if (!parse_groups(c, groups))
		return false;
	c->cap_eff = caps;
	c->euid = (uid_t)euid;
	c->has_euid = true;
	return true;
}

/* Reads the whole of path (NUL-terminated) into a malloc'd buffer. */
static char *read_small_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (!buf || fd < 0)
		goto fail;
	for (;;) {
		if (n + 1 == cap) {
			if (cap >= STATUS_MAX)
				goto fail;
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Reads the caller's groups and capabilities, once.  On any failure the
 * caller keeps none. */
static void caller_load(struct caller *c)
{
	char path[64];
	struct stat st;
	unsigned i;
	size_t len;
	char *text;

	if (c->loaded)
		return;
	c->loaded = true;
	if (c->tid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->tid);
	text = read_small_file(path, &len);
	if (!text)
		return;
	if (!caller_parse_status(c, text, len)) {
		c->cap_eff = 0;
		c->has_euid = false;
		caller_done(c);
	}
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)c->tid);
	if (!c->userns || stat(path, &st))
		return;
	for (i = 0; i < c->userns->depth; i++)
		if (c->userns->ino[i] == st.st_ino) {
			c->ns_level = (int)i;
			break;
		}
}

bool caller_in_group(struct caller *c, gid_t gid)
{
	size_t i;

	if (gid == c->gid)
		return true;
	caller_load(c);
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

bool caller_capable(struct caller *c, int cap)
{
	const struct userns_chain *u = c->userns;

	caller_load(c);
	if (c->ns_level < 0)
		return false; /* not the owner's namespace or an ancestor */
	if (cap == CAPABILITY_SYS_RESOURCE) /* capable(): see access.h */
		return (unsigned)c->ns_level == u->daemon &&
		       (c->cap_eff >> cap & 1);
	if (c->cap_eff >> cap & 1)
		return true;
	/* cap_capable(): the maker of a user namespace, in its parent, has
	 * every capability in it and below. */
	return c->ns_level > 0 && c->has_euid &&
	       u->owner[c->ns_level - 1] != (uid_t)-1 &&
	       c->euid == u->owner[c->ns_level - 1];
}

bool caller_may(struct caller *c, const struct ipcore_perm *perm,
		unsigned want)
{
	unsigned granted = perm->mode;

	if (c->uid == perm->uid || c->uid == perm->cuid)
		granted >>= 6;
	else if (caller_in_group(c, perm->gid) ||
		 caller_in_group(c, perm->cgid))
		granted >>= 3;
	if (!(want & ~granted & 7u))
		return true;
	return caller_capable(c, CAPABILITY_IPC_OWNER);
}

bool caller_may_control(struct caller *c, const struct ipcore_perm *perm)
{
	return c->uid == perm->uid || c->uid == perm->cuid ||
	       caller_capable(c, CAPABILITY_SYS_ADMIN);
}
