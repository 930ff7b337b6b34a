/*
 * Listing: exactly the objects made, with their attributes, from the real
 * /proc/sysvipc files and from made-up layouts, and slot by slot.
 */
#include "testutil.h"
#include "internal.h"

#include <errno.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

static size_t list(enum ipcore_kind kind, struct ipcore_entry **e)
{
	size_t n = 0;

	*e = NULL;
	REQUIRE(ipcore_list(kind, e, &n) == 0);
	REQUIRE(*e != NULL);
	return n;
}

static const struct ipcore_entry *find(const struct ipcore_entry *e,
				       size_t n, int id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (e[i].id == id)
			return &e[i];
	return NULL;
}

/* Reading every slot up to the last in use gives what ipcore_list() gives,
 * field for field. */
static void check_slots(enum ipcore_kind kind)
{
	struct ipcore_entry *e, s;
	size_t n = list(kind, &e), seen = 0;
	int last = ipcore_list_last_slot(kind), slot, rc;

	CHECK(last >= 0);
	for (slot = 0; slot <= last; slot++) {
		const struct ipcore_entry *x;

		rc = ipcore_list_slot(kind, slot, &s);
		if (rc == -ENOENT)
			continue;
		CHECK_RC(rc, 0);
		seen++;
		x = find(e, n, s.id);
		CHECK(x != NULL);
		if (!x)
			continue;
		CHECK_RC(s.key, x->key);
		CHECK_RC(s.mode, x->mode);
		CHECK_RC(s.uid, x->uid);
		CHECK_RC(s.gid, x->gid);
		CHECK_RC(s.cuid, x->cuid);
		CHECK_RC(s.cgid, x->cgid);
		CHECK_RC(s.size, x->size);
		CHECK_RC(s.ctime, x->ctime);
	}
	CHECK_RC(seen, n);
	CHECK_RC(ipcore_list_slot(kind, last + 1, &s), -ENOENT);
	CHECK_RC(ipcore_list_slot(kind, -1, &s), -ENOENT);
	free(e);
}

static void check_all_slots(void)
{
	check_slots(IPCORE_SEM);
	check_slots(IPCORE_SHM);
	check_slots(IPCORE_MQ);
}

static void test_empty(void)
{
	struct ipcore_entry *e, *untouched = (struct ipcore_entry *)&e;
	size_t n = 99;

	CHECK_RC(list(IPCORE_SEM, &e), 0);
	free(e);
	CHECK_RC(list(IPCORE_SHM, &e), 0);
	free(e);
	CHECK_RC(list(IPCORE_MQ, &e), 0);
	free(e);

	e = untouched;
	CHECK_RC(ipcore_list((enum ipcore_kind)3, &e, &n), -EINVAL);
	CHECK(e == untouched && n == 99);

	check_all_slots();
	CHECK_RC(ipcore_list_last_slot((enum ipcore_kind)3), -EINVAL);
	CHECK_RC(ipcore_list_slot((enum ipcore_kind)3, 0, untouched), -EINVAL);
}

