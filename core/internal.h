/*
 * Private declarations shared by the core's .c files (and by the core's own
 * tests).  Nothing here is part of the public API in ipcore.h.
 */
#ifndef IPCORE_INTERNAL_H
#define IPCORE_INTERNAL_H

#include "config.h"
#include "ipcore.h"

#include <stdio.h>
#include <sys/sem.h>

/* glibc does not define union semun (POSIX leaves it to the caller). */
#if !HAVE_UNION_SEMUN
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};
#endif

/*
 * How many random keys a get with IPCORE_KEY_RANDOM tries before giving up
 * with -EEXIST.  A namespace holds at most 32000 objects of a kind by
 * default, so with 32767 keys this only fails in a nearly full key space.
 */
#define IPCORE_RANDOM_TRIES 1000

/* One semget/shmget/msgget call: returns the id or -errno.  flags already
 * holds the permission bits; arg carries nsems or the size. */
typedef int ipcore_get_fn(key_t key, int flags, const void *arg);

/*
 * Runs get once with the given key, or, for IPCORE_KEY_RANDOM, with random
 * keys until it answers something other than -EEXIST (at most
 * IPCORE_RANDOM_TRIES times).  Fills *out on success.
 */
int ipcore_get_object(key_t key, enum ipcore_key_choice choice, int flags,
		      unsigned int mode, ipcore_get_fn *get, const void *arg,
		      struct ipcore_object *out);

/*
 * ipcore_list() on an already open file in the format of
 * /proc/sysvipc/<kind>, so that the parser can be tested on made-up
 * layouts.  The caller closes f.
 */
int ipcore_list_stream(enum ipcore_kind kind, FILE *f,
		       struct ipcore_entry **entries, size_t *count);

#endif /* IPCORE_INTERNAL_H */
