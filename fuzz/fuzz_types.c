/*
 * The names of message type directories (mq/<key>/type/<t>), by-id ids
 * and element numbers: names_parse_dec() over the ranges lookup gives it
 * (the first byte chooses one), canonical spellings only, as lookup takes
 * them.  Accepted and canonical exactly when the name is how "%lld"
 * prints a number in the range; a type's inode tag is in 1..32768.
 */
#include "fuzz.h"
#include "ino.h"
#include "names.h"

#include <limits.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long long min = LONG_MIN + 1, max = LONG_MAX, v = 0, w = 0;
	unsigned long long u;
	bool canonical = false, ok, want;
	unsigned choice = size ? data[0] % 3 : 0;
	char *s, again[32];
	size_t neg;

	if (choice == 1) { /* <kind>/by-id/<id> */
		min = 0;
		max = INT_MAX;
	} else if (choice == 2) { /* sem/<key>/<n>: up to 65536 elements */
		min = 0;
		max = size > 1 ? data[1] * 257LL : 0;
	}
	s = fuzz_cstring(size ? data + 1 : data, size ? size - 1 : 0);
	ok = names_parse_dec(s, min, max, &v, &canonical);
	neg = s[0] == '-';
	want = fuzz_all_digits(s + neg, strlen(s + neg)) &&
	       (s[neg] != '0' || !s[neg + 1]) && strcmp(s, "-0") &&
	       fuzz_value(s + neg, strlen(s + neg), 10,
			  (unsigned long long)LLONG_MAX + 1, &u);
	if (want) {
		w = neg ? (long long)(0 - u) : (long long)u;
		want = (neg || u <= (unsigned long long)LLONG_MAX) &&
		       w >= min && w <= max;
	}
	CHECK((ok && canonical) == want, "'%s' in [%lld, %lld]: parsed %d "
	      "canonical %d, grammar says %d", s, min, max, ok, canonical,
	      want);
	if (ok) {
		CHECK(v >= min && v <= max, "'%s': %lld out of range", s, v);
		snprintf(again, sizeof(again), "%lld", v);
		CHECK(canonical == !strcmp(again, s), "'%s': canonical %d", s,
		      canonical);
		if (choice == 0) {
			unsigned tag = ino_type_tag((long)v);

			CHECK(tag >= 1 && tag <= 32768, "'%s': tag %u", s, tag);
		}
	}
	if (want)
		CHECK(v == w, "'%s': %lld, not %lld", s, v, w);
	free(s);
	return 0;
}
