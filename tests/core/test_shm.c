/*
 * Shared memory: get, attach/detach, bounded reads and writes, attributes,
 * permissions.
 */
#include "testutil.h"

#include <errno.h>
#include <stdint.h>
#include <sys/shm.h>
#include <unistd.h>

#define KEY 6161
#define SIZE 10000

static int seg_id;

static void test_get(void)
{
	struct ipcore_object o;
	struct ipcore_shm_info si;
	int rc;

	CHECK_RC(ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, SIZE, 0, 0600, &o),
		 -ENOENT);
	REQUIRE(ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, SIZE,
			       IPC_CREAT | IPC_EXCL, 0600, &o) == 0);
	test_track(IPCORE_SHM, o.id);
	seg_id = o.id;

	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK_RC(si.perm.key, KEY);
	CHECK_RC(si.perm.mode, 0600);
	CHECK_RC(si.perm.uid, getuid());
	CHECK_RC(si.size, SIZE);
	CHECK_RC(si.cpid, getpid());
	CHECK_RC(si.nattch, 0);
	CHECK_RC(si.atime, 0);

	/* Opening accepts 0 or any size up to the segment's. */
	CHECK_RC(ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, 0, 0, 0, &o), 0);
	CHECK_RC(o.id, seg_id);
	CHECK_RC(ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, SIZE - 1, 0, 0, &o), 0);
	rc = ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, SIZE + 1, 0, 0, &o);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_GET, IPCORE_ERR_RANGE);
	CHECK_RC(ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, SIZE,
				IPC_CREAT | IPC_EXCL, 0600, &o), -EEXIST);
}

static void test_access(void)
{
	struct ipcore_mapping rw = { 0 }, ro = { 0 };
	struct ipcore_shm_info si;
	unsigned char buf[16], tail[4];
	int rc;

	REQUIRE(ipcore_shm_attach(seg_id, NULL, 0, &rw) == 0);
	CHECK(rw.addr != NULL);
	CHECK_RC(rw.size, SIZE);
	CHECK_RC(rw.id, seg_id);
	CHECK(!rw.read_only);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK_RC(si.nattch, 1);
	CHECK(si.atime > 0);
	CHECK_RC(si.lpid, getpid());

	/* A new segment is zeroed. */
	CHECK_RC(ipcore_shm_read(&rw, SIZE - 4, tail, 4), 0);
	CHECK(memcmp(tail, "\0\0\0\0", 4) == 0);

	CHECK_RC(ipcore_shm_write(&rw, 0, "hello", 5), 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_RC(ipcore_shm_read(&rw, 0, buf, 5), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK(rw.addr[4] == 'o');
	/* The last bytes of the segment, exactly. */
	CHECK_RC(ipcore_shm_write(&rw, SIZE - 5, "WORLD", 5), 0);
	CHECK(memcmp(rw.addr + SIZE - 5, "WORLD", 5) == 0);

	/* Out of range: ERANGE, and nothing copied either way. */
	rc = ipcore_shm_write(&rw, SIZE - 4, "abcde", 5);
	CHECK_RC(rc, -ERANGE);
	CHECK_KIND(rc, IPCORE_OP_ACCESS, IPCORE_ERR_RANGE);
	CHECK(memcmp(rw.addr + SIZE - 5, "WORLD", 5) == 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_RC(ipcore_shm_read(&rw, SIZE - 4, buf, 5), -ERANGE);
	CHECK(buf[0] == 'x' && buf[4] == 'x');
	CHECK_RC(ipcore_shm_read(&rw, SIZE + 1, buf, 0), -ERANGE);
	CHECK_RC(ipcore_shm_read(&rw, SIZE, buf, 0), 0);
	CHECK_RC(ipcore_shm_read(&rw, SIZE, buf, 1), -ERANGE);
	/* offset + len would wrap around to a small number. */
	CHECK_RC(ipcore_shm_read(&rw, SIZE_MAX, buf, 2), -ERANGE);
	CHECK_RC(ipcore_shm_read(&rw, 2, buf, SIZE_MAX), -ERANGE);
	CHECK_RC(ipcore_shm_write(&rw, SIZE_MAX - 1, "ab", 2), -ERANGE);
	CHECK(buf[0] == 'x');

	/* A second, read-only attachment sees the same bytes. */
	REQUIRE(ipcore_shm_attach(seg_id, NULL, SHM_RDONLY, &ro) == 0);
	CHECK(ro.read_only);
	CHECK(ro.addr != rw.addr);
	CHECK_RC(ipcore_shm_read(&ro, 0, buf, 5), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	rc = ipcore_shm_write(&ro, 0, "HELLO", 5);
	CHECK_RC(rc, -EACCES);
	CHECK_KIND(rc, IPCORE_OP_ACCESS, IPCORE_ERR_OTHER);
	CHECK(memcmp(rw.addr, "hello", 5) == 0);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK_RC(si.nattch, 2);

	/* Detach: the map is zeroed; twice is "not attached". */
	CHECK_RC(ipcore_shm_detach(&ro), 0);
	CHECK(ro.addr == NULL && ro.size == 0 && !ro.read_only);
	rc = ipcore_shm_detach(&ro);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_DETACH, IPCORE_ERR_NOT_ATTACHED);
	rc = ipcore_shm_read(&ro, 0, buf, 1);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_ACCESS, IPCORE_ERR_NOT_ATTACHED);
	rc = ipcore_shm_write(&ro, 0, "a", 1);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_ACCESS, IPCORE_ERR_NOT_ATTACHED);
	CHECK_RC(ipcore_shm_detach(&rw), 0);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK_RC(si.nattch, 0);
	CHECK(si.dtime > 0);

	/* Data outlives the attachments. */
	REQUIRE(ipcore_shm_attach(seg_id, NULL, SHM_RDONLY, &ro) == 0);
	CHECK_RC(ipcore_shm_read(&ro, 0, buf, 5), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_RC(ipcore_shm_detach(&ro), 0);
}

static void test_attach_errors(void)
{
	struct ipcore_mapping map, before;
	int rc;

	/* A failed attach leaves the map as it was. */
	memset(&map, 0x5a, sizeof(map));
	before = map;
	rc = ipcore_shm_attach(-1, NULL, 0, &map);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_ATTACH, IPCORE_ERR_EXISTENTIAL);
	CHECK(memcmp(&map, &before, sizeof(map)) == 0);

	/* An address not on an SHMLBA boundary, without SHM_RND. */
	rc = ipcore_shm_attach(seg_id, (void *)(uintptr_t)0x10001, 0, &map);
	CHECK_RC(rc, -EINVAL);
	CHECK(memcmp(&map, &before, sizeof(map)) == 0);

	/* A never-attached (zeroed) map. */
	memset(&map, 0, sizeof(map));
	CHECK_RC(ipcore_shm_detach(&map), -EINVAL);
}

static int refused_child(void *arg)
{
	struct ipcore_mapping map = { 0 };
	struct ipcore_shm_info si;
	struct ipcore_object o;
	int rc;

	(void)arg;
	rc = ipcore_shm_attach(seg_id, NULL, SHM_RDONLY, &map);
	CHECK_RC(rc, -EACCES);
	CHECK_KIND(rc, IPCORE_OP_ATTACH, IPCORE_ERR_PERMISSIONS);
	CHECK(map.addr == NULL);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), -EACCES);
	CHECK_RC(ipcore_shm_get(KEY, IPCORE_KEY_GIVEN, 0, 0, 0400, &o),
		 -EACCES);
	CHECK_RC(ipcore_remove(IPCORE_SHM, seg_id), -EPERM);
	return test_failures;
}

