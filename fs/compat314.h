/*
 * compat314 — FUSE passthrough on libfuse 3.14, which has no API for it
 * (libfuse >= 3.17 has: FUSE_CAP_PASSTHROUGH, fuse_passthrough_open(),
 * fuse_file_info.backing_id, which passthrough.c then uses instead).  So
 * ipcfs speaks that part of the protocol itself (fuse_abi.h):
 *   - the session's I/O (dev_io.h) lets it see the kernel's FUSE_INIT
 *     request, to learn whether the kernel offers passthrough
 *     (compat314_offered()), and write libfuse's INIT reply with the answer
 *     passthrough_init() chose (compat314_answer()): passthrough granted
 *     (FUSE_INIT_EXT, flags2 FUSE_PASSTHROUGH, max_stack_depth 1,
 *     writeback cache off), or INIT refused;
 *   - a backing file is registered with the /dev/fuse ioctl, and OPEN is
 *     answered with a 16-byte fuse_open_out carrying FOPEN_PASSTHROUGH and
 *     the backing id.
 * The kernel (protocol 7.40+) does the rest: the file's read, write and
 * mmap go to the backing file.
 *
 * Deletable when libfuse 3.14 is no longer supported (every libfuse built
 * against defines FUSE_CAP_PASSTHROUGH).  Then delete:
 *   - fs/compat314.c, fs/compat314.h and fs/fuse_abi.h;
 *   - in fs/meson.build, the FUSE_CAP_PASSTHROUGH probe and what it adds
 *     (compat314.c, -DIPCFS_COMPAT314), and in fs/passthrough.h and
 *     fs/passthrough.c every `#if IPCFS_COMPAT314` branch (keeping the
 *     `#else` ones);
 *   - dev_io's filter, which then has no user: struct dev_io_filter and the
 *     filter argument of dev_io_new() (dev_io.h), passthrough_io_filter()
 *     and shm_data_io_filter() and their call in main.c.
 */
#ifndef IPCFS_COMPAT314_H
#define IPCFS_COMPAT314_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dev_io.h"

#ifdef FUSE_CAP_PASSTHROUGH
#error "this libfuse has a passthrough API: fs/meson.build leaves compat314 out"
#endif

/* How the INIT reply answers (passthrough_init() chooses). */
enum compat314_answer {
	COMPAT314_AS_IS = 0, /* libfuse's reply unchanged: no passthrough */
	COMPAT314_GRANT,     /* passthrough on */
	COMPAT314_REFUSE,    /* INIT refused (EPROTO): no mount */
};

struct compat314 {
	struct dev_io_filter filter; /* what dev_io_new() takes; ctx: this */
	/* The INIT request as read, and its reply not yet written. */
	atomic_bool init_pending;
	uint64_t init_unique;
	atomic_bool offered;   /* that INIT offers passthrough */
	atomic_int answer;     /* an enum compat314_answer */
};

/* Makes c ready (its filter for dev_io_new()). */
void compat314_setup(struct compat314 *c);

/* Whether the kernel's INIT offered passthrough: for the filesystem's init
 * callback, which libfuse calls after the request was read and before it
 * writes the reply. */
bool compat314_offered(const struct compat314 *c);

/* How the coming INIT reply is to answer. */
void compat314_answer(struct compat314 *c, enum compat314_answer answer);

/* Registers fd as a backing file on the session's descriptor dev_fd.
 * Returns its id (> 0) or -errno. */
int compat314_backing_open(int dev_fd, int fd);

/* Answers OPEN with fi->fh, FOPEN_PASSTHROUGH and backing_id, plus
 * FOPEN_DIRECT_IO if fi->direct_io.  Returns what fuse_reply_buf()
 * returns. */
int compat314_reply_open(fuse_req_t req, const struct fuse_file_info *fi,
			 int backing_id);

#endif /* IPCFS_COMPAT314_H */
