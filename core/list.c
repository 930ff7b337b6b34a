/*
 * Listing: one pass over /proc/sysvipc/{sem,shm,msg}, or one slot of the
 * kernel's table at a time with the *_STAT_ANY commands.
 *
 * The first line of each file names its columns; columns are found by name
 * so that a kernel which adds columns (shm gained rss and swap) still
 * parses.  Keys are signed decimal, perms octal, everything else decimal.
 */
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

/* The kernel has had these since Linux 4.17; older C libraries lack the
 * names.  An older kernel answers EINVAL: every slot then looks empty. */
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

enum column {
	COL_KEY,
	COL_ID,
	COL_PERMS,
	COL_SIZE,
	COL_UID,
	COL_GID,
	COL_CUID,
	COL_CGID,
	COL_CTIME,
	COL_COUNT
};

struct layout {
	const char *file;
	const char *names[COL_COUNT]; /* indexed by enum column */
};

static const struct layout layouts[] = {
	[IPCORE_SEM] = { "/proc/sysvipc/sem",
		{ "key", "semid", "perms", "nsems", "uid", "gid", "cuid",
		  "cgid", "ctime" } },
	[IPCORE_SHM] = { "/proc/sysvipc/shm",
		{ "key", "shmid", "perms", "size", "uid", "gid", "cuid",
		  "cgid", "ctime" } },
	[IPCORE_MQ] = { "/proc/sysvipc/msg",
		{ "key", "msqid", "perms", "cbytes", "uid", "gid", "cuid",
		  "cgid", "ctime" } },
};

#define WHITESPACE " \t\n"

/* Fills pos[c] with the index of column c in the header line, or fails with
 * -EIO if a column is missing (a format this code does not know). */
static int parse_header(const struct layout *lay, char *line, int *pos)
{
	char *save = NULL;
	char *tok;
	int c, i;

	for (c = 0; c < COL_COUNT; c++)
		pos[c] = -1;
	for (i = 0, tok = strtok_r(line, WHITESPACE, &save); tok;
	     i++, tok = strtok_r(NULL, WHITESPACE, &save)) {
		for (c = 0; c < COL_COUNT; c++)
			if (strcmp(tok, lay->names[c]) == 0)
				pos[c] = i;
	}
	for (c = 0; c < COL_COUNT; c++)
		if (pos[c] < 0)
			return -EIO;
	return 0;
}

/* Parses one whole token as a number in base; 0 on success. */
static int parse_signed(const char *tok, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(tok, &end, 10);
	return (errno || end == tok || *end) ? -EIO : 0;
}

static int parse_unsigned(const char *tok, int base, unsigned long long *v)
{
	char *end;

	if (*tok == '-')
		return -EIO;
	errno = 0;
	*v = strtoull(tok, &end, base);
	return (errno || end == tok || *end) ? -EIO : 0;
}

static int parse_row(char *line, const int *pos, struct ipcore_entry *e)
{
	long long sv[COL_COUNT] = { 0 };
	unsigned long long uv[COL_COUNT] = { 0 };
	int seen = 0;
	char *save = NULL;
	char *tok;
	int c, i, rc;

	for (i = 0, tok = strtok_r(line, WHITESPACE, &save); tok;
	     i++, tok = strtok_r(NULL, WHITESPACE, &save)) {
		for (c = 0; c < COL_COUNT; c++) {
			if (pos[c] != i)
				continue;
			if (c == COL_KEY || c == COL_CTIME)
				rc = parse_signed(tok, &sv[c]);
			else
				rc = parse_unsigned(tok,
						    c == COL_PERMS ? 8 : 10,
						    &uv[c]);
			if (rc)
				return rc;
			seen++;
		}
	}
	if (seen != COL_COUNT)
		return -EIO;
	if (sv[COL_KEY] < INT32_MIN || sv[COL_KEY] > INT32_MAX ||
	    uv[COL_ID] > INT32_MAX)
		return -EIO;

	e->key = (key_t)sv[COL_KEY];
	e->id = (int)uv[COL_ID];
	e->mode = (unsigned int)uv[COL_PERMS];
	e->size = uv[COL_SIZE];
	e->uid = (uid_t)uv[COL_UID];
	e->gid = (gid_t)uv[COL_GID];
	e->cuid = (uid_t)uv[COL_CUID];
	e->cgid = (gid_t)uv[COL_CGID];
	e->ctime = (time_t)sv[COL_CTIME];
	return 0;
}

int ipcore_list_stream(enum ipcore_kind kind, FILE *f,
		       struct ipcore_entry **entries, size_t *count)
{
	struct ipcore_entry *arr = NULL;
	size_t n = 0, cap = 16;
	int pos[COL_COUNT];
	char *line = NULL;
	size_t linecap = 0;
	int rc;

