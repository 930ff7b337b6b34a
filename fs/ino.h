/*
 * ino — the inode scheme: what a node id the kernel holds stands for.
 *
 * Layout of an inode number (64 bits, most significant first):
 *
 *   63..59  node   what the node is (enum node; 0 only for the root, ino 1)
 *   58..57  kind   enum ipcore_kind
 *   56..55  via    how a directory was reached (enum via); 0 for files
 *   54..48  file   index in the kind's file table (FILE nodes)
 *   47..32  param  semaphore number (ELEM dirs, per-element files), or
 *                  for typed message nodes 1 + a 15-bit hash of the type
 *                  (only so that st_ino tells types apart), and for
 *                  messages/<i> files the same of the position i (kept
 *                  as the dynamic node's type), else 0
 *   31..0   id     the object's kernel id
 *
 * The kernel id already embeds a sequence number that changes every time
 * the slot is reused (id = seq * IPCMNI + index), so a removed object and
 * the next one created in its slot get different inode numbers.  The id
 * only repeats after the sequence wraps (64K reuses of one slot); the FUSE
 * generation then tells the objects apart: it is a hash of the fields an
 * object never changes (creator uid/gid, nsems or segment size, the key of
 * a set or queue, the creator pid of a segment, whose key becomes 0 when
 * it is removed while attached), and the kernel drops an inode whose
 * number comes back with another generation.
 *
 * Directories reached by different paths (sem/5, sem/0x5, sem/5:2,
 * sem/by-id/<id>) get different numbers ("via"), because the kernel does
 * not allow a directory to have two names at once; files are shared
 * (sem/5/value and sem/by-id/<id>/value are one inode, and so are
 * sem/5/value and sem/5/0/value, both element 0).
 *
 * Only root, the kind directories, by-id directories and limits/ and
 * usage/ with their files are stable; all others are volatile and answered with zero entry and attribute timeouts.
 *
 * Node ids.  Only the root, kind and by-id directories are known to the
 * kernel by their layout number.  Every node below an object directory is
 * handed out as a table entry (NODE_DYNAMIC, the low 32 bits its index)
 * that holds its layout number (st_ino shows that one), its message type
 * where it has one, and the generation of the object it was looked up on.
 * Every request on such a node stats the object at the id and answers
 * ENOENT when the generation differs: a descriptor, or a shell's working
 * directory, kept past its object's removal never reaches the object that
 * the kernel later makes at the same id (ids are reused; the id alone
 * only tells them apart until the sequence wraps, which a user can make
 * happen).  The kernel is never told the same node id with another
 * generation, so old inodes are not made "bad" (EIO) by a new lookup:
 * their operations reach the daemon and get ENOENT.
 *
 * Lookups of the same node of the same object share an entry (so the
 * kernel keeps caching fixed names), except for the files whose writes can
 * wait (op, send): the kernel holds a file's inode lock for the whole of a
 * write, so a P waiting in one shell would otherwise hang every other
 * write to the same op file in the kernel (see blocking.h); every lookup
 * of those makes a new entry.  FORGET frees an entry.  The kernel forgets
 * an unused inode only when it reclaims it, so the table grows with the
 * inodes the kernel still caches, 48 bytes each.
 */
#ifndef IPCFS_INO_H
#define IPCFS_INO_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcore.h"

enum node {
	NODE_ROOT = 0,  /* ino 1 (FUSE_ROOT_ID) */
	NODE_KIND = 1,  /* sem/ shm/ mq/ */
	NODE_BYID = 2,  /* <kind>/by-id/ */
	NODE_OBJ = 3,   /* <kind>/<key>/ and <kind>/by-id/<id>/ */
	NODE_ELEM = 4,  /* sem/<key>/<n>/ */
	NODE_TYPES = 5, /* mq/<key>/type/ */
	NODE_TYPE = 6,  /* mq/<key>/type/<t>/ */
	NODE_FILE = 7,  /* any file below an object directory */
	NODE_DYNAMIC = 8, /* a lookup of a type dir, typed, op or send file */
	/* The root's limits/ and usage/ (sysinfo.h): stable, tied to no
	 * object; the directory in param, a file's index in file.  Numbered
	 * apart from the nodes of objects, which may grow. */
	NODE_INFO = 16,      /* limits/ usage/ */
	NODE_INFO_FILE = 17, /* limits/<name>, usage/<name> */
	/* Far from the others, so that nodes added meanwhile elsewhere keep
	 * their numbers (the field has 5 bits). */
	NODE_MSGS = 20, /* mq/<key>/messages/ */
};

enum via {
	VIA_KEY = 0,   /* <kind>/<key> as listed: decimal, or hex (keys=hex) */
	VIA_ALIAS = 1, /* another spelling of the key, e.g. 0x-hex */
	VIA_SIZED = 2, /* <kind>/<key>:<size>, as given to mkdir */
	VIA_BYID = 3,  /* <kind>/by-id/<id> */
};

struct ino_parts {
	enum node node;
	enum ipcore_kind kind;
	enum via via;
	unsigned file;
	unsigned param;
	int id;
};

fuse_ino_t ino_make(const struct ino_parts *p);
/* Returns false for a number this filesystem never hands out. */
bool ino_split(fuse_ino_t ino, struct ino_parts *p);

/* The param field of typed message nodes. */
unsigned ino_type_tag(long type);

/* The dynamic nodes (node ids above): one array, freed indices reused
 * from a stack, and a hash of the entries that lookups share (keyed by
 * base, type and generation), under one lock.  The hash has as many
 * buckets as the array has room (a power of two).  Part of the mount's
 * state (ipcfs.h); ino_table_init() before use, ino_table_clear() at the
 * end (the kernel sends no forget at unmount). */
struct ino_table {
	pthread_mutex_t lock;
	struct ino_dynamic *dyns;
	uint32_t *free;
	uint32_t *buckets; /* 1 + index of a chain's first entry, or 0 */
	size_t count, nfree, cap;
};

void ino_table_init(struct ino_table *t);
/* Frees every dynamic node; the table is empty (and usable) after. */
void ino_table_clear(struct ino_table *t);

/* The parts of a node id: a stable directory's (*gen 0), or a table
 * entry's layout number, with its message type in *type (untouched where
 * it has none) and its object's generation in *gen.  False for a number
 * this filesystem did not hand out, or whose entry was forgotten. */
bool ino_resolve(struct ino_table *t, fuse_ino_t ino, struct ino_parts *p,
		 long *type, uint64_t *gen);

/* The node id for layout number base, type and object generation gen: an
 * entry that earlier lookups of the same got (one more lookup), or a new
 * one (nlookup 1); unique always makes a new one.  Returns 0 or
 * -ENOMEM/-ENOSPC. */
int ino_dynamic_new(struct ino_table *t, fuse_ino_t base, long type,
		    uint64_t gen, bool unique, fuse_ino_t *ino);
/* Drops n lookups of a dynamic node, freeing it at 0 (nothing for other
 * numbers). */
void ino_dynamic_forget(struct ino_table *t, fuse_ino_t ino, uint64_t n);

#endif /* IPCFS_INO_H */
