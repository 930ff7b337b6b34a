/*
 * sysv_ipc.SharedMemory: a segment and this handle's attachments of it.
 *
 * Every shmat() of the handle gets an attachment record.  The current one
 * serves read(), write() and new buffer exports; exported buffers point at
 * their record and count in it.  detach() ends the current attachment for
 * the program at once, but the real shmdt() waits until the last buffer
 * exported from it is released, so no memoryview ever points at unmapped
 * memory.  An attach() over an attachment keeps the old one mapped, as
 * 1.1.0 does; every mapping left is detached when the handle is freed.
 */
#include "sysv_ipc_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

/* Linux 5.14's madvise() advice; older headers lack the names. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct shm_attachment {
    struct ipcore_mapping map;
    Py_ssize_t exports; /* buffers exported from this mapping */
    bool detached;      /* detach() was called: unmap at exports == 0 */
    bool may_fault;     /* huge pages: a page may be missing (see below) */
    struct shm_attachment *next;
};

typedef struct {
    SYSV_OBJECT_HEAD;
    struct shm_attachment *cur; /* the current attachment, or NULL */
    struct shm_attachment *all; /* every mapping the handle still has */
} SharedMemoryObject;

#define SHM(o) ((SharedMemoryObject *)(o))

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

/* Whether the mapping at addr is made of huge pages: its KernelPageSize
 * in /proc/self/smaps is larger than a page.  Only called for addresses
 * aligned to the smallest huge page size there is (64 KiB, on arm64 and
 * powerpc), which every huge page mapping is, so that most attachments
 * of ordinary segments are told apart without reading the file. */
