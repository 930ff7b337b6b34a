/*
 * Shared memory: shmget, shmat/shmdt, and bounded copies with no system
 * call.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/shm.h>

static int shm_get_raw(key_t key, int flags, const void *arg)
{
	int id = shmget(key, *(const size_t *)arg, flags);

	return id < 0 ? -errno : id;
}

int ipcore_shm_get(key_t key, enum ipcore_key_choice choice, size_t size,
		   int flags, unsigned int mode, struct ipcore_object *out)
{
	return ipcore_get_object(key, choice, flags, mode, shm_get_raw, &size,
				 out);
}

int ipcore_shm_attach(int id, const void *address, int flags,
		      struct ipcore_mapping *map)
{
	struct shmid_ds ds;
	void *addr;
	int err;

	flags &= SHM_RDONLY | SHM_RND | SHM_REMAP;
	addr = shmat(id, address, flags);
	if (addr == (void *)-1)
		return -errno;

	/* Stat after attaching: the attachment keeps the segment (and so its
	 * id) alive even if someone removes it in between. */
	if (shmctl(id, IPC_STAT, &ds) < 0) {
		err = -errno;
		shmdt(addr);
		return err;
	}

	map->addr = addr;
	map->size = ds.shm_segsz;
	map->id = id;
	map->read_only = (flags & SHM_RDONLY) != 0;
	return 0;
}

int ipcore_shm_detach(struct ipcore_mapping *map)
{
	if (!map->addr)
		return -EINVAL;
	if (shmdt(map->addr) < 0)
		return -errno;
	memset(map, 0, sizeof(*map));
	return 0;
}

/* Checks that offset..offset+len lies inside the mapping, without
 * computing offset + len (which could wrap). */
static int shm_check(const struct ipcore_mapping *map, size_t offset,
		     size_t len)
{
	if (!map->addr)
		return -EINVAL;
	if (offset > map->size || len > map->size - offset)
		return -ERANGE;
	return 0;
}

int ipcore_shm_read(const struct ipcore_mapping *map, size_t offset,
		    void *buf, size_t len)
{
	int rc = shm_check(map, offset, len);

	if (rc)
		return rc;
	if (len)
		memcpy(buf, map->addr + offset, len);
	return 0;
}

int ipcore_shm_write(const struct ipcore_mapping *map, size_t offset,
		     const void *buf, size_t len)
{
	int rc;

	if (map->addr && map->read_only)
		return -EACCES;
	rc = shm_check(map, offset, len);
	if (rc)
		return rc;
	if (len)
		memcpy(map->addr + offset, buf, len);
	return 0;
}
