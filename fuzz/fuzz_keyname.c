/*
 * Object directory names, as lookup, mkdir and rmdir of <kind>/<name>
 * parse them: names_parse_key() on "123", "0x7b", "-5", "123:4096",
 * "5:3K"...  Checks against the grammar: [+-]?digits in the key range, or
 * 0x/0X and hex digits up to 32 bits, then optionally ':' and a size; a
 * canonical key (decimal, or 0x%08x with -o keys=hex: both are checked)
 * prints back as the name; an alias names the same key as its canonical
 * spelling; a size is what names_parse_size() gives.
 */
#include "fuzz.h"
#include "names.h"

#include <limits.h>

/* The key part by the grammar alone: true and *key, or false. */
static bool oracle_key(const char *s, size_t n, long long *key)
{
	unsigned long long v;
	size_t sign = s[0] == '-' || s[0] == '+';

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		size_t i;

		for (i = 2; i < n; i++)
			if (!strchr("0123456789abcdefABCDEF", s[i]))
				return false;
		if (!fuzz_value(s + 2, n - 2, 16, UINT32_MAX, &v))
			return false;
		*key = (int32_t)(uint32_t)v;
		return true;
	}
	if (!fuzz_all_digits(s + sign, n - sign) ||
	    !fuzz_value(s + sign, n - sign, 10, (unsigned long long)INT32_MAX + 1,
			&v))
		return false;
	*key = s[0] == '-' ? -(long long)v : (long long)v;
	return *key >= IPCORE_KEY_MIN && *key <= IPCORE_KEY_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks name s as a mount with key names "names" parses it. */
static void check(const char *s, enum key_names names)
{
	char again[32];
	const char *colon = strchr(s, ':');
	size_t keylen = colon ? (size_t)(colon - s) : strlen(s);
	struct key_name kn, kn2;
	unsigned long long sz = 0;
	long long key = 0;
	bool ok = names_parse_key(s, names, &kn);
	bool want = strlen(s) < 64 && oracle_key(s, keylen, &key) &&
		    (!colon || names_parse_size(colon + 1, &sz));

	CHECK(ok == want, "'%s': parsed %d, grammar says %d", s, ok, want);
	if (!ok)
		return;
	CHECK(kn.key == key, "'%s': key %d, not %lld", s, kn.key, key);
	CHECK(kn.sized == (colon != NULL) && kn.size == sz,
	      "'%s': size %d %llu", s, kn.sized, kn.size);
	CHECK(!kn.sized || kn.size > 0, "'%s': size 0", s);
	names_format_key(kn.key, names, again, sizeof(again));
	if (colon)
		CHECK(kn.via == VIA_SIZED, "'%s': via %d", s, kn.via);
	else if (!strcmp(again, s))
		CHECK(kn.via == VIA_KEY, "'%s': canonical, via %d", s, kn.via);
	else
		CHECK(kn.via == VIA_ALIAS, "'%s': alias, via %d", s, kn.via);
	/* The canonical spelling of the same key (as listings write it). */
	CHECK(names_parse_key(again, names, &kn2) && kn2.key == kn.key &&
	      kn2.via == VIA_KEY, "'%s' -> '%s' does not parse back", s,
	      again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);

	check(s, KEYS_DEC);
	check(s, KEYS_HEX);
	free(s);
	return 0;
}
