/*
 * Attribute files and limits/ and usage/ files: numbers as text (see
 * attr_files.h).
 */
#include "attr_files.h"
#include "may.h"
#include "open_files.h"
#include "sysinfo.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Open files: the text last read                                     */
/* ------------------------------------------------------------------ */

/*
 * What an open attribute file remembers: the text its last read from
 * offset 0 gave, so that a reader taking the text in pieces (or cat's
 * second read, at the end) gets the rest of that same text, never the
 * tail of a newer value ("0\n" then "0\n" of "100\n").  A read from
 * offset 0 always reads the kernel anew.
 */
struct attr_handle {
	struct open_file link; /* first: the list holds it by this */
	int len;               /* -1: nothing read yet */
	char text[32];
};

static void attr_handle_free(struct open_file *f)
{
	free(f);
}

/* Attribute and limits/, usage/ files: read from offset 0 afresh, and
 * never through the page cache (the value changes behind it). */
static void text_open(fuse_req_t req, const struct node_ref *n,
		      struct fuse_file_info *fi)
{
	struct attr_handle *h;

	(void)n;
	fi->direct_io = 1;
	h = open_handle_new(req, sizeof(*h), attr_handle_free);
	if (h) {
		h->len = -1;
		open_handle_reply(req, fi, &h->link);
	}
}

static void text_release(fuse_req_t req, struct node_ref *n,
			 struct fuse_file_info *fi)
{
	(void)n;
	open_handle_free(req, open_handle(fi));
	fuse_reply_err(req, 0);
}

/* The text an open attribute (or limits/, usage/) file answers a read at
 * off with: made anew by make(arg) for a read from offset 0 (or the first
 * read), else the one this open last made.  Returns its length or -errno.
 * The handle's text is under the mount's attr_text_lock: two reads of one
 * open may come at once. */
static int open_text(fuse_req_t req, struct attr_handle *h, off_t off,
		     char text[32],
		     int (*make)(const void *arg, char *text, size_t len),
		     const void *arg)
{
	pthread_mutex_t *lock = &ipcfs_of(req)->attr_text_lock;
	int len;

	pthread_mutex_lock(lock);
	len = h->len;
	if (len >= 0)
		memcpy(text, h->text, (size_t)len);
	pthread_mutex_unlock(lock);
	if (off != 0 && len >= 0)
		return len;
	len = make(arg, text, 32);
	if (len >= 0) {
		pthread_mutex_lock(lock);
		memcpy(h->text, text, (size_t)len);
		h->len = len;
		pthread_mutex_unlock(lock);
	}
	return len;
}

/* Answers a read of size at off from text. */
static void reply_text(fuse_req_t req, const char *text, int len, size_t size,
		       off_t off)
{
	if (len < 0)
		fuse_reply_err(req, -len);
	else if (off < 0)
		fuse_reply_err(req, EINVAL);
	else if (off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, text + off,
			       (size_t)(len - off) < size ? (size_t)(len - off) :
							    size);
}

/* ------------------------------------------------------------------ */
/* limits/ and usage/: read-only (may_open_info), read afresh from 0   */
/* ------------------------------------------------------------------ */

static int make_info_text(const void *arg, char *text, size_t len)
{
	const struct ino_parts *p = arg;

	return info_read(p->param, p->file, text, len);
}

static void info_read_file(fuse_req_t req, struct node_ref *n, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	char text[32];

	reply_text(req, text, open_text(req, open_handle(fi), off, text,
					make_info_text, &n->p),
		   size, off);
}

static int info_truncate(fuse_req_t req, const struct node_ref *n,
			 off_t size)
{
	(void)req, (void)n, (void)size;
	return -EACCES;
}

const struct file_ops info_file_ops = {
	.may_open = may_open_info,
	.open = text_open,
	.read = info_read_file,
	.release = text_release,
	.truncate = info_truncate,
};

/* ------------------------------------------------------------------ */
/* Attributes                                                         */
/* ------------------------------------------------------------------ */

/* The text of the attribute of n (make for open_text()). */
static int make_attr_text(const void *arg, char *text, size_t len)
{
	const struct node_ref *n = arg;
	long long v;
	int rc = n->file->get(&n->o, n->p.param, &v);

	return rc ? rc : attr_format(n->file, v, text, len);
}