static void test_objects(void)
{
	struct ipcore_object s1, s2, m, q1, q2;
	struct ipcore_mapping map = { 0 };
	const struct ipcore_entry *x;
	struct ipcore_entry *e;
	time_t start = time(NULL);
	size_t n;
	union {
		struct ipcore_msgbuf msg;
		char bytes[sizeof(struct ipcore_msgbuf) + 8];
	} mb;

	REQUIRE(ipcore_sem_get(1001, IPCORE_KEY_GIVEN, 4, IPC_CREAT, 0640,
			       &s1) == 0);
	test_track(IPCORE_SEM, s1.id);
	REQUIRE(ipcore_sem_get(IPC_PRIVATE, IPCORE_KEY_GIVEN, 1, IPC_CREAT,
			       0600, &s2) == 0);
	test_track(IPCORE_SEM, s2.id);
	REQUIRE(ipcore_shm_get(2002, IPCORE_KEY_GIVEN, 5000, IPC_CREAT, 0604,
			       &m) == 0);
	test_track(IPCORE_SHM, m.id);
	/* A negative key: /proc prints keys as signed decimal. */
	REQUIRE(ipcore_mq_get(-5, IPCORE_KEY_GIVEN, IPC_CREAT, 0620, &q1) == 0);
	test_track(IPCORE_MQ, q1.id);
	REQUIRE(ipcore_mq_get(3003, IPCORE_KEY_GIVEN, IPC_CREAT, 0666,
			      &q2) == 0);
	test_track(IPCORE_MQ, q2.id);
	mb.msg.type = 1;
	memcpy(mb.msg.text, "seven!!", 7);
	CHECK_RC(ipcore_mq_send(q2.id, &mb.msg, 7, 0), 0);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_MQ, q2.id, TEST_NOBODY,
				       TEST_NOBODY, (unsigned int)-1), 0);

	check_all_slots();
	n = list(IPCORE_SEM, &e);
	CHECK_RC(n, 2);
	x = find(e, n, s1.id);
	CHECK(x != NULL);
	if (x) {
		CHECK_RC(x->key, 1001);
		CHECK_RC(x->mode, 0640);
		CHECK_RC(x->size, 4);
		CHECK_RC(x->uid, getuid());
		CHECK_RC(x->gid, getgid());
		CHECK_RC(x->cuid, getuid());
		CHECK_RC(x->cgid, getgid());
		CHECK(x->ctime >= start - 1 && x->ctime <= time(NULL) + 1);
	}
	x = find(e, n, s2.id);
	CHECK(x != NULL);
	if (x) {
		CHECK_RC(x->key, IPC_PRIVATE);
		CHECK_RC(x->size, 1);
	}
	free(e);

	n = list(IPCORE_SHM, &e);
	CHECK_RC(n, 1);
	x = find(e, n, m.id);
	CHECK(x != NULL);
	if (x) {
		CHECK_RC(x->key, 2002);
		CHECK_RC(x->mode, 0604);
		CHECK_RC(x->size, 5000);
	}
	free(e);

	n = list(IPCORE_MQ, &e);
	CHECK_RC(n, 2);
	x = find(e, n, q1.id);
	CHECK(x != NULL);
	if (x) {
		CHECK_RC(x->key, -5);
		CHECK_RC(x->mode, 0620);
		CHECK_RC(x->size, 0);
	}
	x = find(e, n, q2.id);
	CHECK(x != NULL);
	if (x) {
		CHECK_RC(x->key, 3003);
		CHECK_RC(x->size, 7); /* bytes queued */
		CHECK_RC(x->uid, TEST_NOBODY);
		CHECK_RC(x->gid, TEST_NOBODY);
		CHECK_RC(x->cuid, getuid());
	}
	free(e);

	/* A segment removed while attached is listed with SHM_DEST (and
	 * key IPC_PRIVATE) until it is detached. */
	REQUIRE(ipcore_shm_attach(m.id, NULL, 0, &map) == 0);
	test_remove(IPCORE_SHM, m.id);
	n = list(IPCORE_SHM, &e);
	CHECK_RC(n, 1);
	x = find(e, n, m.id);
	CHECK(x != NULL);
	if (x) {
		CHECK(x->mode & SHM_DEST);
		CHECK_RC(x->mode & 0777, 0604);
		CHECK_RC(x->key, IPC_PRIVATE);
	}
	free(e);
	check_slots(IPCORE_SHM);
	CHECK_RC(ipcore_shm_detach(&map), 0);
	CHECK_RC(list(IPCORE_SHM, &e), 0);
	free(e);

	test_remove(IPCORE_SEM, s1.id);
	test_remove(IPCORE_SEM, s2.id);
	test_remove(IPCORE_MQ, q1.id);
	test_remove(IPCORE_MQ, q2.id);
	CHECK_RC(list(IPCORE_SEM, &e), 0);
	free(e);
	CHECK_RC(list(IPCORE_MQ, &e), 0);
	free(e);
}

#define MANY 100

/* More objects than the first allocation holds: the array grows. */
static void test_many(void)
{
	int ids[MANY];
	struct ipcore_entry *e;
	struct ipcore_object o;
	size_t n;
	int i, found = 0;

	for (i = 0; i < MANY; i++) {
		REQUIRE(ipcore_mq_get(10000 + i, IPCORE_KEY_GIVEN,
				      IPC_CREAT | IPC_EXCL, 0600, &o) == 0);
		test_track(IPCORE_MQ, o.id);
		ids[i] = o.id;
	}
	n = list(IPCORE_MQ, &e);
	CHECK_RC(n, MANY);
	for (i = 0; i < MANY; i++) {
		const struct ipcore_entry *x = find(e, n, ids[i]);

		if (x && x->key == 10000 + i)
			found++;
	}
	CHECK_RC(found, MANY);
	free(e);
	check_slots(IPCORE_MQ);
	/* Gaps: every other one removed. */
	for (i = 0; i < MANY; i += 2)
		test_remove(IPCORE_MQ, ids[i]);
	check_slots(IPCORE_MQ);
	for (i = 1; i < MANY; i += 2)
		test_remove(IPCORE_MQ, ids[i]);
	check_slots(IPCORE_MQ);
}

