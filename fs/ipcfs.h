/*
 * ipcfs — private declarations shared by the dispatcher (ops.c), the node
 * tables (nodes.c), the inode scheme  (inode.c) and main.c.
 *
 * The filesystem keeps little state: every node has a number in the
 * layout below, and everything shown is read from the kernel when asked.
 * The nodes below an object directory are handed to the kernel through a
 * table (node ids), which ties each to the object it was looked up on,
 * counted by lookup and freed by forget.
 */
#ifndef IPCFS_IPCFS_H
#define IPCFS_IPCFS_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ipcore.h"
#include "access.h"
#include "fs_errno.h"
#include "shm_data.h"

struct blocking;
struct dev_io;
struct quota;

/* Attribute, send and receive files one user may have open at once (each
 * holds a little of the daemon's memory); the next open is ENFILE.  -o
 * max_files_per_user= changes it. */
#define IPCFS_MAX_FILES_PER_USER 4096

/* ------------------------------------------------------------------ */
/* Mount-wide state                                                   */
/* ------------------------------------------------------------------ */

/* How <kind>/ names objects (-o keys=): its listings, and the spelling of
 * a key that is the directory's canonical name (VIA_KEY), which every
 * other spelling is an alias of (names.h). */
enum key_names {
	KEYS_DEC = 0, /* signed decimal, as sysv_ipc and /proc/sysvipc */
	KEYS_HEX = 1, /* 0x and 8 lowercase hex digits, as ipcs prints */
};

struct ipcfs {
	struct blocking *blocking;
	struct shm_data *shm_data;
	struct dev_io *dev_io;  /* the session's I/O (dev_io.h) */
	size_t shm_size;      /* size of a segment made by mkdir shm/<key> */
	uid_t daemon_uid;     /* the daemon's euid/egid, restored after */
	gid_t daemon_gid;     /* creating an object as the caller */
	time_t started;       /* the times of the directories that never change */
	struct userns_chain userns; /* whose capabilities count (access.h) */
	struct quota *open_quota; /* open message files per user */
	enum key_names keys;      /* -o keys= */
};


/* The mount-wide state of the request's session. */
static inline struct ipcfs *ipcfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The caller of req, for the checks of access.h; caller_done() after. */
static inline void caller_of(struct caller *c, fuse_req_t req)
{
	caller_init(c, req, &ipcfs_of(req)->userns);
}


/* ------------------------------------------------------------------ */
/* Inode numbers                                                      */
/* ------------------------------------------------------------------ */

/*
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

/* The parts of a node id: a stable directory's (*gen 0), or a table
 * entry's layout number, with its message type in *type (untouched where
 * it has none) and its object's generation in *gen.  False for a number
 * this filesystem did not hand out, or whose entry was forgotten. */
bool ino_resolve(fuse_ino_t ino, struct ino_parts *p, long *type,
		 uint64_t *gen);

/* The node id for layout number base, type and object generation gen: an
 * entry that earlier lookups of the same got (one more lookup), or a new
 * one (nlookup 1); unique always makes a new one.  Returns 0 or
 * -ENOMEM/-ENOSPC. */
int dynamic_new(fuse_ino_t base, long type, uint64_t gen, bool unique,
		fuse_ino_t *ino);
/* Drops n lookups of a dynamic node, freeing it at 0 (nothing for other
 * numbers). */
void dynamic_forget(fuse_ino_t ino, uint64_t n);
/* Frees every dynamic node, at unmount (the kernel sends no forget then). */
void inode_tables_clear(void);

/* The param field of typed message nodes. */
unsigned type_tag(long type);



/* ------------------------------------------------------------------ */
/* Objects and their files                                            */
/* ------------------------------------------------------------------ */

/* One IPC_STAT of an object, whatever its kind. */
struct obj {
	enum ipcore_kind kind;
	int id;
	union {
		struct ipcore_sem_info sem;
		struct ipcore_shm_info shm;
		struct ipcore_mq_info mq;
	} u;
};

