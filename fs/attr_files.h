/*
 * attr_files — the files that are a number as text: an object's
 * attributes (sem/<key>/value, mode, ...: read through the file table's
 * get, written through its set) and the root's limits/ and usage/ files
 * (sysinfo.h).  What an open one remembers: the text its last read from
 * offset 0 gave (see attr_files.c).
 */
#ifndef IPCFS_ATTR_FILES_H
#define IPCFS_ATTR_FILES_H

#include "files.h"

/* The operations of ROLE_ATTR and ROLE_INFO files (files.h). */
extern const struct file_ops attr_file_ops;
extern const struct file_ops info_file_ops;

/* Formats an attribute as its file shows it ("value\n"); returns length. */
int attr_format(const struct file_def *f, long long v, char *buf,
		size_t len);
/* Parses the text written to an attribute (surrounding white space
 * allowed).  Returns 0 or -EINVAL. */
int attr_parse(const struct file_def *f, const char *text, size_t len,
	       long long *v);
/* Parses what a write to an op file carries: one signed decimal delta in
 * the range of semop(2)'s short.  Returns 0 or -EINVAL. */
int attr_parse_delta(const char *text, size_t len, long long *delta);

#endif /* IPCFS_ATTR_FILES_H */
