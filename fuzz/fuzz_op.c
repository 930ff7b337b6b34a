/*
 * What a write to an op file (sem/<key>/op, sem/<key>/<n>/op) carries: one
 * signed delta, parsed by attr_parse_delta() (attr_files.c) as an op
 * file's write does: attr_parse() with FMT_DEC, then the semop range of a
 * short.  Checks: accepted (in range) exactly when the trimmed bytes are
 * [+-]?digits with a value in [SHRT_MIN, SHRT_MAX]; "%d\n", "%+d" and " %d " of every accepted
 * delta give it back.
 */
#include "fuzz.h"
#include "attr_files.h"

#include <limits.h>

static bool op_parse(const char *buf, size_t size, long long *delta)
{
	return !attr_parse_delta(buf, size, delta);
}

static bool oracle_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	size_t a = 0, b = size, sign, i;
	unsigned long long u = 0;
	long long d = 0, e;
	bool ok = op_parse(t, size, &d), want;
	char out[32];

	while (a < b && oracle_space(t[a]))
		a++;
	while (b > a && oracle_space(t[b - 1]))
		b--;
	sign = a < b && (t[a] == '-' || t[a] == '+');
	want = b - a < 64 && !memchr(t, '\0', size) &&
	       fuzz_all_digits(t + a + sign, b - a - sign) &&
	       fuzz_value(t + a + sign, b - a - sign, 10, 32768, &u) &&
	       (t[a] == '-' ? u <= 32768 : u <= 32767);
	CHECK(ok == want, "'%.*s': accepted %d, grammar says %d", (int)size,
	      t, ok, want);
	if (ok) {
		CHECK(d == (t[a] == '-' ? -(long long)u : (long long)u),
		      "'%.*s': %lld", (int)size, t, d);
		for (i = 0; i < 3; i++) {
			int n = i == 0 ? snprintf(out, sizeof(out), "%lld\n", d) :
				i == 1 ? snprintf(out, sizeof(out), "%+lld", d) :
					 snprintf(out, sizeof(out), " %lld ", d);

			CHECK(op_parse(out, (size_t)n, &e) && e == d,
			      "%lld written as '%s' does not parse back", d,
			      out);
		}
	}
	return 0;
}
