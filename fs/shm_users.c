/*
 * shm_users — what each caller uid holds of the daemon through data files
 * (see shm_seg.h), against the limits of the man page (LIMITS).  Root is
 * held to them as well: a root caller gains nothing by exhausting the
 * daemon either.  Everything here runs under sd->lock.
 */
#include "shm_seg.h"

#include <errno.h>
#include <stdlib.h>

/* Limits per caller uid (the man page, LIMITS). */
#define SEGS_PER_USER 1024u /* segments with open data files (descriptors) */
#define ATTACHED_BYTES_PER_USER ((uint64_t)1 << 40) /* fallback: 1 TiB */

/* What one caller uid holds, against the limits above. */
struct user_acct {
	struct user_acct *next;
	uid_t uid;
	unsigned int segs;  /* segs with open files of this uid */
	uint64_t attached;  /* bytes of those that are attached (fallback) */
};

/* The account of uid, made if make and missing (NULL if out of memory or
 * missing). */
static struct user_acct *user_acct(struct shm_users *users, uid_t uid,
				   bool make)
{
	struct user_acct *a;

	for (a = users->list; a != NULL; a = a->next)
		if (a->uid == uid)
			return a;
	if (!make || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->uid = uid;
	a->next = users->list;
	users->list = a;
	return a;
}

static void user_acct_drop_if_idle(struct shm_users *users,
				   struct user_acct *a)
{
	struct user_acct **p;

	if (a->segs != 0)
		return;
	for (p = &users->list; *p != a; p = &(*p)->next)
		;
	*p = a->next;
	free(a);
}

int shm_users_may_take(struct shm_users *users, uid_t uid, uint64_t attached)
{
	const struct user_acct *a = user_acct(users, uid, false);

	if (a == NULL)
		return attached > ATTACHED_BYTES_PER_USER ? -ENOMEM : 0;
	if (a->segs >= SEGS_PER_USER)
		return -EMFILE;
	if (attached > ATTACHED_BYTES_PER_USER - a->attached)
		return -ENOMEM;
	return 0;
}

static uint64_t seg_attached_bytes(const struct seg *seg)
{
	return seg->fd < 0 ? seg->size : 0;
}

int seg_user_add(struct shm_users *users, struct seg *seg, uid_t uid,
		 struct seg_user **out)
{
	struct seg_user *u;
	struct user_acct *a;
	int rc;

	for (u = seg->users; u != NULL; u = u->next) {
		if (u->uid == uid) {
			u->opens++;
			*out = u;
			return 0;
		}
	}
	rc = shm_users_may_take(users, uid, seg_attached_bytes(seg));
	if (rc != 0)
		return rc;
	u = calloc(1, sizeof(*u));
	a = u != NULL ? user_acct(users, uid, true) : NULL;
	if (a == NULL) {
		free(u);
		return -ENOMEM;
	}
	u->seg = seg;
	u->uid = uid;
	u->opens = 1;
	u->next = seg->users;
	seg->users = u;
	a->segs++;
	a->attached += seg_attached_bytes(seg);
	*out = u;
	return 0;
}

void seg_user_drop(struct shm_users *users, struct seg_user *u)
{
	struct seg *seg = u->seg;
	uid_t uid = u->uid;
	struct seg_user **p;
	struct user_acct *a;

	if (--u->opens != 0)
		return;
	for (p = &seg->users; *p != u; p = &(*p)->next)
		;
	*p = u->next;
	free(u);
	a = user_acct(users, uid, false);
	if (a == NULL)
		return;
	a->segs--;
	a->attached -= seg_attached_bytes(seg);
	user_acct_drop_if_idle(users, a);
}

void shm_users_clear(struct shm_users *users)
{
	while (users->list != NULL) {
		struct user_acct *a = users->list;

		users->list = a->next;
		free(a);
	}
}
