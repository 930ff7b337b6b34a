/*
 * quota — how much of one of the daemon's resources each user holds, so
 * that no user can take all of it from the others (issue 8: one user
 * must not make another's call fail).  A counter per uid, with one limit
 * for every uid; uids with nothing held take no memory.
 *
 * A quota may also have a shared pool (quota_new_pooled()): then a uid
 * below its limit gets a unit while all uids together hold less than the
 * pool, or, with the pool used up, while it holds less than the reserve.
 * So a user with a few units is never refused because others took the
 * pool, and all uids together hold at most pool + reserve x (uids
 * holding).  The waiters and the poll handles (blocking.h) are counted so.
 */
#ifndef IPCFS_QUOTA_H
#define IPCFS_QUOTA_H

#include <stdbool.h>
#include <sys/types.h>

struct quota;

/* A quota of limit units per uid.  Returns 0 or -ENOMEM. */
int quota_new(struct quota **out, unsigned limit);
/* The same with a shared pool and a reserve per uid (see above). */
int quota_new_pooled(struct quota **out, unsigned limit, unsigned pool,
		     unsigned reserve);
void quota_free(struct quota *q);

/* Counts one more unit for uid: false (nothing counted) if uid may not
 * have one more, or no memory is left to count it. */
bool quota_take(struct quota *q, uid_t uid);
/* The same, telling why not: 0, -EAGAIN (the limits) or -ENOMEM. */
int quota_try(struct quota *q, uid_t uid);
/* Counts one more unit for uid whatever the limits: 0 or -ENOMEM. */
int quota_force(struct quota *q, uid_t uid);
/* Counts one unit less for uid. */
void quota_give(struct quota *q, uid_t uid);
/* The units uid holds (for tests and logs). */
unsigned quota_held(struct quota *q, uid_t uid);

#endif /* IPCFS_QUOTA_H */
