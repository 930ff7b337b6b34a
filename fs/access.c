/*
 * access — the kernel's IPC permission rules for the callers of the mount
 * (see access.h).
 */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* /proc/<tid>/status is ~1.5 KiB; a caller with 65536 supplementary groups
 * makes it ~400 KiB.  Beyond this it is not read (no groups, no
 * capabilities: refused rather than wrongly granted). */
#define STATUS_MAX (1u << 20)

void caller_init(struct caller *c, fuse_req_t req, ino_t daemon_userns)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	*c = (struct caller){ .tid = ctx->pid, .uid = ctx->uid,
			      .gid = ctx->gid,
			      .daemon_userns = daemon_userns };
}

void caller_done(struct caller *c)
{
	free(c->groups);
	c->groups = NULL;
	c->ngroups = 0;
}

ino_t access_daemon_userns(void)
{
	struct stat st;

	return stat("/proc/self/ns/user", &st) ? 0 : st.st_ino;
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

/* The fourth number of a Uid:/Gid: line: the filesystem id, which is what
 * the request carries. */
static bool fs_id(const char *v, unsigned long *id)
{
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
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
	unsigned long fsuid, fsgid;
	unsigned long long caps;
	char *end;

	(void)len; /* text is NUL-terminated; len is for callers that know */
	if (!uid || !gid || !groups || !cap || !fs_id(uid, &fsuid) ||
	    !fs_id(gid, &fsgid) || fsuid != c->uid || fsgid != c->gid)
		return false;
	errno = 0;
	caps = strtoull(cap, &end, 16);
	if (errno || end == cap || (*end != '\n' && *end != '\0'))
		return false;
	if (!parse_groups(c, groups))
		return false;
	c->cap_eff = caps;
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
		caller_done(c);
	}
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)c->tid);
	c->privileged_ns = c->daemon_userns != 0 && stat(path, &st) == 0 &&
			   st.st_ino == c->daemon_userns;
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
	caller_load(c);
	return c->privileged_ns && (c->cap_eff >> cap & 1);
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
