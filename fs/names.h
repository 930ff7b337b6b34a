/*
 * names — the parsers of what callers name: object directories
 * (<kind>/<key>[:<size>]), decimal numbers (ids, elements, message types)
 * and sizes.  Their own file so that the fuzz targets (fuzz/) link exactly
 * the code the daemon runs; they touch no object and no session.
 */
#ifndef IPCFS_NAMES_H
#define IPCFS_NAMES_H

#include "ipcfs.h"

#include <stdbool.h>
#include <sys/types.h>

/* Parses a whole decimal number in [min, max]; *canonical tells whether s
 * is the way printf("%lld") writes it. */
bool names_parse_dec(const char *s, long long min, long long max,
		     long long *v, bool *canonical);

/*
 * An object directory's name: the key in decimal or 0x-hex, optionally
 * followed by ":<size>" (VIA_SIZED): the set's nsems or the segment's
 * size, as mkdir takes it.  Without a size, the spelling that listings use
 * (names_format_key() of the mount's key_names) is VIA_KEY, any other
 * VIA_ALIAS: so a listed name and its lookup have one inode number.
 */
struct key_name {
	key_t key;
	enum via via;
	bool sized;
	unsigned long long size;
};

bool names_parse_key(const char *name, enum key_names names,
		     struct key_name *kn);

/* Writes key as listings of <kind>/ name it: "%d", or "0x%08x" for
 * KEYS_HEX (ipcs's spelling: 8 lowercase digits, negative keys as their
 * 32 bits).  Returns the length (snprintf's). */
int names_format_key(key_t key, enum key_names names, char *buf,
		     size_t len);

/* Parses a size: a positive decimal with an optional K, M or G suffix
 * (powers of 1024), as mkdir shm/<key>:<size> and -o shm_size= take it. */
bool names_parse_size(const char *s, unsigned long long *v);

#endif /* IPCFS_NAMES_H */
