/*
 * Random keys and the get-with-key loop shared by the three kinds.
 */
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#if HAVE_GETRANDOM
#include <sys/random.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

/* Fills buf with len random bytes from the kernel.  Returns 0 or -errno. */
static int random_bytes(void *buf, size_t len)
{
#if HAVE_GETRANDOM
	/* Reads of up to 256 bytes are never short or interrupted once the
	 * pool is initialised; check anyway rather than trust it. */
	ssize_t n = getrandom(buf, len, 0);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
#else
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	err = n < 0 ? -errno : ((size_t)n != len ? -EIO : 0);
	close(fd);
	return err;
#endif
}

int ipcore_random_key(key_t *key)
{
	uint16_t r;
	int err;

	/* Keep 15 bits and reject 0 (IPC_PRIVATE): uniform on 1..32767. */
	do {
		err = random_bytes(&r, sizeof(r));
		if (err)
			return err;
		r &= IPCORE_RANDOM_KEY_MAX;
	} while (r == 0);

	*key = (key_t)r;
	return 0;
}

int ipcore_get_object(key_t key, enum ipcore_key_choice choice, int flags,
		      unsigned int mode, ipcore_get_fn *get, const void *arg,
		      struct ipcore_object *out)
{
	int tries;
	int rc;

	/* The low 9 bits of the flags are permission bits: only mode sets
	 * them. */
	flags = (flags & ~0777) | (int)(mode & 0777);

	if (choice == IPCORE_KEY_GIVEN) {
		rc = get(key, flags, arg);
		if (rc < 0)
			return rc;
		out->id = rc;
		out->key = key;
		return 0;
	}
	if (choice != IPCORE_KEY_RANDOM)
		return -EINVAL;

	/* Without IPC_EXCL an existing object would be opened instead of a
	 * new one made, and the "random" key would name someone else's. */
	if ((flags & (IPC_CREAT | IPC_EXCL)) != (IPC_CREAT | IPC_EXCL))
		return -EINVAL;

	for (tries = 0; tries < IPCORE_RANDOM_TRIES; tries++) {
		rc = ipcore_random_key(&key);
		if (rc)
			return rc;
		rc = get(key, flags, arg);
		if (rc == -EEXIST)
			continue;
		if (rc < 0)
			return rc;
		out->id = rc;
		out->key = key;
		return 0;
	}
	return -EEXIST;
}