/* 0644: nobody may attach read-only and read, not attach to write. */
static int reader_child(void *arg)
{
	struct ipcore_mapping map = { 0 };
	char buf[5];

	(void)arg;
	CHECK_RC(ipcore_shm_attach(seg_id, NULL, 0, &map), -EACCES);
	CHECK_RC(ipcore_shm_attach(seg_id, NULL, SHM_RDONLY, &map), 0);
	CHECK_RC(ipcore_shm_read(&map, 0, buf, 5), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_RC(ipcore_shm_detach(&map), 0);
	return test_failures;
}

static void test_permissions(void)
{
	struct ipcore_shm_info si;

	CHECK_RC(test_as_nobody(refused_child, NULL), 0);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SHM, seg_id, (uid_t)-1,
				       (gid_t)-1, 0644), 0);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK_RC(si.perm.mode, 0644);
	CHECK_RC(test_as_nobody(reader_child, NULL), 0);
	CHECK_RC(ipcore_set_owner_mode(IPCORE_SHM, seg_id, TEST_NOBODY,
				       (gid_t)-1, (unsigned int)-1), 0);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK_RC(si.perm.uid, TEST_NOBODY);
	CHECK_RC(si.perm.gid, getgid());
	CHECK_RC(si.perm.mode, 0644);
}

/* Removed while attached: the segment lives on (SHM_DEST) until the last
 * detach, then its id names nothing. */
static void test_removed(void)
{
	struct ipcore_mapping map = { 0 };
	struct ipcore_shm_info si;
	char buf[5];
	int rc;

	REQUIRE(ipcore_shm_attach(seg_id, NULL, 0, &map) == 0);
	test_remove(IPCORE_SHM, seg_id);
	CHECK_RC(ipcore_shm_stat(seg_id, &si), 0);
	CHECK(si.perm.mode & SHM_DEST);
	CHECK_RC(si.perm.mode & 0777, 0644);
	CHECK_RC(ipcore_shm_read(&map, 0, buf, 5), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_RC(ipcore_shm_detach(&map), 0);

	rc = ipcore_shm_stat(seg_id, &si);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_STAT, IPCORE_ERR_EXISTENTIAL);
	rc = ipcore_shm_attach(seg_id, NULL, 0, &map);
	CHECK_RC(rc, -EINVAL);
	CHECK_KIND(rc, IPCORE_OP_ATTACH, IPCORE_ERR_EXISTENTIAL);
	CHECK_RC(ipcore_remove(IPCORE_SHM, seg_id), -EINVAL);
}

int main(void)
{
	test_init("test_shm");
	test_get();
	test_access();
	test_attach_errors();
	test_permissions();
	test_removed();
	return test_done();
}
