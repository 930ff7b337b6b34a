/*
 * quota — how much of one of the daemon's resources each user holds, so
 * that no user can take all of it from the others (issue 8: one user
 * must not make another's call fail).  A counter per uid, with one limit
 * for every uid; uids with nothing held take no memory.
 */
#ifndef IPCFS_QUOTA_H
#define IPCFS_QUOTA_H

#include <stdbool.h>
#include <sys/types.h>

struct quota;

/* A quota of limit units per uid.  Returns 0 or -ENOMEM. */
int quota_new(struct quota **out, unsigned limit);
void quota_free(struct quota *q);

/* Counts one more unit for uid: false (nothing counted) if uid already
 * holds limit units, or no memory is left to count it. */
bool quota_take(struct quota *q, uid_t uid);
/* Counts one unit less for uid. */
void quota_give(struct quota *q, uid_t uid);
/* The units uid holds (for tests and logs). */
unsigned quota_held(struct quota *q, uid_t uid);

#endif /* IPCFS_QUOTA_H */