static bool
mapping_is_huge(const void *addr)
{
    char line[256], head[32];
    bool in_vma = false, huge = false;
    unsigned long kib;
    FILE *f;

    if ((uintptr_t)addr & (64 * 1024 - 1)) {
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

/* populate() of an attachment that may fault, out of line. */
Py_NO_INLINE static int
populate_range(PyObject *self, struct shm_attachment *att, size_t offset,
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

/*
 * Puts pages behind bytes offset..offset+len of att before an access
 * (write: for writing).  Returns 0 or -1 with MemoryError (no huge page
 * is free for it) or OSError set.  One test of a flag for ordinary
 * segments.
 */
static inline int
populate(PyObject *self, struct shm_attachment *att, size_t offset,
         size_t len, bool write)
{
    if (!att->may_fault || len == 0) {
        return 0;
    }
    return populate_range(self, att, offset, len, write);
}

/* ---------------------------------------------------------- attachments */

/* shmat()s the segment and makes it the current attachment. */
static int
attachment_new(PyObject *self, const void *address, int flags)
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
    att->may_fault = mapping_is_huge(att->map.addr);
    att->next = SHM(self)->all;
    SHM(self)->all = att;
    SHM(self)->cur = att;
    return 0;
}

/* shmdt()s att and forgets it.  Returns 0 or -errno. */
static int
attachment_unmap(PyObject *self, struct shm_attachment *att)
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
static int
detach_current(PyObject *self)
{
    struct shm_attachment *att = SHM(self)->cur;

    SHM(self)->cur = NULL;
    att->detached = true;
    if (att->exports > 0) {
        return 0;
    }
    return attachment_unmap(self, att);
}

static void
not_attached(PyObject *self, const char *what)
{
    PyErr_Format(sysv_exception(self, IPCORE_ERR_NOT_ATTACHED),
                 "%s attempt on unattached memory segment", what);
}

/* ----------------------------------------------------------- life cycle */

/* The flag bits shmget() may see besides the permission bits. */
#ifndef SHM_HUGE_MASK
#define SHM_HUGE_MASK 0
#define SHM_HUGE_SHIFT 0
#endif
#define SHM_GET_FLAGS                                                         \
    (IPC_CREAT | IPC_EXCL | SHM_HUGETLB | SHM_NORESERVE |                     \
     (SHM_HUGE_MASK << SHM_HUGE_SHIFT))

static int
shm_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "key",  "flags",          "mode",
                              "size", "init_character", NULL };
    PyObject *key_obj, *size_obj = NULL;
    int flags = 0, mode = 0600;
    char init_character = ' ';
    enum ipcore_key_choice choice;
    struct ipcore_object obj;
    size_t size = 0;
    key_t key;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|iiOc:SharedMemory", kwlist,
                                     &key_obj, &flags, &mode, &size_obj,
                                     &init_character)) {
        return -1;
    }
    flags &= SHM_GET_FLAGS;
    if (sysv_parse_key(key_obj, flags, &key, &choice) < 0) {
        return -1;
    }
    if (size_obj) {
        if (!PyLong_Check(size_obj)) {
            PyErr_Format(PyExc_TypeError, "size must be int, not %.50s",
                         Py_TYPE(size_obj)->tp_name);
            return -1;
        }
        size = PyLong_AsSize_t(size_obj);
        if (size == (size_t)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
                return -1;
            }
            PyErr_Clear();
            sysv_error(self, IPCORE_SHM, IPCORE_OP_GET, -EINVAL);
            return -1;
        }
    }
    if ((flags & (IPC_CREAT | IPC_EXCL)) == (IPC_CREAT | IPC_EXCL) &&
        size == 0) {
        long page = sysconf(_SC_PAGESIZE);

        size = page > 0 ? (size_t)page : 4096;
    }

    rc = ipcore_shm_get(key, choice, size, flags, (unsigned int)mode, &obj);
    if (rc < 0) {
        sysv_error(self, IPCORE_SHM, IPCORE_OP_GET, rc);
        return -1;
    }
    /* A second __init__ lets go of what the first one attached. */
    if (SHM(self)->cur) {
        detach_current(self);
    }
    SHM(self)->key = obj.key;
    SHM(self)->id = obj.id;

    if (attachment_new(self, NULL, (mode & 0200) ? 0 : SHM_RDONLY) < 0) {
        return -1;
    }
    if ((flags & (IPC_CREAT | IPC_EXCL)) == (IPC_CREAT | IPC_EXCL) &&
        !SHM(self)->cur->map.read_only) {
        struct shm_attachment *att = SHM(self)->cur;

        if (populate(self, att, 0, att->map.size, true) < 0) {
            /* The segment is new and ours, and nobody could use it
             * unfilled: it goes, rather than stay unknown to anyone. */
            detach_current(self);
            (void)ipcore_remove(IPCORE_SHM, obj.id);
            return -1;
        }
        memset(att->map.addr, (unsigned char)init_character, att->map.size);
    }
    return 0;
}

static void
shm_dealloc(PyObject *self)
{
    /* No buffer can be exported any more (each holds a reference), so
     * every mapping left can go. */
    while (SHM(self)->all) {
        attachment_unmap(self, SHM(self)->all);
    }
    sysv_dealloc(self);
}

static PyObject *
shm_repr(PyObject *self)
{
    return PyUnicode_FromFormat("sysv_ipc.SharedMemory(%d)",
                                (int)SHM(self)->key);
}

