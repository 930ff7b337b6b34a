/*
 * sysinfo — the root's limits/ and usage/ directories: what `ipcs -l` and
 * `ipcs -u` report, one value per file, asked of the kernel (IPC_INFO,
 * SEM_INFO, SHM_INFO, MSG_INFO) at every read, so a sysctl change or a new
 * object shows at once.  In the IPC namespace the daemon serves, as every
 * other call (-o ipcns=).
 *
 * The two directories and their files are fixed: their names are found
 * and listed here by index, and the tree (tree.c) and listings
 * (listing.c) give them stable inode numbers (NODE_INFO, NODE_INFO_FILE:
 * the directory in param, the file's index in file).
 */
#ifndef IPCFS_SYSINFO_H
#define IPCFS_SYSINFO_H

#include <stddef.h>

enum info_dir {
	INFO_LIMITS = 0, /* limits/ */
	INFO_USAGE = 1,  /* usage/ */
};
#define INFO_DIRS 2

/* The name of directory dir, or NULL for a number that is not one. */
const char *info_dir_name(unsigned dir);
/* The directory called name, or -1. */
int info_dir_find(const char *name);

/* The name of file index of directory dir, or NULL past its last. */
const char *info_file_name(unsigned dir, unsigned index);
/* The index of the file called name in directory dir, or -1. */
int info_file_find(unsigned dir, const char *name);

/* Reads the value of file index of dir from the kernel now and writes it
 * as the file shows it ("value\n") into buf.  Returns the length, or
 * -errno. */
int info_read(unsigned dir, unsigned index, char *buf, size_t len);

#endif /* IPCFS_SYSINFO_H */
