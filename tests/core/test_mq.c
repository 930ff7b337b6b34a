/*
 * Message queues: get, send, receive (by type, blocking, interrupted,
 * too long), peek, limits, attributes, permissions.
 */
#include "testutil.h"

#include <errno.h>
#include <sys/msg.h>
#include <unistd.h>

#define KEY 7171
#define CAP 64

static int q_id;
/* Aligned storage for a message buffer of CAP bytes. */
static union {
	struct ipcore_msgbuf msg;
	char bytes[sizeof(struct ipcore_msgbuf) + CAP];
} store;
static struct ipcore_msgbuf *const buf = &store.msg;

static int send_text(long type, const char *text, int flags)
{
	size_t len = strlen(text);

	buf->type = type;
	memcpy(buf->text, text, len);
	return ipcore_mq_send(q_id, buf, len, flags);
}

static unsigned long qnum(void)
{
	struct ipcore_mq_info mi = { 0 };

	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	return mi.qnum;
}

/* Receives, and checks the text and type. */
static void expect(long want_type, const char *want, long type, int flags)
{
	ssize_t n;

	memset(buf, 0, ipcore_msgbuf_size(CAP));
	n = ipcore_mq_receive(q_id, buf, CAP, type, flags);
	CHECK_RC(n, (ssize_t)strlen(want));
	CHECK_RC(buf->type, want_type);
	CHECK(n >= 0 && memcmp(buf->text, want, strlen(want)) == 0);
}

static void test_get(void)
{
	struct ipcore_object o;
	struct ipcore_mq_info mi;

	CHECK_RC(ipcore_mq_get(KEY, IPCORE_KEY_GIVEN, 0, 0600, &o), -ENOENT);
	REQUIRE(ipcore_mq_get(KEY, IPCORE_KEY_GIVEN, IPC_CREAT | IPC_EXCL,
			      0600, &o) == 0);
	test_track(IPCORE_MQ, o.id);
	q_id = o.id;
	CHECK_RC(ipcore_mq_get(KEY, IPCORE_KEY_GIVEN, IPC_CREAT | IPC_EXCL,
			       0600, &o), -EEXIST);
	CHECK_RC(ipcore_mq_get(KEY, IPCORE_KEY_GIVEN, 0, 0, &o), 0);
	CHECK_RC(o.id, q_id);

	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	CHECK_RC(mi.perm.key, KEY);
	CHECK_RC(mi.perm.mode, 0600);
	CHECK_RC(mi.perm.cuid, getuid());
	CHECK_RC(mi.qnum, 0);
	CHECK_RC(mi.cbytes, 0);
	CHECK(mi.qbytes > 0);
	CHECK_RC(mi.stime, 0);
}

static void test_send_receive(void)
{
	struct ipcore_mq_info mi;
	ssize_t n;
	int rc;

	/* A type must be positive; nothing is sent otherwise. */
	rc = send_text(0, "zero", 0);
	CHECK_RC(rc, -EINVAL);
	CHECK_RC(send_text(-3, "negative", 0), -EINVAL);
	CHECK_RC(qnum(), 0);

	CHECK_RC(send_text(1, "abc", 0), 0);
	CHECK_RC(send_text(2, "defgh", 0), 0);
	CHECK_RC(send_text(3, "", 0), 0);
	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	CHECK_RC(mi.qnum, 3);
	CHECK_RC(mi.cbytes, 8);
	CHECK_RC(mi.lspid, getpid());
	CHECK(mi.stime > 0);

	/* Peek copies without removing, by position (where the kernel has
	 * MSG_COPY: CONFIG_CHECKPOINT_RESTORE). */
	memset(buf, 0, ipcore_msgbuf_size(CAP));
	n = ipcore_mq_peek(q_id, buf, CAP, 1);
	if (n == -ENOSYS) {
		printf("MSG_COPY unavailable: peek checks skipped\n");
	} else {
		CHECK_RC(n, 5);
		CHECK_RC(buf->type, 2);
		CHECK(memcmp(buf->text, "defgh", 5) == 0);
		n = ipcore_mq_peek(q_id, buf, CAP, 0);
		CHECK_RC(n, 3);
		CHECK_RC(buf->type, 1);
		n = ipcore_mq_peek(q_id, buf, CAP, 3);
		CHECK_RC(n, -ENOMSG);
		CHECK_KIND(n, IPCORE_OP_RECEIVE, IPCORE_ERR_BUSY);
		n = ipcore_mq_peek(q_id, buf, 4, 1);
		CHECK_RC(n, -E2BIG);
	}
	CHECK_RC(qnum(), 3);

	/* Too long for the buffer: E2BIG, and the message stays. */
	n = ipcore_mq_receive(q_id, buf, 4, 2, 0);
	CHECK_RC(n, -E2BIG);
	CHECK_KIND(n, IPCORE_OP_RECEIVE, IPCORE_ERR_OTHER);
	CHECK_RC(qnum(), 3);

	/* By type: exactly 2; then the lowest up to 5; then any. */
	expect(2, "defgh", 2, 0);
	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	CHECK_RC(mi.lrpid, getpid());
	CHECK(mi.rtime > 0);
	CHECK_RC(send_text(2, "again", 0), 0);
	expect(1, "abc", -5, 0);
	/* MSG_EXCEPT: the first message not of type 3. */
	expect(2, "again", 3, MSG_EXCEPT);
	expect(3, "", 0, 0);

	/* Nothing left. */
	n = ipcore_mq_receive(q_id, buf, CAP, 0, IPC_NOWAIT);
	CHECK_RC(n, -ENOMSG);
	CHECK_KIND(n, IPCORE_OP_RECEIVE, IPCORE_ERR_BUSY);
	CHECK_RC(send_text(1, "one", 0), 0);
	CHECK_RC(ipcore_mq_receive(q_id, buf, CAP, 2, IPC_NOWAIT), -ENOMSG);
	expect(1, "one", 1, IPC_NOWAIT);
}

