/*
 * fuzz_requests: the IPC objects of the private namespace (the set every
 * input starts with, the namespace's limits), and the check that only
 * root, the owner or the creator change an object.
 */
#include "requests.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>

int object_ids[4];

static void remove_all(void)
{
	static const enum ipcore_kind kinds[] = { IPCORE_SEM, IPCORE_SHM,
						  IPCORE_MQ };
	struct ipcore_entry *e;
	size_t n, i, k;

	for (k = 0; k < 3; k++) {
		CHECK(ipcore_list(kinds[k], &e, &n) == 0, "cannot list");
		for (i = 0; i < n; i++)
			ipcore_remove(kinds[k], e[i].id);
		free(e);
	}
}

void reset_objects(void)
{
	struct {
		long type;
		char text[8];
	} m;
	unsigned short vals[3] = { 0, 1, 5 };
	struct semid_ds ds;
	long types[3] = { 1, 2, 5 };
	int sem, shm, mq, priv, i;
	void *at;

	remove_all();
	sem = semget(KEY_SEM, 3, IPC_CREAT | 0666);
	CHECK(sem >= 0 && semctl(sem, 0, SETALL, vals) == 0, "semget: %s",
	      strerror(errno));
	shm = shmget(KEY_SHM, 4096, IPC_CREAT | 0666);
	at = shm >= 0 ? shmat(shm, NULL, 0) : (void *)-1;
	CHECK(at != (void *)-1, "shm: %s", strerror(errno));
	memcpy(at, "segment bytes\n", 14);
	shmdt(at);
	mq = msgget(KEY_MQ, IPC_CREAT | 0666);
	CHECK(mq >= 0, "msgget: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		m.type = types[i];
		memcpy(m.text, "message", 8);
		CHECK(msgsnd(mq, &m, 8, IPC_NOWAIT) == 0, "msgsnd: %s",
		      strerror(errno));
	}
	priv = semget(KEY_SEM_PRIVATE, 1, IPC_CREAT | 0600);
	CHECK(priv >= 0 && semctl(priv, 0, IPC_STAT, &ds) == 0, "semget");
	ds.sem_perm.uid = 1000;
	ds.sem_perm.gid = 1000;
	CHECK(semctl(priv, 0, IPC_SET, &ds) == 0, "IPC_SET");
	object_ids[0] = sem;
	object_ids[1] = shm;
	object_ids[2] = mq;
	object_ids[3] = priv;
}

/* Writes a sysctl of this IPC namespace. */
void set_limit(const char *path, const char *value)
{
	FILE *f = fopen(path, "we");

	CHECK(f && fputs(value, f) >= 0 && fclose(f) == 0, "%s", path);
}

void check_private_namespace(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/ipc", &self) == 0 &&
	    stat("/proc/1/ns/ipc", &init) == 0 && self.st_ino == init.st_ino) {
		fprintf(stderr, "fuzz_requests removes every IPC object: run "
			"it in a private IPC namespace (unshare --ipc, as "
			"scripts/fuzz does)\n");
		exit(2);
	}
}

/* ------------------------------------------------------------------ */
/* Ownership: only root, the owner or the creator change it           */
/* ------------------------------------------------------------------ */

/* The owner, group and mode of every object, for the caller's check. */
size_t owners(struct owner_view *v)
{
	static const enum ipcore_kind kinds[] = { IPCORE_SEM, IPCORE_SHM,
						  IPCORE_MQ };
	struct ipcore_entry *e;
	size_t n = 0, count, i, k;

	for (k = 0; k < 3; k++) {
		CHECK(ipcore_list(kinds[k], &e, &count) == 0, "cannot list");
		for (i = 0; i < count && n < MAX_OBJECTS; i++)
			v[n++] = (struct owner_view){ kinds[k], e[i] };
		free(e);
	}
	return n;
}

/*
 * After a request of an unprivileged caller: every object it neither owns
 * nor created has the owner, group and mode it had, and still exists
 * (IPC_SET and IPC_RMID are for root, the owner and the creator; the
 * daemon, root itself, must check it: with default_permissions the kernel
 * lets anyone write an owner-only file of an object whose creator is not
 * its owner, see file_mode() in ops.c).
 */
void check_owners(const struct fuzz_caller *c, uint32_t opcode,
		  const struct owner_view *before, size_t nbefore)
{
	struct owner_view after[MAX_OBJECTS];
	size_t nafter = owners(after), i, j;

	for (i = 0; i < nbefore; i++) {
		const struct ipcore_entry *b = &before[i].e;
		bool mine = c->uid == b->uid || c->uid == b->cuid;

		for (j = 0; j < nafter; j++)
			if (after[j].kind == before[i].kind &&
			    after[j].e.id == b->id)
				break;
		if (mine)
			continue;
		CHECK(j < nafter, "op %u of uid %u removed object %d (kind "
		      "%d) of uid %u, creator %u", opcode, c->uid, b->id,
		      before[i].kind, b->uid, b->cuid);
		CHECK(after[j].e.uid == b->uid && after[j].e.gid == b->gid &&
		      (after[j].e.mode & 0777) == (b->mode & 0777),
		      "op %u of uid %u changed object %d (kind %d): uid %u->%u "
		      "gid %u->%u mode 0%o->0%o (creator %u)", opcode, c->uid,
		      b->id, before[i].kind, b->uid, after[j].e.uid, b->gid,
		      after[j].e.gid, b->mode & 0777, after[j].e.mode & 0777,
		      b->cuid);
	}
}
