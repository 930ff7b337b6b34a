/*
 * sysv_ipc.SharedMemory: a segment and this handle's attachments of it
 * (how attachments live and die, and the buffer export, are in
 * shm_attachment.c; the contract is in shared_memory.h).
 */
#include "shared_memory.h"

#include "args.h"
#include "errors.h"

#include <errno.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

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
        shm_detach_current(self);
    }
    SHM(self)->key = obj.key;
    SHM(self)->id = obj.id;

    if (shm_attachment_new(self, NULL, (mode & 0200) ? 0 : SHM_RDONLY) < 0) {
        return -1;
    }
    if ((flags & (IPC_CREAT | IPC_EXCL)) == (IPC_CREAT | IPC_EXCL) &&
        !SHM(self)->cur->map.read_only) {
        struct shm_attachment *att = SHM(self)->cur;

        if (shm_populate(self, att, 0, att->map.size, true) < 0) {
            /* The segment is new and ours, and nobody could use it
             * unfilled: it goes, rather than stay unknown to anyone. */
            shm_detach_current(self);
            (void)ipcore_remove(IPCORE_SHM, obj.id);
            return -1;
        }
        memset(att->map.addr, (unsigned char)init_character, att->map.size);
    }
    return 0;
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
    if (shm_attachment_new(self, address, flags) < 0) {
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
    if (shm_attachment_new(self, address, flags) < 0) {
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
    rc = shm_detach_current(self);
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

    if (shm_populate(self, att, (size_t)offset, (size_t)count, false) < 0) {
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
    if (shm_populate(self, att, (size_t)offset, (size_t)data.len, true) < 0) {
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