static void attr_read(fuse_req_t req, struct node_ref *n, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	char text[32];
	int rc = file_call(req, n, 0);

	if (!rc)
		rc = may_attr(req, n, true, false);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_text(req, text, open_text(req, open_handle(fi), off, text,
					make_attr_text, n),
		   size, off);
}

static void attr_write(fuse_req_t req, struct node_ref *n, const char *buf,
		       size_t size, off_t off, struct fuse_file_info *fi)
{
	struct caller who;
	long long v;
	int rc = file_call(req, n, 0);

	(void)fi;
	if (!rc)
		rc = may_attr(req, n, false, true);
	if (!rc && (off != 0 || attr_parse(n->file, buf, size, &v)))
		rc = -EINVAL;
	if (!rc) {
		ipcfs_caller(&who, req);
		rc = n->file->set(&n->o, n->p.param, v, &who);
		caller_done(&who);
	}
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

/* Only to 0, which changes nothing, for a caller who may write it. */
static int attr_truncate(fuse_req_t req, const struct node_ref *n,
			 off_t size)
{
	return size != 0 ? -EINVAL : may_attr(req, n, false, true);
}

const struct file_ops attr_file_ops = {
	.may_open = may_open_attr,
	.open = text_open,
	.read = attr_read,
	.write = attr_write,
	.release = text_release,
	.truncate = attr_truncate,
};

/* ------------------------------------------------------------------ */
/* Attribute text                                                     */
/* ------------------------------------------------------------------ */

int attr_format(const struct file_def *f, long long v, char *buf, size_t len)
{
	int n = f->fmt == FMT_OCT ? snprintf(buf, len, "0%03llo\n", v) :
				    snprintf(buf, len, "%lld\n", v);

	return n < 0 || (size_t)n >= len ? -EOVERFLOW : n;
}

static int parse_id_name(enum attr_fmt fmt, const char *s, long long *v)
{
	char buf[1024];
	int rc;

	if (fmt == FMT_UID) {
		struct passwd pw, *res = NULL;

		rc = getpwnam_r(s, &pw, buf, sizeof(buf), &res);
		if (rc || !res)
			return -EINVAL;
		*v = res->pw_uid;
	} else {
		struct group gr, *res = NULL;

		rc = getgrnam_r(s, &gr, buf, sizeof(buf), &res);
		if (rc || !res)
			return -EINVAL;
		*v = res->gr_gid;
	}
	return 0;
}

int attr_parse(const struct file_def *f, const char *text, size_t len,
	       long long *v)
{
	char s[64], *end;
	size_t a = 0, b = len;
	int base = f->fmt == FMT_OCT ? 8 : 10;

	/* The text is a byte string, not a C string: a NUL in it would end
	 * the number early ("5\0junk" read as 5, "\0" as 0). */
	if (memchr(text, '\0', len))
		return -EINVAL;
	while (a < b && isspace((unsigned char)text[a]))
		a++;
	while (b > a && isspace((unsigned char)text[b - 1]))
		b--;
	if (a == b || b - a >= sizeof(s))
		return -EINVAL;
	memcpy(s, text + a, b - a);
	s[b - a] = '\0';

	if ((f->fmt == FMT_UID || f->fmt == FMT_GID) &&
	    !isdigit((unsigned char)s[0]))
		return parse_id_name(f->fmt, s, v);
	end = s;
	if (f->fmt == FMT_OCT && s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		end += 2;
	if (f->fmt != FMT_DEC && !isdigit((unsigned char)*end))
		return -EINVAL;
	errno = 0;
	*v = strtoll(end, &end, base);
	if (errno || *end)
		return -EINVAL;
	/* (uid_t)-1 would mean "leave it" to IPC_SET. */
	if ((f->fmt == FMT_UID || f->fmt == FMT_GID) &&
	    (*v < 0 || *v >= (long long)UINT32_MAX))
		return -EINVAL;
	return 0;
}

int attr_parse_delta(const char *text, size_t len, long long *delta)
{
	static const struct file_def delta_fmt = { .fmt = FMT_DEC };

	if (attr_parse(&delta_fmt, text, len, delta) || *delta < SHRT_MIN ||
	    *delta > SHRT_MAX)
		return -EINVAL;
	return 0;
}