/* Parses text as /proc/sysvipc/<kind> would read. */
static int parse(enum ipcore_kind kind, const char *text,
		 struct ipcore_entry **e, size_t *n)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int rc;

	REQUIRE(f != NULL);
	rc = ipcore_list_stream(kind, f, e, n);
	fclose(f);
	return rc;
}

static void test_layouts(void)
{
	struct ipcore_entry *e = NULL;
	size_t n = 0;

	/* Columns reordered, an unknown one added, a blank line. */
	CHECK_RC(parse(IPCORE_SEM,
		       "  semid future   key perms nsems uid gid cuid cgid "
		       "otime ctime\n"
		       "     7     xyz  -123  1644     3  10  20   30   40 "
		       "    0  1700000000\n"
		       "\n"
		       "     8     abc 2147483647 600 1 0 0 0 0 0 5\n",
		       &e, &n), 0);
	CHECK_RC(n, 2);
	if (n == 2) {
		CHECK_RC(e[0].id, 7);
		CHECK_RC(e[0].key, -123);
		CHECK_RC(e[0].mode, 01644); /* octal */
		CHECK_RC(e[0].size, 3);
		CHECK_RC(e[0].uid, 10);
		CHECK_RC(e[0].gid, 20);
		CHECK_RC(e[0].cuid, 30);
		CHECK_RC(e[0].cgid, 40);
		CHECK_RC(e[0].ctime, 1700000000);
		CHECK_RC(e[1].key, 2147483647);
		CHECK_RC(e[1].ctime, 5);
	}
	free(e);

	/* The 6.x shm layout with rss and swap, a size above 4 GiB. */
	e = NULL;
	CHECK_RC(parse(IPCORE_SHM,
		       "       key      shmid perms                  size  cpid"
		       "  lpid nattch   uid   gid  cuid  cgid      atime     "
		       " dtime      ctime                   rss             "
		       "      swap\n"
		       "         0          3  1600           8589934592   "
		       "100     0      1     0     0     0     0          0  "
		       "        0 1764600000                     0          "
		       "           0\n",
		       &e, &n), 0);
	CHECK_RC(n, 1);
	if (n == 1) {
		CHECK_RC(e[0].id, 3);
		CHECK_RC(e[0].mode, 01600);
		CHECK_RC(e[0].size, 8589934592ULL);
		CHECK_RC(e[0].ctime, 1764600000);
	}
	free(e);

	/* Formats this code does not know: -EIO, nothing returned. */
	e = NULL;
	CHECK_RC(parse(IPCORE_MQ, "", &e, &n), -EIO);
	CHECK_RC(parse(IPCORE_MQ, "key msqid perms uid gid cuid cgid\n", &e,
		       &n), -EIO); /* no cbytes, no ctime */
	CHECK_RC(parse(IPCORE_MQ,
		       "key msqid perms cbytes uid gid cuid cgid ctime\n"
		       "1 2 600 0 0 0 0\n", &e, &n), -EIO); /* short row */
	CHECK_RC(parse(IPCORE_MQ,
		       "key msqid perms cbytes uid gid cuid cgid ctime\n"
		       "1 2 689 0 0 0 0 0 0\n", &e, &n), -EIO); /* not octal */
	CHECK_RC(parse(IPCORE_MQ,
		       "key msqid perms cbytes uid gid cuid cgid ctime\n"
		       "4294967296 2 600 0 0 0 0 0 0\n", &e, &n), -EIO);
	CHECK_RC(parse(IPCORE_MQ,
		       "key msqid perms cbytes uid gid cuid cgid ctime\n"
		       "1 -2 600 0 0 0 0 0 0\n", &e, &n), -EIO);
	CHECK(e == NULL);
}

int main(void)
{
	test_init("test_list");
	test_empty();
	test_objects();
	test_many();
	test_layouts();
	return test_done();
}
