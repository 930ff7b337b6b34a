/*
 * tree — the names of the filesystem: what a node id stands for (resolved
 * with the generation check of ino.h), what a name in a directory is
 * (lookup), a node's attributes, and how long the kernel may keep them.
 * Listings are listing.c's.
 */
#ifndef IPCFS_TREE_H
#define IPCFS_TREE_H

#include "ipcfs.h"

/* A node resolved from its inode number: the object is stat'ed (once)
 * for every node below an object directory. */
struct node_ref {
	struct ino_parts p;
	struct obj o;
	const struct file_def *file; /* NODE_FILE, NODE_INFO_FILE */
	long type;                   /* message type of mq files/type dirs */
	uint64_t gen;                /* the generation it was looked up on */
};

/* Below an object directory: tied to an object. */
static inline bool node_has_obj(const struct ino_parts *p)
{
	return p->node >= NODE_OBJ && p->node != NODE_INFO &&
	       p->node != NODE_INFO_FILE;
}

/* Not a directory: an object's file, or one of limits/ and usage/. */
static inline bool node_is_file(const struct ino_parts *p)
{
	return p->node == NODE_FILE || p->node == NODE_INFO_FILE;
}

/* What node id ino stands for, without a system call (n->o unset): 0, or
 * -ESTALE for a number not handed out or forgotten. */
int tree_node(struct ipcfs *fs, fuse_ino_t ino, struct node_ref *n);
/* Stats the object of n (tree_node()'s) and checks it is the one n was
 * looked up on: 0, or -errno (ENOENT once it is gone); 0 for nodes tied
 * to no object. */
int tree_stat(struct node_ref *n);
/* tree_node() then tree_stat(). */
int tree_resolve(struct ipcfs *fs, fuse_ino_t ino, struct node_ref *n);

/* Fills child with the node called name in directory parent (resolved):
 * 0 or -errno. */
int tree_lookup(const struct ipcfs *fs, const struct node_ref *parent,
		const char *name, struct node_ref *child);
/* Finds the object named name in <kind>/ or <kind>/by-id/ (parent), and
 * how it was named: 0 or -errno. */
int tree_find_object(const struct ipcfs *fs, const struct ino_parts *parent,
		     const char *name, struct obj *o, enum via *via);

/* Answers a lookup (or mkdir) with node n, handing out its node id. */
void tree_reply_entry(fuse_req_t req, const struct node_ref *n);
/* Answers a getattr (or setattr) with the attributes of n. */
void tree_reply_attr(fuse_req_t req, const struct node_ref *n);
/* Drops nlookup lookups of node id ino. */
void tree_forget(struct ipcfs *fs, fuse_ino_t ino, uint64_t nlookup);

#endif /* IPCFS_TREE_H */
