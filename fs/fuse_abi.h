/*
 * fuse_abi — the few pieces of the FUSE kernel protocol that compat314.c
 * speaks itself because libfuse 3.14 has no API for them: the INIT request
 * and reply (to ask for passthrough), the OPEN reply with a backing id, and
 * the ioctl that registers a backing file.  Part of the libfuse 3.14
 * workaround: deleted with it (compat314.h says when and what else).
 *
 * Copied from the kernel's include/uapi/linux/fuse.h (protocol 7.40+, which
 * Debian 12's <linux/fuse.h> (7.38) and libfuse 3.14 (7.38) predate), with
 * an ipcfs_ prefix so that nothing clashes with either header.  The layout
 * is the kernel ABI: it never changes.
 */
#ifndef IPCFS_FUSE_ABI_H
#define IPCFS_FUSE_ABI_H

#include <stdint.h>
#include <sys/ioctl.h>

#define IPCFS_FUSE_OP_INIT 26

/* fuse_init_in/out.flags */
#define IPCFS_FUSE_WRITEBACK_CACHE (1u << 16)
#define IPCFS_FUSE_INIT_EXT (1u << 30)
/* fuse_init_in/out.flags2 (bits 32.. of the 64-bit flags) */
#define IPCFS_FUSE2_PASSTHROUGH (1u << (37 - 32))

/* fuse_open_out.open_flags */
#define IPCFS_FOPEN_DIRECT_IO (1u << 0)
#define IPCFS_FOPEN_PASSTHROUGH (1u << 7)

struct ipcfs_fuse_in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint16_t total_extlen;
	uint16_t padding;
};

struct ipcfs_fuse_init_in {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint32_t flags2; /* only with FUSE_INIT_EXT in flags */
	uint32_t unused[11];
};

struct ipcfs_fuse_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct ipcfs_fuse_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint16_t request_timeout;
	uint16_t unused[11];
};

/* The OPEN reply: fuse_open_out with the backing id where libfuse 3.14
 * has padding. */
struct ipcfs_fuse_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct ipcfs_fuse_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define IPCFS_FUSE_DEV_IOC_MAGIC 229
#define IPCFS_FUSE_DEV_IOC_BACKING_OPEN \
	_IOW(IPCFS_FUSE_DEV_IOC_MAGIC, 1, struct ipcfs_fuse_backing_map)

_Static_assert(sizeof(struct ipcfs_fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct ipcfs_fuse_init_in) == 64, "fuse_init_in");
_Static_assert(sizeof(struct ipcfs_fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct ipcfs_fuse_init_out) == 64, "fuse_init_out");
_Static_assert(sizeof(struct ipcfs_fuse_open_out) == 16, "fuse_open_out");
_Static_assert(sizeof(struct ipcfs_fuse_backing_map) == 16, "backing_map");

#endif /* IPCFS_FUSE_ABI_H */