static void test_limits(void)
{
	struct ipcore_mq_info mi;
	unsigned long old;
	int rc;

	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	old = mi.qbytes;
	CHECK_RC(ipcore_mq_set_max_bytes(q_id, 10), 0);
	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	CHECK_RC(mi.qbytes, 10);

	CHECK_RC(send_text(1, "12345678", 0), 0);
	rc = send_text(1, "12345678", IPC_NOWAIT);
	CHECK_RC(rc, -EAGAIN);
	CHECK_KIND(rc, IPCORE_OP_SEND, IPCORE_ERR_BUSY);
	CHECK_RC(qnum(), 1);
	expect(1, "12345678", 0, 0);

	CHECK_RC(ipcore_mq_set_max_bytes(q_id, old), 0);
	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	CHECK_RC(mi.qbytes, old);
}

static void test_interrupted(void)
{
	double t0 = test_now_ms();
	ssize_t n;

	test_alarms = 0;
	test_alarm_ms(100);
	n = ipcore_mq_receive(q_id, buf, CAP, 0, 0); /* would wait forever */
	CHECK_RC(n, -EINTR);
	CHECK_KIND(n, IPCORE_OP_RECEIVE, IPCORE_ERR_INTERRUPTED);
	CHECK_RC(test_alarms, 1);
	CHECK(test_now_ms() - t0 >= 90.0);
}

/* A blocked receive wakes up for a message another process sends. */
static int late_sender(void *arg)
{
	(void)arg;
	test_sleep_ms(50);
	return send_text(9, "late", 0) == 0 ? 0 : 1;
}

static void test_blocking(void)
{
	pid_t pid = test_fork(late_sender, NULL);

	expect(9, "late", 0, 0);
	CHECK_RC(test_wait(pid), 0);
}

/* What a queue that refuses this process, or is gone, answers: a send, a
 * receive, a peek, a stat and a change of the byte limit all fail with
 * want, and the send and the receive are errors of kind. */
static void expect_unusable(int want, enum ipcore_error_kind kind)
{
	struct ipcore_mq_info mi;
	ssize_t n;
	int rc;

	rc = send_text(1, "x", IPC_NOWAIT);
	CHECK_RC(rc, want);
	CHECK_KIND(rc, IPCORE_OP_SEND, kind);
	n = ipcore_mq_receive(q_id, buf, CAP, 0, IPC_NOWAIT);
	CHECK_RC(n, want);
	CHECK_KIND(n, IPCORE_OP_RECEIVE, kind);
	CHECK_RC(ipcore_mq_peek(q_id, buf, CAP, 0), want);
	CHECK_RC(ipcore_mq_stat(q_id, &mi), want);
	CHECK_RC(ipcore_mq_set_max_bytes(q_id, 100), want);
}

static int refused_child(void *arg)
{
	struct ipcore_object o;

	(void)arg;
	expect_unusable(-EACCES, IPCORE_ERR_PERMISSIONS);
	CHECK_RC(ipcore_mq_get(KEY, IPCORE_KEY_GIVEN, 0, 0600, &o), -EACCES);
	CHECK_RC(ipcore_remove(IPCORE_MQ, q_id), -EPERM);
	return test_failures;
}

/* 0622: nobody may send, not receive. */
static int sender_child(void *arg)
{
	(void)arg;
	CHECK_RC(send_text(4, "from nobody", IPC_NOWAIT), 0);
	CHECK_RC(ipcore_mq_receive(q_id, buf, CAP, 0, IPC_NOWAIT), -EACCES);
	return test_failures;
}

static void test_permissions(void)
{
	struct ipcore_mq_info mi;

	CHECK_RC(test_as_nobody(refused_child, NULL), 0);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_MQ, q_id, (uid_t)-1, (gid_t)-1,
				       0622), 0);
	CHECK_RC(test_as_nobody(sender_child, NULL), 0);
	CHECK_RC(ipcore_mq_stat(q_id, &mi), 0);
	CHECK_RC(mi.perm.mode, 0622);
	CHECK_RC(mi.qnum, 1);
	CHECK(mi.lspid != getpid());
	expect(4, "from nobody", 0, IPC_NOWAIT);
}

static int removed_receiver(void *arg)
{
	ssize_t n;

	(void)arg;
	n = ipcore_mq_receive(q_id, buf, CAP, 0, 0);
	CHECK_RC(n, -EIDRM);
	CHECK_KIND(n, IPCORE_OP_RECEIVE, IPCORE_ERR_EXISTENTIAL);
	return test_failures;
}

static void test_removed(void)
{
	pid_t pid;

	/* Wait until the child is blocked: then the removal wakes it. */
	pid = test_fork(removed_receiver, NULL);
	CHECK(test_wait_sleeping(pid));
	test_sleep_ms(20);
	test_remove(IPCORE_MQ, q_id);
	CHECK_RC(test_wait(pid), 0);

	expect_unusable(-EINVAL, IPCORE_ERR_EXISTENTIAL);
	CHECK_RC(ipcore_remove(IPCORE_MQ, q_id), -EINVAL);
}

int main(void)
{
	test_init("test_mq");
	test_get();
	test_send_receive();
	test_limits();
	test_interrupted();
	test_blocking();
	test_permissions();
	test_removed();
	return test_done();
}
