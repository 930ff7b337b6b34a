/*
 * The numbers written to attribute files (attr_parse), in every format an
 * attribute has: DEC (value, max_size), OCT (mode), UID and GID (which
 * also take a user or group name: getpwnam_r/getgrnam_r).  The first byte
 * chooses the format; the rest is the write's bytes, not NUL-terminated
 * (ASan sees any read past them).  Checks: a NUL anywhere is refused; the
 * result is 0 or -EINVAL; without the surrounding white space, an
 * accepted number has the format's grammar (DEC [+-]?digits, OCT
 * (0o|0O)?[0-7]+, UID/GID digits below 2^32-1), and every such number that
 * fits is accepted; what attr_format() prints parses back to the value.
 */
#include "fuzz.h"
#include "attr_files.h"

#include <errno.h>
#include <limits.h>

/* isspace() in the C locale, which the daemon runs in. */
static bool oracle_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* -1: the grammar refuses t[0..n); 0: a number that fits (*v); 1: a
 * name (UID/GID) or a number too large, which the oracle leaves to the
 * parser. */
static int oracle(enum attr_fmt fmt, const char *t, size_t n, long long *v)
{
	unsigned long long u;
	size_t sign = 0;

	if (n == 0 || n >= 64)
		return -1;
	if (fmt == FMT_OCT) {
		size_t i = (n > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O')) ?
				   2 : 0;
		size_t j;

		for (j = i; j < n; j++)
			if (t[j] < '0' || t[j] > '7')
				return -1;
		if (i == n)
			return -1;
		if (!fuzz_value(t + i, n - i, 8, LLONG_MAX, &u))
			return 1;
		*v = (long long)u;
		return 0;
	}
	if (fmt == FMT_DEC)
		sign = t[0] == '-' || t[0] == '+';
	else if (!fuzz_is_digit(t[0]))
		return 1; /* a user or group name */
	if (!fuzz_all_digits(t + sign, n - sign))
		return -1;
	if (!fuzz_value(t + sign, n - sign, 10, LLONG_MAX, &u))
		return 1;
	*v = t[0] == '-' ? -(long long)u : (long long)u;
	if (fmt != FMT_DEC && *v >= (long long)UINT32_MAX)
		return -1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file_def f = { .name = "fuzz", .role = ROLE_ATTR };
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0, a = 0, b = len;
	long long v = 0, w = 0, x = 0;
	char out[32];
	int rc, want, n;

	if (size == 0)
		return 0;
	f.fmt = (enum attr_fmt)(data[0] % 4);
	rc = attr_parse(&f, text, len, &v);
	CHECK(rc == 0 || rc == -EINVAL, "fmt %d: rc %d", f.fmt, rc);
	if (memchr(text, '\0', len)) {
		CHECK(rc == -EINVAL, "fmt %d: a NUL byte was accepted (%lld)",
		      f.fmt, v);
		return 0;
	}
	while (a < b && oracle_space(text[a]))
		a++;
	while (b > a && oracle_space(text[b - 1]))
		b--;
	want = oracle(f.fmt, text + a, b - a, &w);
	if (want == 0)
		CHECK(rc == 0 && v == w, "fmt %d '%.*s': rc %d v %lld, "
		      "grammar says %lld", f.fmt, (int)(b - a), text + a, rc,
		      v, w);
	else if (want < 0)
		CHECK(rc != 0, "fmt %d '%.*s': accepted as %lld", f.fmt,
		      (int)(b - a), text + a, v);
	if (rc == 0) {
		if (f.fmt == FMT_UID || f.fmt == FMT_GID)
			CHECK(v >= 0 && v < (long long)UINT32_MAX,
			      "fmt %d: id %lld", f.fmt, v);
		if (f.fmt == FMT_OCT)
			CHECK(v >= 0, "octal %lld", v);
		n = attr_format(&f, v, out, sizeof(out));
		CHECK(n > 0 && attr_parse(&f, out, (size_t)n, &x) == 0 &&
		      x == v, "fmt %d: %lld prints as '%s', which parses as "
		      "%lld", f.fmt, v, out, x);
	}
	return 0;
}
