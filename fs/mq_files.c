/*
 * The state of open message files (see mq_files.h for the semantics).
 */
#include "config.h"
#include "mq_files.h"
#include "ipcore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

/* MSGMAX now (one msgctl); the kernel's default if it cannot be read. */
static size_t msgmax_now(void)
{
	struct msginfo info;

	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0 ||
	    info.msgmax <= 0)
		return 8192;
	return (size_t)info.msgmax;
}

void mq_open_init(struct mq_open *m, int flags)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->nonblock = flags & O_NONBLOCK;
	m->trunc_due = (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY;
}

void mq_open_destroy(struct mq_open *m)
{
	free(m->buf);
	free(m->copy);
	pthread_mutex_destroy(&m->lock);
}

/* ------------------------------------------------------------------ */
/* send                                                               */
/* ------------------------------------------------------------------ */

size_t mq_send_limit(unsigned long qbytes)
{
	size_t max = msgmax_now();

	return qbytes < max ? (size_t)qbytes : max;
}

int mq_send_append(struct mq_open *m, const char *data, size_t size,
		   size_t limit, bool nonblock)
{
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	m->nonblock = nonblock;
	m->written = true;
	m->trunc_due = false;
	if (m->error) {
		rc = -m->error;
	} else if (size > limit || m->len > limit - size) {
		/* Never sent cut short: the whole message is dropped. */
		m->error = EMSGSIZE;
		rc = -EMSGSIZE;
	} else if (m->len + size > m->cap) {
		/* Doubling, but never past what the queue could take. */
		size_t cap = m->cap ? m->cap : 256;
		char *nb;

		while (cap < m->len + size)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		nb = realloc(m->buf, cap);
		if (!nb) {
			rc = -ENOMEM;
		} else {
			m->buf = nb;
			m->cap = cap;
		}
	}
	if (!rc && size) {
		memcpy(m->buf + m->len, data, size);
		m->len += size;
	}
	if (m->error) {
		free(m->buf);
		m->buf = NULL;
		m->len = m->cap = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int mq_send_take(struct mq_open *m, char **data, size_t *len,
		 bool *nonblock)
{
	int rc = 0;

	*data = NULL;
	*len = 0;
	pthread_mutex_lock(&m->lock);
	*nonblock = m->nonblock;
	if (m->written) {
		rc = m->error ? -m->error : 1;
		if (rc == 1) {
			*data = m->buf;
			*len = m->len;
		} else {
			free(m->buf);
		}
		m->buf = NULL;
		m->len = m->cap = 0;
		m->written = false;
		m->error = 0;
	} else if (m->trunc_due) {
		/* The first FLUSH of an O_TRUNC open without writes may come
		 * before the writes (bash's dup2 and close); the second one
		 * without a write in between is the end. */
		if (m->flushed) {
			m->trunc_due = false;
			rc = 1;
		}
		m->flushed = true;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void mq_send_drop(struct mq_open *m)
{
	pthread_mutex_lock(&m->lock);
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
	m->written = false;
	m->trunc_due = false;
	m->error = 0;
	pthread_mutex_unlock(&m->lock);
}

bool mq_send_release_due(struct mq_open *m)
{
	bool due;

	pthread_mutex_lock(&m->lock);
	due = m->trunc_due && !m->written;
	m->trunc_due = false;
	pthread_mutex_unlock(&m->lock);
	return due;
}

enum mq_caller mq_caller_state(pid_t tid)
{
	char path[48], text[1024], *p;
	unsigned long flags = 0;
	long exit_code = 0;
	ssize_t n;
	int fd, field;

	if (tid <= 0)
		return MQ_CALLER_LIVE;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return MQ_CALLER_LIVE;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return MQ_CALLER_LIVE;
	text[n] = '\0';
	/* The fields after the command name (which may hold anything, so
	 * the last ')' ends it): 3 (state) onwards; 9 is flags, 52 the exit
	 * code do_exit() stores before it closes the files. */
	p = strrchr(text, ')');
	if (!p)
		return MQ_CALLER_LIVE;
	for (field = 2; *p; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			break;
		if (field + 1 == 9)
			flags = strtoul(p + 1, NULL, 10);
		if (field + 1 == 52)
			exit_code = strtol(p + 1, NULL, 10);
	}
	if (!(flags & 0x4)) /* PF_EXITING */
		return MQ_CALLER_LIVE;
	/* The low 7 bits of the status are the signal that killed it (0
	 * for an exit(2)). */
	return exit_code & 0x7f ? MQ_CALLER_KILLED : MQ_CALLER_EXITING;
}

/* ------------------------------------------------------------------ */
/* peek, messages/<i>                                                 */
/* ------------------------------------------------------------------ */

/* Copies message index of queue msqid into m (under m->lock): 0, or
 * -errno from the peek (-ENOMSG when there is none). */
static int copy_take(struct mq_open *m, int msqid, long index,
		     bool type_text)
{
	struct ipcore_msgbuf *buf;
	size_t cap = msgmax_now();
	ssize_t n;
	int tries;

	for (tries = 0;; tries++) {
		buf = malloc(ipcore_msgbuf_size(cap));
		if (!buf)
			return -ENOMEM;
		n = ipcore_mq_peek(msqid, buf, cap, index);
		if (n != -E2BIG || tries == 3)
			break;
		/* Longer than MSGMAX (lowered since the send): no longer
		 * than all the queue holds. */
		free(buf);
		{
			struct ipcore_mq_info info;

			if (ipcore_mq_stat(msqid, &info) < 0 ||
			    info.cbytes <= cap)
				return -E2BIG;
			cap = info.cbytes;
		}
	}
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (type_text) {
		char text[32];
		int len = snprintf(text, sizeof(text), "%ld\n", buf->type);

		free(buf);
		m->copy = malloc((size_t)len);
		if (!m->copy)
			return -ENOMEM;
		memcpy(m->copy, text, (size_t)len);
		m->copy_len = (size_t)len;
		return 0;
	}
	/* The text alone: move it to the front of its own buffer. */
	memmove(buf, buf->text, (size_t)n);
	m->copy = (char *)buf;
	m->copy_len = (size_t)n;
	return 0;
}

int mq_copy_read(struct mq_open *m, int msqid, long index, bool type_text,
		 bool peek, size_t size, char **out, size_t *n)
{
	int rc = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&m->lock);
	if (!m->copied) {
		rc = copy_take(m, msqid, index, type_text);
		if (rc == -ENOMSG) /* nothing there (now) */
			rc = peek ? 0 : -ENOENT;
		else if (rc == -ENOSYS)
			rc = -EOPNOTSUPP;
		else if (rc == -EIDRM || rc == -EINVAL)
			rc = -ENOENT;
		else if (rc == -E2BIG)
			rc = -EMSGSIZE;
		/* Taken (even empty) once and for all; an error may be
		 * tried again by the next read. */
		m->copied = rc == 0;
	}
	if (!rc && m->copy_off < m->copy_len) {
		size_t k = m->copy_len - m->copy_off;

		if (k > size)
			k = size;
		*out = malloc(k);
		if (!*out) {
			rc = -ENOMEM;
		} else {
			memcpy(*out, m->copy + m->copy_off, k);
			m->copy_off += k;
			*n = k;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}
