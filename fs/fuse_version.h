/* The libfuse API level every file of fs/ compiles against.  Include this
 * before <fuse_lowlevel.h>: 314 is libfuse 3.14 (three digits; 34 would
 * silently pick an old ABI).  fs/meson.build passes 317 when building
 * against libfuse >= 3.17: the same API but for fuse_session_custom_io(),
 * which takes the size of struct fuse_custom_io there (dev_io.c).  The
 * official passthrough API of 3.17 (FUSE_CAP_PASSTHROUGH,
 * fuse_passthrough_open(), fuse_file_info.backing_id) is visible at 314
 * too: fs/meson.build probes FUSE_CAP_PASSTHROUGH, not this, for
 * IPCFS_COMPAT314 (compat314.h). */
#ifndef IPCFS_FUSE_VERSION_H
#define IPCFS_FUSE_VERSION_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#endif
