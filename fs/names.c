/* names — see names.h. */
#include "names.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool names_parse_dec(const char *s, long long min, long long max,
		     long long *v, bool *canonical)
{
	char *end, again[32];
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;

	if (!isdigit((unsigned char)*d))
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || *end || *v < min || *v > max)
		return false;
	snprintf(again, sizeof(again), "%lld", *v);
	*canonical = !strcmp(again, s);
	return true;
}

int names_format_key(key_t key, enum key_names names, char *buf,
		     size_t len)
{
	if (names == KEYS_HEX)
		return snprintf(buf, len, "0x%08" PRIx32, (uint32_t)key);
	return snprintf(buf, len, "%d", (int)key);
}

bool names_parse_key(const char *name, enum key_names names,
		     struct key_name *kn)
{
	char buf[64], again[16], *colon, *end;
	long long v;
	bool canonical = false;

	if (strlen(name) >= sizeof(buf))
		return false;
	strcpy(buf, name);
	colon = strchr(buf, ':');
	kn->sized = colon != NULL;
	kn->size = 0;
	if (colon) {
		*colon = '\0';
		if (!names_parse_size(colon + 1, &kn->size))
			return false;
	}
	if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
		unsigned long long u;

		/* Hex digits only: strtoull() would take a second 0x
		 * ("0x0x7b", found by fuzz_keyname). */
		if (!buf[2] ||
		    buf[2 + strspn(buf + 2, "0123456789abcdefABCDEF")])
			return false;
		errno = 0;
		u = strtoull(buf + 2, &end, 16);
		if (errno || *end || u > UINT32_MAX)
			return false;
		kn->key = (key_t)(int32_t)(uint32_t)u;
	} else {
		if (!names_parse_dec(buf, IPCORE_KEY_MIN, IPCORE_KEY_MAX, &v,
				     &canonical))
			return false;
		kn->key = (key_t)v;
	}
	names_format_key(kn->key, names, again, sizeof(again));
	canonical = !strcmp(again, buf);
	kn->via = kn->sized ? VIA_SIZED : canonical ? VIA_KEY : VIA_ALIAS;
	return true;
}

bool names_parse_size(const char *s, unsigned long long *v)
{
	char *end;
	unsigned shift = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || *v == 0 || *v > (ULLONG_MAX >> shift))
		return false;
	*v <<= shift;
	return true;
}