/* Stats object id of kind.  Returns 0 or -errno (ENOENT if it is gone). */
int obj_stat(enum ipcore_kind kind, int id, struct obj *o);
const struct ipcore_perm *obj_perm(const struct obj *o);
/* nsems of a set, size of a segment, 0 for a queue. */
unsigned long long obj_size(const struct obj *o);
/* The FUSE generation of an object's nodes (see the inode layout). */
uint64_t obj_generation(const struct obj *o);

/* What a file is for, which decides how the dispatcher serves it. */
enum file_role {
	ROLE_ATTR,    /* text, read (and maybe written) through get/set */
	ROLE_OP,      /* sem op: write a delta */
	ROLE_DATA,    /* shm data: shm_data.c */
	ROLE_SEND,    /* mq send */
	ROLE_RECEIVE, /* mq receive */
	ROLE_PEEK,    /* mq peek: the next message, not taken (mq_files.h) */
	ROLE_MSG,     /* mq messages/<i>: a queued message's text */
	ROLE_MSG_TYPE, /* mq messages/<i>.type: its type */
};

/* Where a file appears. */
#define IN_OBJ 1u   /* the object directory */
#define IN_ELEM 2u  /* sem/<key>/<n>/ */
#define IN_TYPE 4u  /* mq/<key>/type/<t>/ */
#define IN_MSGS 8u  /* mq/<key>/messages/ (named by position, not name) */

/* Who may do what (checked by the dispatcher, access.h), and shown in the
 * file's mode from the object's mode. */
#define ACC_READ 1u   /* reading needs IPC read permission */
#define ACC_WRITE 2u  /* writing needs IPC write (alter) permission */
#define ACC_OWNER 4u  /* writing is IPC_SET: owner, creator, CAP_SYS_ADMIN */

/* How an attribute's number is written and parsed. */
enum attr_fmt {
	FMT_DEC, /* decimal */
	FMT_OCT, /* octal, with a leading 0 */
	FMT_UID, /* decimal; a user name is accepted on write */
	FMT_GID, /* decimal; a group name is accepted on write */
};

struct file_def {
	const char *name;
	enum file_role role;
	unsigned char where;  /* IN_* */
	unsigned char access; /* ACC_* */
	enum attr_fmt fmt;
	/* ROLE_ATTR: reads the value for element elem (0 where it has no
	 * meaning).  Returns 0 or -errno. */
	int (*get)(const struct obj *o, unsigned elem, long long *v);
	/* ROLE_ATTR, writable ones: stores v for who, whose access the
	 * dispatcher has checked (ACC_*). */
	int (*set)(const struct obj *o, unsigned elem, long long v,
		   struct caller *who);
};

/* The file table of a kind, and its length. */
const struct file_def *file_table(enum ipcore_kind kind, size_t *count);
/* Finds name among the files of kind that appear in where; returns its
 * index or -1. */
int file_find(enum ipcore_kind kind, unsigned where, const char *name);
const struct file_def *file_get(enum ipcore_kind kind, unsigned index);

/* Formats an attribute as its file shows it ("value\n"); returns length. */
int attr_format(const struct file_def *f, long long v, char *buf,
		size_t len);
/* Parses the text written to an attribute (surrounding white space
 * allowed).  Returns 0 or -EINVAL. */
int attr_parse(const struct file_def *f, const char *text, size_t len,
	       long long *v);


/* ------------------------------------------------------------------ */
/* The low-level operations (ops.c)                                   */
/* ------------------------------------------------------------------ */

extern const struct fuse_lowlevel_ops ipcfs_ops;

/* Fills the mount-wide state that does not depend on the session (the
 * daemon's ids and user namespace, the start time, the per-user quota of
 * open message files); shm_data and blocking are the caller's to start.
 * Returns 0 or -ENOMEM.  ipcfs_state_free() after, whatever it returned. */
int ipcfs_state_init(struct ipcfs *fs, size_t shm_size,
		     unsigned int max_files_per_user);
void ipcfs_state_free(struct ipcfs *fs);

/* Frees what files still open when the session ended hold (they get no
 * release).  After blocking_stop(): a pending receive writes to them. */
void ipcfs_files_clear(void);

#endif /* IPCFS_IPCFS_H */
