/*
 * fuzz_requests: requests sent through the session as the kernel sends
 * them, the custom I/O that catches the replies (checked by
 * requests_replies.c), and interrupts.
 */
#include "requests.h"

#include <errno.h>
#include <time.h>

struct pending pend[MAX_PENDING];
size_t npend;
pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t replied_cv = PTHREAD_COND_INITIALIZER;
atomic_int writing_replies;
static uint64_t next_unique = 2; /* even: the kernel's interrupts are odd */

/* Sends one request (header made here) and returns its pending entry. */
struct pending *send_req(uint32_t opcode, uint64_t nodeid,
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
	pthread_mutex_lock(&pending_lock);
	CHECK(npend < MAX_PENDING, "too many requests");
	p = &pend[npend++];
	*p = (struct pending){ .unique = h.unique, .opcode = opcode,
			       .size = size, .slot = slot };
	pthread_mutex_unlock(&pending_lock);
	b = malloc(h.len);
	CHECK(b, "out of memory");
	memcpy(b, &h, sizeof(h));
	if (arglen)
		memcpy(b + sizeof(h), arg, arglen);
	if (len2)
		memcpy(b + sizeof(h) + arglen, arg2, len2);
	fb.mem = b;
	fb.size = h.len;
	fuse_session_process_buf(session, &fb);
	free(b);
	pthread_mutex_lock(&pending_lock);
	if (trace)
		fprintf(stderr, "op %u node %llx uid %u size %u: %s %d\n",
			opcode, (unsigned long long)nodeid, c->uid, size,
			p->replied ? "answered" : "pending", p->error);
	CHECK(p->replied || no_reply(opcode) || opcode == FUSE_READ ||
	      opcode == FUSE_WRITE, "op %u on %llu not answered", opcode,
	      (unsigned long long)nodeid);
	pthread_mutex_unlock(&pending_lock);
	return p;
}

/* Interrupts p (if still unanswered) and waits for its reply. */
void interrupt_and_wait(struct pending *p, const struct fuzz_caller *c)
{
	struct fuse_interrupt_in in = { .unique = p->unique };
	struct fuse_in_header h = { .opcode = FUSE_INTERRUPT, .uid = c->uid,
				    .gid = c->gid, .pid = c->pid };
	struct fuse_buf fb = { 0 };
	char b[sizeof(h) + sizeof(in)];
	struct timespec until;
	bool done;

	pthread_mutex_lock(&pending_lock);
	done = p->replied || no_reply(p->opcode);
	if (!done) {
		/* libfuse answers EAGAIN to an interrupt that finds nothing
		 * (the reply may be on its way): note it as a request. */
		CHECK(npend < MAX_PENDING, "too many requests");
		pend[npend++] = (struct pending){ .unique = p->unique | 1,
						  .opcode = FUSE_INTERRUPT,
						  .slot = -1 };
	}
	pthread_mutex_unlock(&pending_lock);
	if (done)
		return;
	h.len = sizeof(b);
	h.unique = p->unique | 1;
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), &in, sizeof(in));
	fb.mem = b;
	fb.size = sizeof(b);
	fuse_session_process_buf(session, &fb);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += REPLY_WAIT_S;
	pthread_mutex_lock(&pending_lock);
	while (!p->replied)
		CHECK(pthread_cond_timedwait(&replied_cv, &pending_lock,
					     &until) == 0 || p->replied, "op %u (unique %llu) unanswered %d s after "
		      "its interrupt", p->opcode,
		      (unsigned long long)p->unique, REPLY_WAIT_S);
	pthread_mutex_unlock(&pending_lock);
}

/* The kernel sends no RELEASE while a request on the file is in flight:
 * ends those first. */
void drain_slot(int slot, const struct fuzz_caller *c)
{
	size_t i;

	for (i = 0; i < npend; i++)
		if (pend[i].slot == slot && pend[i].opcode != FUSE_INTERRUPT)
			interrupt_and_wait(&pend[i], c);
}

/* The session's custom I/O: replies are caught and checked here. */
ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	ssize_t n;

	(void)fd, (void)userdata;
	atomic_fetch_add(&writing_replies, 1);
	n = check_reply(iov, count);
	atomic_fetch_sub(&writing_replies, 1);
	return n;
}

ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)fd, (void)buf, (void)len, (void)userdata;
	errno = ENODEV; /* never called: requests go in by process_buf */
	return -1;
}
