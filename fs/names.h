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
 * An object directory's name: the key in decimal (canonical: VIA_KEY) or
 * in any other spelling, e.g. 0x-hex as ipcs prints it (VIA_ALIAS),
 * optionally followed by ":<size>" (VIA_SIZED): the set's nsems or the
 * segment's size, as mkdir takes it.
 */
struct key_name {
	key_t key;
	enum via via;
	bool sized;
	unsigned long long size;
};

bool names_parse_key(const char *name, struct key_name *kn);

/* Parses a size: a positive decimal with an optional K, M or G suffix
 * (powers of 1024), as mkdir shm/<key>:<size> and -o shm_size= take it. */
bool names_parse_size(const char *s, unsigned long long *v);

#endif /* IPCFS_NAMES_H */
