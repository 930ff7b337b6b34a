/*
 * access — who may do what to an IPC object through the mount, judged as
 * the kernel judges the same caller's system calls.
 *
 * The daemon usually runs as root with -o allow_other, so the kernel's
 * own checks of the IPC calls it makes pass for everyone: every check is
 * the daemon's.  The mount does not use default_permissions: a file's
 * mode, uid and gid cannot say what ipcperms() says (owner bits for uid
 * *or* cuid, group bits for gid *or* cgid, capabilities rather than uid
 * 0), and its sticky kind directories and read-only by-id directories
 * refused the creator's and the owner's rmdir that the kernel allows.
 * The modes the files show are for ls; these functions decide.
 *
 * The rules (ipc/util.c ipcperms(), ipcctl_obtain_check(), and the man
 * pages of semop, semctl, shmat, msgsnd, msgrcv, msgctl):
 *   - access: the owner class if the caller's uid is the object's uid or
 *     cuid, else the group class if the caller is a member (primary or
 *     supplementary) of gid or cgid, else other; what that class's bits do
 *     not grant, CAP_IPC_OWNER does.
 *   - control (IPC_SET: chmod, chown, the mode/uid/gid/max_size files;
 *     IPC_RMID: rmdir): the caller's uid is uid or cuid, or it has
 *     CAP_SYS_ADMIN.
 * Capabilities count as ns_capable() counts them against the user
 * namespace that owns the IPC namespace served (the daemon's own, or the
 * container's with -o ipcns=): a caller has one if it is in that user
 * namespace and has it, or in one of its ancestors and has it there, or
 * is in the parent of one on the way and made it (is its owner, by
 * euid).  So a container's root is not privileged over the host's objects,
 * and is over its own container's when the daemon serves that.  The one
 * capability the kernel judges with capable() instead, CAP_SYS_RESOURCE
 * (raising a queue's msg_qbytes past msgmnb), counts only in the daemon's
 * own user namespace.
 *
 * What a caller is comes from the request (its fsuid and fsgid) and, only
 * when a rule needs more, from /proc/<tid>/status of the calling thread:
 * supplementary groups and effective capabilities.  That file is trusted
 * only while its fsuid and fsgid are the request's (a thread that exited
 * and whose id was reused, or that changed credentials since, gets no
 * groups and no capabilities: refused rather than wrongly granted).  A
 * caller the daemon cannot see (another pid namespace: pid 0) gets the
 * same.
 */
#ifndef IPCFS_ACCESS_H
#define IPCFS_ACCESS_H

#include "fuse_version.h"
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcore.h"

/* What IPC permission an operation needs (the kernel's S_IRUGO and
 * S_IWUGO, "alter", for one class). */
#define MAY_READ 4u
#define MAY_WRITE 2u

/* Capabilities (linux/capability.h numbers). */
#define CAPABILITY_SYS_ADMIN 21
#define CAPABILITY_IPC_OWNER 15
#define CAPABILITY_SYS_RESOURCE 24

/* The user namespace that owns the IPC namespace served, and its ancestors
 * as far as the daemon can see them (NS_GET_PARENT stops at the daemon's
 * own), by inode number.  Nesting is at most 32 deep. */
#define USERNS_CHAIN_MAX 33
struct userns_chain {
	unsigned depth;  /* 0: unknown: capabilities never count */
	unsigned daemon; /* the index of the daemon's own; depth if none */
	ino_t ino[USERNS_CHAIN_MAX];
	uid_t owner[USERNS_CHAIN_MAX]; /* its maker's euid; -1: unknown */
};

struct caller {
	pid_t tid;
	uid_t uid;
	gid_t gid;
	const struct userns_chain *userns;
	bool loaded;    /* /proc/<tid>/status has been read */
	int ns_level;   /* index of its user namespace in userns, or -1 */
	bool has_euid;  /* euid was read */
	uid_t euid;
	uint64_t cap_eff;
	size_t ngroups;
	gid_t *groups;
};

/* The caller of req, whose capabilities are judged against userns
 * (access_userns_load()).  Nothing is read yet. */
void caller_init(struct caller *c, fuse_req_t req,
		 const struct userns_chain *userns);
/* Frees what caller_init() and the checks took. */
void caller_done(struct caller *c);

/* True if the caller is a member of gid (its fsgid or a supplementary
 * group). */
bool caller_in_group(struct caller *c, gid_t gid);
/* True if the caller has capability cap over the IPC namespace served (for
 * CAP_SYS_RESOURCE: in the daemon's user namespace). */
bool caller_capable(struct caller *c, int cap);

/* ipcperms(): true if the caller may do what needs want (MAY_READ,
 * MAY_WRITE or both) to an object with perm. */
bool caller_may(struct caller *c, const struct ipcore_perm *perm,
		unsigned want);
/* IPC_SET and IPC_RMID: owner, creator, or CAP_SYS_ADMIN. */
bool caller_may_control(struct caller *c, const struct ipcore_perm *perm);

/* Fills u for the IPC namespace the process is in now (after -o ipcns=
 * has been entered).  Without the nsfs ioctls (Linux < 4.9) it holds only
 * the daemon's own user namespace; with nothing known, depth 0. */
void access_userns_load(struct userns_chain *u);

/* Parses the text of /proc/<tid>/status into c (the fields above);
 * returns false if it is not the request's caller's (fsuid or fsgid
 * differ) or cannot be parsed.  Exposed for the fuzzer. */
bool caller_parse_status(struct caller *c, const char *text, size_t len);

#endif /* IPCFS_ACCESS_H */