PyObject *
sysv_shm_attach_new(PyObject *module, int id, const void *address, int flags)
{
    sysv_state *st = sysv_get_state(module);
    struct ipcore_shm_info info;
    PyObject *self;
    int rc;

    self = sysv_new(st->SharedMemoryType, NULL, NULL);
    if (!self) {
        return NULL;
    }
    SHM(self)->id = id;
    if (attachment_new(self, address, flags) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    /* Fix #2: the key is the segment's own. */
    rc = ipcore_shm_stat(id, &info);
    if (rc < 0) {
        Py_DECREF(self);
        return sysv_error(module, IPCORE_SHM, IPCORE_OP_STAT, rc);
    }
    SHM(self)->key = info.perm.key;
    return self;
}

/* -------------------------------------------------------------- methods */

static PyObject *
shm_attach(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
           PyObject *kwnames)
{
    static const char *const params[] = { "address", "flags", NULL };
    PyObject *argv[2] = { NULL, NULL };
    void *address = NULL;
    int flags = 0;

    if (sysv_parse("attach", params, 0, args, nargs, kwnames, argv) < 0) {
        return NULL;
    }
    if (argv[0] && argv[0] != Py_None) {
        address = PyLong_AsVoidPtr(argv[0]);
        if (!address && PyErr_Occurred()) {
            return NULL;
        }
    }
    if (argv[1] && sysv_parse_int(argv[1], "flags", &flags) < 0) {
        return NULL;
    }
    if (attachment_new(self, address, flags) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
shm_detach(PyObject *self, PyObject *unused)
{
    int rc;

    if (!SHM(self)->cur) {
        PyErr_SetString(sysv_exception(self, IPCORE_ERR_NOT_ATTACHED),
                        "The segment is not attached");
        return NULL;
    }
    rc = detach_current(self);
    if (rc < 0) {
        return sysv_error(self, IPCORE_SHM, IPCORE_OP_DETACH, rc);
    }
    Py_RETURN_NONE;
}

static PyObject *
shm_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
         PyObject *kwnames)
{
    static const char *const params[] = { "byte_count", "offset", NULL };
    PyObject *argv[2] = { NULL, NULL };
    struct shm_attachment *att;
    Py_ssize_t count = 0, offset = 0;
    size_t avail;
    PyObject *result;

    if (nargs || kwnames) {
        if (sysv_parse("read", params, 0, args, nargs, kwnames, argv) < 0 ||
            (argv[0] && sysv_parse_size(argv[0], "byte_count", &count) < 0) ||
            (argv[1] && sysv_parse_size(argv[1], "offset", &offset) < 0)) {
            return NULL;
        }
    }
    /* Only now: converting an argument (its __index__) may have run code
     * that detached or re-made the handle. */
    att = SHM(self)->cur;
    if (!att) {
        not_attached(self, "Read");
        return NULL;
    }
    if ((size_t)offset >= att->map.size) {
        PyErr_SetString(PyExc_ValueError,
                        "The offset must be less than the segment size");
        return NULL;
    }
    /* 0, or more than there is, means "to the end". */
    avail = att->map.size - (size_t)offset;
    if (count == 0 || (size_t)count > avail) {
        count = (Py_ssize_t)avail;
    }

    if (populate(self, att, (size_t)offset, (size_t)count, false) < 0) {
        return NULL;
    }
    /* Allocating runs no Python code (no garbage collection for bytes),
     * so att is still the current attachment. */
    result = PyBytes_FromStringAndSize(NULL, count);
    if (result) {
        ipcore_shm_read(&att->map, (size_t)offset, PyBytes_AS_STRING(result),
                        (size_t)count);
    }
    return result;
}

static PyObject *
shm_write(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    static const char *const params[] = { "s", "offset", NULL };
    PyObject *argv[2] = { NULL, NULL };
    struct shm_attachment *att;
    Py_ssize_t offset = 0;
    sysv_data data;
    PyObject *result = NULL;
    int rc;

    if (nargs == 1 && !kwnames) {
        argv[0] = args[0];
    } else if (sysv_parse("write", params, 1, args, nargs, kwnames, argv) <
                   0 ||
               (argv[1] && sysv_parse_size(argv[1], "offset", &offset) < 0)) {
        return NULL;
    }

    if (sysv_data_get(argv[0], &data) < 0) {
        return NULL;
    }

    /* Only now, after every conversion (see read()). */
    att = SHM(self)->cur;
    if (!att) {
        not_attached(self, "Write");
        goto done;
    }
    if (att->map.read_only) {
        sysv_error(self, IPCORE_SHM, IPCORE_OP_ACCESS, -EACCES);
        goto done;
    }
    if ((size_t)offset > att->map.size ||
        (size_t)data.len > att->map.size - (size_t)offset) {
        PyErr_SetString(PyExc_ValueError,
                        "Attempt to write past end of memory segment");
        goto done;
    }
    if (populate(self, att, (size_t)offset, (size_t)data.len, true) < 0) {
        goto done;
    }
    rc = ipcore_shm_write(&att->map, (size_t)offset, data.buf,
                          (size_t)data.len);
    if (rc < 0) {
        sysv_error(self, IPCORE_SHM, IPCORE_OP_ACCESS, rc);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    sysv_data_release(&data);
    return result;
}

static PyObject *
shm_remove(PyObject *self, PyObject *unused)
{
    return sysv_remove(self, IPCORE_SHM, SHM(self)->id);
}

/* ------------------------------------------------------- buffer protocol */

static int
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
    if (populate(self, att, 0, att->map.size, !att->map.read_only) < 0) {
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

static void
shm_releasebuffer(PyObject *self, Py_buffer *view)
{
    struct shm_attachment *att = view->internal;

    if (--att->exports == 0 && att->detached) {
        attachment_unmap(self, att);
    }
}

/* ----------------------------------------------------------- attributes */

enum shm_field {
    SHM_F_SIZE,
    SHM_F_ATIME,
    SHM_F_DTIME,
    SHM_F_CTIME,
    SHM_F_CPID,
    SHM_F_LPID,
    SHM_F_NATTCH,
};

static PyObject *
shm_get_stat(PyObject *self, void *closure)
{
    struct ipcore_shm_info info;
    int rc = ipcore_shm_stat(SHM(self)->id, &info);

    if (rc < 0) {
        return sysv_error(self, IPCORE_SHM, IPCORE_OP_STAT, rc);
    }
    switch ((enum shm_field)(intptr_t)closure) {
    case SHM_F_SIZE:
        return PyLong_FromSize_t(info.size);
    case SHM_F_ATIME:
        return sysv_from_time(info.atime);
    case SHM_F_DTIME:
        return sysv_from_time(info.dtime);
    case SHM_F_CTIME:
        return sysv_from_time(info.ctime);
    case SHM_F_CPID:
        return sysv_from_pid(info.cpid);
    case SHM_F_LPID:
        return sysv_from_pid(info.lpid);
    case SHM_F_NATTCH:
        return PyLong_FromUnsignedLong(info.nattch);
    }
    Py_RETURN_NONE;
}

static PyObject *
shm_get_address(PyObject *self, void *closure)
{
    struct shm_attachment *att = SHM(self)->cur;

    /* 0 when detached, as 1.1.0. */
    return PyLong_FromVoidPtr(att ? att->map.addr : NULL);
}

static PyObject *
shm_get_attached(PyObject *self, void *closure)
{
    return PyBool_FromLong(SHM(self)->cur != NULL);
}

/* ---------------------------------------------------------------- type */

static PyMethodDef shm_methods[] = {
    { "attach", SYSV_METH(shm_attach), METH_FASTCALL | METH_KEYWORDS,
      "attach($self, /, address=None, flags=0)\n--\n\n"
      "Attaches the segment (shmat) at address (None lets the kernel\n"
      "choose) with flags such as SHM_RDONLY, SHM_RND, SHM_REMAP.  The\n"
      "constructor already attaches; each attach() adds one to\n"
      "number_attached." },
    { "detach", shm_detach, METH_NOARGS,
      "detach($self, /)\n--\n\n"
      "Detaches the segment: attached becomes False and read(), write()\n"
      "and new buffers raise NotAttachedError.  Buffers exported before\n"
      "stay valid; the mapping goes when the last of them is released." },
    { "read", SYSV_METH(shm_read), METH_FASTCALL | METH_KEYWORDS,
      "read($self, /, byte_count=0, offset=0)\n--\n\n"
      "Returns byte_count bytes from offset as bytes; 0, or more than\n"
      "is left, reads to the end of the segment." },
    { "write", SYSV_METH(shm_write), METH_FASTCALL | METH_KEYWORDS,
      "write($self, /, s, offset=0)\n--\n\n"
      "Writes s (bytes-like, or str as UTF-8) at offset; ValueError if\n"
      "it would go past the end." },
    { "remove", shm_remove, METH_NOARGS,
      "remove($self, /)\n--\n\n"
      "Marks the segment for removal (IPC_RMID); it goes once every\n"
      "process has detached." },
    { NULL, NULL, 0, NULL },
};

static PyGetSetDef shm_getset[] = {
    { "key", sysv_get_key, NULL, "The segment's key (read-only).", NULL },
    { "size", shm_get_stat, NULL, "The segment's size in bytes (read-only).",
      SYSV_CLOSURE(SHM_F_SIZE) },
    { "address", shm_get_address, NULL,
      "The address where this handle has the segment attached, 0 when\n"
      "detached (read-only).",
      NULL },
    { "attached", shm_get_attached, NULL,
      "Whether this handle has the segment attached (read-only).", NULL },
    { "last_attach_time", shm_get_stat, NULL,
      "The time of the last shmat() (read-only).", SYSV_CLOSURE(SHM_F_ATIME) },
    { "last_detach_time", shm_get_stat, NULL,
      "The time of the last shmdt() (read-only).", SYSV_CLOSURE(SHM_F_DTIME) },
    { "last_change_time", shm_get_stat, NULL,
      "The time of the last change by shmctl() (read-only).",
      SYSV_CLOSURE(SHM_F_CTIME) },
    { "creator_pid", shm_get_stat, NULL,
      "The pid of the creating process (read-only).",
      SYSV_CLOSURE(SHM_F_CPID) },
    { "last_pid", shm_get_stat, NULL,
      "The pid of the last process to attach or detach (read-only).",
      SYSV_CLOSURE(SHM_F_LPID) },
    { "number_attached", shm_get_stat, NULL,
      "How many attachments the segment has (read-only).",
      SYSV_CLOSURE(SHM_F_NATTCH) },
    SYSV_PERM_GETSETS(IPCORE_SHM, "The segment's permission bits."),
    { NULL, NULL, NULL, NULL, NULL },
};

static PyType_Slot shm_slots[] = {
    { Py_tp_doc,
      "SharedMemory(key, flags=0, mode=0o600, size=0, init_character=b' ')"
      "\n--\n\n"
      "A handle to a System V shared memory segment, attached at once\n"
      "(read-only when mode lacks 0o200).  With IPC_CREX, size 0 means\n"
      "PAGE_SIZE and the new segment is filled with init_character.\n"
      "Supports the buffer protocol (memoryview, bytearray)." },
    { Py_tp_new, SYSV_SLOT(sysv_new) },
    { Py_tp_init, SYSV_SLOT(shm_init) },
    { Py_tp_dealloc, SYSV_SLOT(shm_dealloc) },
    { Py_tp_str, SYSV_SLOT(sysv_str) },
    { Py_tp_repr, SYSV_SLOT(shm_repr) },
    { Py_tp_methods, shm_methods },
    { Py_tp_getset, shm_getset },
    { Py_tp_members, sysv_members },
    { Py_bf_getbuffer, SYSV_SLOT(shm_getbuffer) },
    { Py_bf_releasebuffer, SYSV_SLOT(shm_releasebuffer) },
    { 0, NULL },
};

PyType_Spec sysv_shared_memory_spec = {
    .name = "sysv_ipc.SharedMemory",
    .basicsize = sizeof(SharedMemoryObject),
    .flags =
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = shm_slots,
};
