/* The libfuse API level every file of fs/ compiles against.  Include this
 * before <fuse_lowlevel.h>: 314 is libfuse 3.14 (three digits; 34 would
 * silently pick an old ABI). */
#ifndef IPCFS_FUSE_VERSION_H
#define IPCFS_FUSE_VERSION_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#endif
