/*
 * The SharedMemory family: the class (shared_memory.c) and the handle's
 * attachments (shm_attachment.c), which the buffer export counts in.
 *
 * Every shmat() of the handle gets an attachment record.  The current one
 * serves read(), write() and new buffer exports; exported buffers point at
 * their record and count in it.  detach() ends the current attachment for
 * the program at once, but the real shmdt() waits until the last buffer
 * exported from it is released, so no memoryview ever points at unmapped
 * memory.  An attach() over an attachment keeps the old one mapped, as
 * 1.1.0 does; every mapping left is detached when the handle is freed.
 */
#ifndef SYSV_SHARED_MEMORY_H
#define SYSV_SHARED_MEMORY_H

#include "object.h"

#include <stdbool.h>

struct shm_attachment {
    struct ipcore_mapping map;
    Py_ssize_t exports; /* buffers exported from this mapping */
    bool detached;      /* detach() was called: unmap at exports == 0 */
    bool may_fault;     /* huge pages: a page may be missing */
    struct shm_attachment *next;
};

typedef struct {
    SYSV_OBJECT_HEAD;
    struct shm_attachment *cur; /* the current attachment, or NULL */
    struct shm_attachment *all; /* every mapping the handle still has */
} SharedMemoryObject;

#define SHM(o) ((SharedMemoryObject *)(o))

/* The out-of-line part of shm_populate(), for attachments that may fault
 * (huge pages, see shm_attachment.c). */
int shm_populate_range(PyObject *self, struct shm_attachment *att,
                       size_t offset, size_t len, bool write);

/*
 * Puts pages behind bytes offset..offset+len of att before an access
 * (write: for writing).  Returns 0 or -1 with MemoryError (no huge page
 * is free for it) or OSError set.  One test of a flag for ordinary
 * segments.
 */
static inline int
shm_populate(PyObject *self, struct shm_attachment *att, size_t offset,
             size_t len, bool write)
{
    if (!att->may_fault || len == 0) {
        return 0;
    }
    return shm_populate_range(self, att, offset, len, write);
}

/* shmat()s the segment and makes it the current attachment; 0, or -1 with
 * the error set. */
int shm_attachment_new(PyObject *self, const void *address, int flags);

/* shmdt()s att and forgets it.  Returns 0 or -errno. */
int shm_attachment_unmap(PyObject *self, struct shm_attachment *att);

/* Ends the current attachment (there must be one) for the program; the
 * shmdt() waits for the last buffer exported from it.  0 or -errno. */
int shm_detach_current(PyObject *self);

/* tp_dealloc: every mapping the handle still has goes (here, beside
 * shm_attachment_unmap(), which it inlines). */
void shm_dealloc(PyObject *self);

/* The buffer protocol (bf_getbuffer, bf_releasebuffer): a buffer of the
 * whole current attachment, read-only for a read-only one, counted in it. */
int shm_getbuffer(PyObject *self, Py_buffer *view, int flags);
void shm_releasebuffer(PyObject *self, Py_buffer *view);

#endif /* SYSV_SHARED_MEMORY_H */
