/*
 * Sizes (names_parse_size): mkdir shm/<key>:<size>, sem/<key>:<nsems> and
 * -o shm_size=.  The grammar: decimal digits, then at most one of kKmMgG
 * (times 1024, 1024^2, 1024^3), nothing else, not 0, not over 64 bits;
 * and every value printed in decimal parses back to itself.
 */
#include "fuzz.h"
#include "names.h"

#include <limits.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size), again[32];
	size_t n = strlen(s), digits = n;
	unsigned shift = 0;
	unsigned long long v = 0, w = 0, x;
	bool ok = names_parse_size(s, &v), want;

	if (n && strchr("kKmMgG", s[n - 1])) {
		digits = n - 1;
		shift = strchr("kK", s[n - 1]) ? 10 :
			strchr("mM", s[n - 1]) ? 20 : 30;
	}
	want = fuzz_all_digits(s, digits) &&
	       fuzz_value(s, digits, 10, ULLONG_MAX >> shift, &w) && w != 0;
	CHECK(ok == want, "'%s': parsed %d, grammar says %d", s, ok, want);
	if (ok) {
		CHECK(v == w << shift, "'%s': %llu, not %llu", s, v, w << shift);
		snprintf(again, sizeof(again), "%llu", v);
		CHECK(names_parse_size(again, &x) && x == v,
		      "'%s' -> '%s' does not parse back", s, again);
	}
	free(s);
	return 0;
}
