/*
 * Message queues: msgget, msgsnd and msgrcv on the caller's buffer.
 */
#include "internal.h"

#include <errno.h>
#include <sys/msg.h>

static int mq_get_raw(key_t key, int flags, const void *arg)
{
	int id = msgget(key, flags);

	return id < 0 ? -errno : id;
}

int ipcore_mq_get(key_t key, enum ipcore_key_choice choice, int flags,
		  unsigned int mode, struct ipcore_object *out)
{
	return ipcore_get_object(key, choice, flags, mode, mq_get_raw, NULL,
				 out);
}

int ipcore_mq_send(int id, const struct ipcore_msgbuf *buf, size_t len,
		   int flags)
{
	if (buf->type <= 0)
		return -EINVAL;
	return msgsnd(id, buf, len, flags & IPC_NOWAIT) < 0 ? -errno : 0;
}

/*
 * MSG_NOERROR is never passed: a message longer than the buffer must fail
 * with E2BIG and stay queued rather than be cut short.
 */
ssize_t ipcore_mq_receive(int id, struct ipcore_msgbuf *buf, size_t capacity,
			  long type, int flags)
{
	ssize_t n = msgrcv(id, buf, capacity, type,
			   flags & (IPC_NOWAIT | MSG_EXCEPT));

	return n < 0 ? -errno : n;
}

ssize_t ipcore_mq_peek(int id, struct ipcore_msgbuf *buf, size_t capacity,
		       long index)
{
#if HAVE_MSG_COPY
	/* With MSG_COPY the type argument is the message's position; the
	 * kernel requires IPC_NOWAIT and answers ENOSYS when it was built
	 * without CONFIG_CHECKPOINT_RESTORE. */
	ssize_t n = msgrcv(id, buf, capacity, index, MSG_COPY | IPC_NOWAIT);

	return n < 0 ? -errno : n;
#else
	return -ENOSYS;
#endif
}