	if ((unsigned int)kind >= sizeof(layouts) / sizeof(layouts[0]))
		return -EINVAL;

	/* Always allocate, so that an empty list is a non-NULL array. */
	arr = malloc(cap * sizeof(*arr));
	if (!arr)
		return -ENOMEM;

	/* A file without even a header line is not one this code knows. */
	if (getline(&line, &linecap, f) < 0) {
		rc = -EIO;
		goto out;
	}
	rc = parse_header(&layouts[kind], line, pos);
	if (rc)
		goto out;

	errno = 0;
	while (getline(&line, &linecap, f) >= 0) {
		if (line[strspn(line, WHITESPACE)] == '\0')
			continue;
		if (n == cap) {
			struct ipcore_entry *bigger;

			if (cap > SIZE_MAX / 2 / sizeof(*arr)) {
				rc = -ENOMEM;
				goto out;
			}
			bigger = realloc(arr, 2 * cap * sizeof(*arr));
			if (!bigger) {
				rc = -ENOMEM;
				goto out;
			}
			arr = bigger;
			cap *= 2;
		}
		rc = parse_row(line, pos, &arr[n]);
		if (rc)
			goto out;
		n++;
	}
	if (ferror(f)) {
		rc = errno ? -errno : -EIO;
		goto out;
	}

	*entries = arr;
	*count = n;
	arr = NULL;
	rc = 0;
out:
	free(arr);
	free(line);
	return rc;
}

int ipcore_list(enum ipcore_kind kind, struct ipcore_entry **entries,
		size_t *count)
{
	FILE *f;
	int rc;

	if ((unsigned int)kind >= sizeof(layouts) / sizeof(layouts[0]))
		return -EINVAL;
	f = fopen(layouts[kind].file, "re");
	if (!f)
		return -errno;
	rc = ipcore_list_stream(kind, f, entries, count);
	fclose(f);
	return rc;
}

int ipcore_list_last_slot(enum ipcore_kind kind)
{
	union {
		struct seminfo sem;
		struct shminfo shm;
		struct msginfo msg;
	} info;
	union semun arg = { .__buf = &info.sem };
	int rc;

	/* IPC_INFO, not SEM_INFO/SHM_INFO/MSG_INFO: it answers the same
	 * highest slot, and SHM_INFO walks every segment to sum their pages. */
	switch (kind) {
	case IPCORE_SEM:
		rc = semctl(0, 0, IPC_INFO, arg);
		break;
	case IPCORE_SHM:
		rc = shmctl(0, IPC_INFO, (struct shmid_ds *)(void *)&info.shm);
		break;
	case IPCORE_MQ:
		rc = msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info.msg);
		break;
	default:
		return -EINVAL;
	}
	return rc < 0 ? -errno : rc;
}

int ipcore_list_slot(enum ipcore_kind kind, int slot, struct ipcore_entry *e)
{
	const struct ipc_perm *perm;
	union {
		struct semid_ds sem;
		struct shmid_ds shm;
		struct msqid_ds msg;
	} ds;
	union semun arg = { .buf = &ds.sem };
	int id;

	if (slot < 0)
		return -ENOENT;
	/* The kernel fills it; zeroed first all the same, since valgrind does
	 * not know that *_STAT_ANY write it and would take it for unset. */
	memset(&ds, 0, sizeof(ds));
	switch (kind) {
	case IPCORE_SEM:
		id = semctl(slot, 0, SEM_STAT_ANY, arg);
		perm = &ds.sem.sem_perm;
		break;
	case IPCORE_SHM:
		id = shmctl(slot, SHM_STAT_ANY, &ds.shm);
		perm = &ds.shm.shm_perm;
		break;
	case IPCORE_MQ:
		id = msgctl(slot, MSG_STAT_ANY, &ds.msg);
		perm = &ds.msg.msg_perm;
		break;
	default:
		return -EINVAL;
	}
	if (id < 0)
		return errno == EINVAL ? -ENOENT : -errno; /* EINVAL: empty */

	e->id = id;
	e->key = perm->__key;
	e->mode = perm->mode; /* as /proc prints it: SHM_DEST included */
	e->uid = perm->uid;
	e->gid = perm->gid;
	e->cuid = perm->cuid;
	e->cgid = perm->cgid;
	switch (kind) {
	case IPCORE_SEM:
		e->size = ds.sem.sem_nsems;
		e->ctime = ds.sem.sem_ctime;
		break;
	case IPCORE_SHM:
		e->size = ds.shm.shm_segsz;
		e->ctime = ds.shm.shm_ctime;
		break;
	default:
		e->size = ds.msg.__msg_cbytes;
		e->ctime = ds.msg.msg_ctime;
		break;
	}
	return 0;
}
