/*
 * A SharedMemory handle's attachments (see shared_memory.h): making and
 * ending them, putting huge pages behind them before any access, and the
 * buffer export, whose count keeps a detached mapping alive.
 */
#include "shared_memory.h"

#include "errors.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Linux 5.14's madvise() advice; older headers lack the names. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * ---------------------------------------------------------- huge pages
 *
 * A segment of huge pages (SHM_HUGETLB) may have no page behind part of
 * it: with SHM_NORESERVE nothing is set aside at shmget(), and the first
 * touch of a part for which the pool has no free huge page kills the
 * process with SIGBUS.  So every access of such an attachment first asks
 * the kernel to put pages behind the range (madvise(MADV_POPULATE_*),
 * Linux 5.14), which answers with an error where the access would fault,
 * and the error becomes MemoryError.  A page once there stays until the
 * segment goes (huge pages are never reclaimed), so a range populated
 * once is safe for good.  Ordinary segments never fault (the kernel
 * allocates or OOM-kills, it does not SIGBUS) and pay nothing.
 */

#define HUGE_PAGE_SMALLEST (64 * 1024) /* anywhere: arm64, powerpc */

size_t
shm_huge_page_min(void)
{
    DIR *d = opendir("/sys/kernel/mm/hugepages");
    struct dirent *e;
    unsigned long kib;
    size_t min = 0;

    if (!d) {
        return HUGE_PAGE_SMALLEST;
    }
    while ((e = readdir(d))) {
        if (sscanf(e->d_name, "hugepages-%lukB", &kib) == 1 && kib > 0 &&
            (min == 0 || kib * 1024 < min)) {
            min = kib * 1024;
        }
    }
    closedir(d);
    return min;
}

/* Whether the mapping at addr is made of huge pages: its KernelPageSize
 * in /proc/self/smaps is larger than a page.  Reading that file costs
 * ~0.5 ms in a Python process (a line per mapping), 15 times a
 * create+remove, so only addresses aligned to the smallest huge page size
 * of the machine (align), which every huge page mapping is, come to it:
 * with 2 MiB pages, one small segment's attachment in 512 (with 64 KiB,
 * the old filter, one in 16 made every SharedMemory of a process 15
 * times slower: found by scripts/bench python). */
static bool
mapping_is_huge(const void *addr, size_t align)
{
    char line[256], head[32];
    bool in_vma = false, huge = false;
    unsigned long kib;
    FILE *f;

    if (align == 0 || ((uintptr_t)addr & (align - 1))) {
        return false;
    }
    f = fopen("/proc/self/smaps", "re");
    if (!f) {
        /* Cannot tell: treat it as huge, which costs a system call per
         * access but never a SIGBUS. */
        return true;
    }
    PyOS_snprintf(head, sizeof(head), "%lx-", (unsigned long)(uintptr_t)addr);
    while (fgets(line, sizeof(line), f)) {
        if (!in_vma) {
            in_vma = strncmp(line, head, strlen(head)) == 0;
        } else if (sscanf(line, "KernelPageSize: %lu kB", &kib) == 1) {
            huge = kib * 1024 > (unsigned long)getpagesize();
            break;
        }
    }
    fclose(f);
    return huge;
}

/* shm_populate() of an attachment that may fault, out of line. */
int
shm_populate_range(PyObject *self, struct shm_attachment *att, size_t offset,
                   size_t len, bool write)
{
    uintptr_t start, page;
    int err;

    page = (uintptr_t)getpagesize();
    start = (uintptr_t)att->map.addr + offset;
    if (madvise((void *)(start & ~(page - 1)), len + (start & (page - 1)),
                write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0) {
        if (offset == 0 && len == att->map.size) {
            att->may_fault = false; /* every page is there for good */
        }
        return 0;
    }
    err = errno;
    if (err == EINVAL) {
        /* A kernel older than 5.14: nothing can be checked. */
        return 0;
    }
    if (err == EFAULT || err == ENOMEM) {
        /* EFAULT: the access would have raised SIGBUS. */
        PyErr_SetString(sysv_exception(self, IPCORE_ERR_MEMORY),
                        "No huge page is free to back this part of the "
                        "segment (SHM_NORESERVE)");
        return -1;
    }
    sysv_error(self, IPCORE_SHM, IPCORE_OP_ACCESS, -err);
    return -1;
}

/* ---------------------------------------------------------- attachments */

/* shmat()s the segment and makes it the current attachment. */
int
shm_attachment_new(PyObject *self, const void *address, int flags)
{
    struct shm_attachment *att = PyMem_Calloc(1, sizeof(*att));
    int rc;

    if (!att) {
        PyErr_NoMemory();
        return -1;
    }
    rc = ipcore_shm_attach(SHM(self)->id, address, flags, &att->map);
    if (rc < 0) {
        PyMem_Free(att);
        sysv_error(self, IPCORE_SHM, IPCORE_OP_ATTACH, rc);
        return -1;
    }
    att->may_fault = mapping_is_huge(att->map.addr,
                                     sysv_get_state(self)->huge_page_min);
    att->next = SHM(self)->all;
    SHM(self)->all = att;
    SHM(self)->cur = att;
    return 0;
}

/* shmdt()s att and forgets it.  Returns 0 or -errno. */
int
shm_attachment_unmap(PyObject *self, struct shm_attachment *att)
{
    struct shm_attachment **p;
    int rc;

    for (p = &SHM(self)->all; *p; p = &(*p)->next) {
        if (*p == att) {
            *p = att->next;
            break;
        }
    }
    if (SHM(self)->cur == att) {
        SHM(self)->cur = NULL;
    }
    rc = ipcore_shm_detach(&att->map);
    PyMem_Free(att);
    return rc;
}

/* Ends the current attachment for the program (see the top). */
int
shm_detach_current(PyObject *self)
{
    struct shm_attachment *att = SHM(self)->cur;

    SHM(self)->cur = NULL;
    att->detached = true;
    if (att->exports > 0) {
        return 0;
    }
    return shm_attachment_unmap(self, att);
}

void
shm_dealloc(PyObject *self)
{
    /* No buffer can be exported any more (each holds a reference), so
     * every mapping left can go. */
    while (SHM(self)->all) {
        shm_attachment_unmap(self, SHM(self)->all);
    }
    sysv_dealloc(self);
}

/* ------------------------------------------------------- buffer protocol */

int
shm_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    struct shm_attachment *att = SHM(self)->cur;

    if (!att) {
        PyErr_SetString(sysv_exception(self, IPCORE_ERR_NOT_ATTACHED),
                        "The segment is not attached");
        view->obj = NULL;
        return -1;
    }
    /* A buffer is read and written by code that cannot be checked, so a
     * segment of huge pages gets every page now, or no buffer. */
    if (shm_populate(self, att, 0, att->map.size, !att->map.read_only) < 0) {
        view->obj = NULL;
        return -1;
    }
    /* A writable request of a read-only attachment fails here. */
    if (PyBuffer_FillInfo(view, self, att->map.addr, (Py_ssize_t)att->map.size,
                          att->map.read_only, flags) < 0) {
        view->obj = NULL;
        return -1;
    }
    view->internal = att;
    att->exports++;
    return 0;
}

void
shm_releasebuffer(PyObject *self, Py_buffer *view)
{
    struct shm_attachment *att = view->internal;

    if (--att->exports == 0 && att->detached) {
        shm_attachment_unmap(self, att);
    }
}
