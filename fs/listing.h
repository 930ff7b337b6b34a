/*
 * listing — directory listings with no per-open state.
 *
 * A directory offset is a cursor that names an entry, as the kernel's /proc
 * does for pids: each entry's d_off names the one after it, and a read at
 * any offset lists afresh and answers the entries from that cursor on.  An
 * open directory therefore holds nothing, a position taken with telldir()
 * stays good (in this open or another), and every offset the kernel can
 * hand over, entry boundary or not, gives real entries or a clean end.
 *
 * Cursors (d_off of an entry = its cursor + 1):
 *   0, 1        "." and ".."
 *   2.. fixed   the root's kind directories, then limits/ and usage/;
 *               an object directory's files, then its elements, then
 *               "type" and "messages", by index: what an object
 *               directory holds is fixed for the object's life
 *   2 + 2i      "<i>", then 2 + 2i + 1 "<i>.type", in mq/<key>/messages/,
 *               for each i below the number of messages queued when the
 *               read lists (messages are named by position)
 *   2           "by-id" in a kind directory
 *   3 + slot    an object in <kind>/ and by-id/, in slot order (the index
 *               in the kernel's table; ipcore_list_slot()): an object
 *               keeps its slot for life, so in one pass an object that
 *               exists throughout is listed exactly once, none twice, and
 *               one removed before the pass reaches it not at all
 *
 * Slot order, not id order: finding the next id after a cursor would take
 * a sort of the whole table at every read, a pass of n objects then
 * costing n^2 log n; the next slot is one system call away.  Objects made
 * during a pass may land ahead of it (the kernel hands out slots
 * cyclically) and be listed, like new pids in /proc.
 */
#ifndef IPCFS_LISTING_H
#define IPCFS_LISTING_H

#include "ipcfs.h"

/* A directory to list: its node, and for nodes below an object directory
 * the object (freshly stat'ed) and the message type of a type directory. */
struct listing_dir {
	struct ino_parts p;
	const struct obj *o; /* NULL above object directories */
	long type;
};

/* Answers a READDIR of d at offset off with as many whole entries as fit in
 * size, or an empty reply at the end (any offset past the last entry,
 * negative ones included). */
void listing_readdir(fuse_req_t req, const struct listing_dir *d, size_t size,
		     off_t off);

#endif /* IPCFS_LISTING_H */
