/*
 * Helpers shared by the fuzz targets: a check that crashes (so that
 * libFuzzer keeps the input), a silent libfuse log (the parsers log every
 * refusal), and small grammar checks that the targets use as an
 * independent oracle for what a parser should accept.
 */
#ifndef IPCFS_FUZZ_H
#define IPCFS_FUZZ_H

#include "fuse_version.h"
#include <fuse_log.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property that failed: report it and abort (libFuzzer saves the
 * input as a crash artifact). */
#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "CHECK failed at %s:%d: %s: ",    \
				__FILE__, __LINE__, #cond);               \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
			abort();                                          \
		}                                                         \
	} while (0)

/* The input as a C string, cut at its first NUL (what a name or an
 * argument can be); free() it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static inline bool fuzz_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* s[0..n) is one or more decimal digits. */
static inline bool fuzz_all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fuzz_is_digit(s[i]))
			return false;
	return n > 0;
}

/* The value of digits s[0..n) in base, or false if it exceeds max. */
static inline bool fuzz_value(const char *s, size_t n, unsigned base,
			      unsigned long long max, unsigned long long *v)
{
	unsigned __int128 acc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned d = fuzz_is_digit(s[i]) ? (unsigned)(s[i] - '0') :
			     (unsigned)((s[i] | 0x20) - 'a' + 10);

		acc = acc * base + d;
		if (acc > max)
			return false;
	}
	*v = (unsigned long long)acc;
	return true;
}

/* A libfuse log function that drops everything. */
void fuzz_quiet_log(enum fuse_log_level level, const char *fmt, va_list ap);

#endif /* IPCFS_FUZZ_H */
