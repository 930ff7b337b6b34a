/*
 * The sysv_ipc module: functions, constants, exceptions and the types.
 */
#include "state.h"

#include "args.h"
#include "config.h"
#include "object.h"

#include <errno.h>
#include <sys/shm.h>
#include <unistd.h>

/* What 1.1.0 reports as its version; we keep it so version checks pass. */
#define SYSV_IPC_VERSION "1.1.0"

/* ------------------------------------------------------------ functions */

static PyObject *
remove_by_id(PyObject *module, PyObject *arg, enum ipcore_kind kind)
{
    int id;

    if (sysv_parse_int(arg, "id", &id) < 0) {
        return NULL;
    }
    return sysv_remove(module, kind, id);
}

static PyObject *
mod_remove_semaphore(PyObject *module, PyObject *arg)
{
    return remove_by_id(module, arg, IPCORE_SEM);
}

static PyObject *
mod_remove_shared_memory(PyObject *module, PyObject *arg)
{
    return remove_by_id(module, arg, IPCORE_SHM);
}

static PyObject *
mod_remove_message_queue(PyObject *module, PyObject *arg)
{
    return remove_by_id(module, arg, IPCORE_MQ);
}

static PyObject *
mod_attach(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "id", "address", "flags", NULL };
    PyObject *address_obj = Py_None;
    void *address = NULL;
    int id, flags = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "i|Oi:attach", kwlist, &id,
                                     &address_obj, &flags)) {
        return NULL;
    }
    if (address_obj != Py_None) {
        address = PyLong_AsVoidPtr(address_obj);
        if (!address && PyErr_Occurred()) {
            return NULL;
        }
    }
    return sysv_shm_attach_new(module, id, address, flags);
}

static PyObject *
mod_ftok(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "path", "id", "silence_warning", NULL };
    PyObject *path_obj, *path = NULL;
    int id, silence = 0;
    key_t key;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oi|p:ftok", kwlist,
                                     &path_obj, &id, &silence) ||
        !PyUnicode_FSConverter(path_obj, &path)) {
        return NULL;
    }
    if (!silence &&
        PyErr_WarnEx(PyExc_Warning,
                     "Use of ftok() is not recommended; see sysv_ipc "
                     "documentation",
                     1) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    key = ftok(PyBytes_AS_STRING(path), id);
    if (key == (key_t)-1) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_obj);
        Py_DECREF(path);
        return NULL;
    }
    Py_DECREF(path);
    return PyLong_FromLong((long)key);
}

static PyMethodDef module_methods[] = {
    { "attach", SYSV_METH(mod_attach), METH_VARARGS | METH_KEYWORDS,
      "attach($module, /, id, address=None, flags=0)\n--\n\n"
      "Attaches the existing shared memory segment with this id and\n"
      "returns a new SharedMemory for it; address and flags are as for\n"
      "SharedMemory.attach()." },
    { "ftok", SYSV_METH(mod_ftok), METH_VARARGS | METH_KEYWORDS,
      "ftok($module, /, path, id, silence_warning=False)\n--\n\n"
      "Returns ftok(3) of path and id: a key that other keys may collide\n"
      "with, hence the Warning unless silence_warning is true.  OSError\n"
      "when path cannot be stat()ed." },
    { "remove_semaphore", mod_remove_semaphore, METH_O,
      "remove_semaphore($module, id, /)\n--\n\n"
      "Removes the semaphore with this id (IPC_RMID)." },
    { "remove_shared_memory", mod_remove_shared_memory, METH_O,
      "remove_shared_memory($module, id, /)\n--\n\n"
      "Removes the shared memory segment with this id (IPC_RMID); it\n"
      "goes away once the last process detaches." },
    { "remove_message_queue", mod_remove_message_queue, METH_O,
      "remove_message_queue($module, id, /)\n--\n\n"
      "Removes the message queue with this id (IPC_RMID)." },
    { NULL, NULL, 0, NULL },
};

/* ---------------------------------------------------------- module setup */

static int
add_exception(PyObject *m, PyObject **slot, const char *name, const char *doc,
              PyObject *base)
{
    char qualified[64];

    PyOS_snprintf(qualified, sizeof(qualified), "sysv_ipc.%s", name);
    *slot = PyErr_NewExceptionWithDoc(qualified, doc, base, NULL);
    if (!*slot) {
        return -1;
    }
    return PyModule_AddObjectRef(m, name, *slot);
}

static int
add_type(PyObject *m, PyTypeObject **slot, PyType_Spec *spec)
{
    *slot = (PyTypeObject *)PyType_FromModuleAndSpec(m, spec, NULL);
    if (!*slot) {
        return -1;
    }
    return PyModule_AddType(m, *slot);
}

static int
add_int(PyObject *m, const char *name, long long value)
{
    PyObject *v = PyLong_FromLongLong(value);
    int rc;

    if (!v) {
        return -1;
    }
    rc = PyModule_AddObjectRef(m, name, v);
    Py_DECREF(v);
    return rc;
}

static int
add_str(PyObject *m, const char *name, const char *value)
{
    return PyModule_AddStringConstant(m, name, value);
}

static int
sysv_exec(PyObject *m)
{
    sysv_state *st = PyModule_GetState(m);
    long page = sysconf(_SC_PAGESIZE);

    st->huge_page_min = shm_huge_page_min();

    if (add_exception(m, &st->Error, "Error",
                      "The base of the module's own exceptions.", NULL) < 0 ||
        add_exception(m, &st->InternalError, "InternalError",
                      "Something went wrong inside the module itself.",
                      st->Error) < 0 ||
        add_exception(m, &st->PermissionsError, "PermissionsError",
                      "The object's permissions do not allow the call.",
                      st->Error) < 0 ||
        add_exception(m, &st->ExistentialError, "ExistentialError",
                      "The object does not exist (or was removed), or\n"
                      "already exists when IPC_EXCL asked for a new one.",
                      st->Error) < 0 ||
        add_exception(m, &st->BusyError, "BusyError",
                      "The call would have to wait and may not (block is\n"
                      "False), or its timeout ran out.",
                      st->Error) < 0 ||
        add_exception(m, &st->NotAttachedError, "NotAttachedError",
                      "The shared memory segment is not attached.",
                      st->Error) < 0) {
        return -1;
    }

    if (add_type(m, &st->SemaphoreType, &sysv_semaphore_spec) < 0 ||
        add_type(m, &st->SemaphoreSetType, &sysv_semaphore_set_spec) < 0 ||
        add_type(m, &st->SharedMemoryType, &sysv_shared_memory_spec) < 0 ||
        add_type(m, &st->MessageQueueType, &sysv_message_queue_spec) < 0) {
        return -1;
    }

    if (add_int(m, "IPC_CREAT", IPC_CREAT) < 0 ||
        add_int(m, "IPC_EXCL", IPC_EXCL) < 0 ||
        add_int(m, "IPC_CREX", IPC_CREAT | IPC_EXCL) < 0 ||
        add_int(m, "IPC_PRIVATE", IPC_PRIVATE) < 0 ||
        add_int(m, "IPC_NOWAIT", IPC_NOWAIT) < 0 ||
        add_int(m, "SEM_UNDO", SEM_UNDO) < 0 ||
        add_int(m, "KEY_MIN", IPCORE_KEY_MIN) < 0 ||
        add_int(m, "KEY_MAX", IPCORE_KEY_MAX) < 0 ||
        add_int(m, "SEMAPHORE_VALUE_MAX", IPCORE_SEM_VALUE_MAX) < 0 ||
        add_int(m, "PAGE_SIZE", page > 0 ? page : 4096) < 0 ||
        add_int(m, "SHM_RDONLY", SHM_RDONLY) < 0 ||
        add_int(m, "SHM_RND", SHM_RND) < 0 ||
        add_int(m, "SHM_HUGETLB", SHM_HUGETLB) < 0 ||
        add_int(m, "SHM_NORESERVE", SHM_NORESERVE) < 0 ||
        add_int(m, "SHM_REMAP", SHM_REMAP) < 0) {
        return -1;
    }
    if (PyModule_AddObjectRef(m, "SEMAPHORE_TIMEOUT_SUPPORTED",
                              HAVE_SEMTIMEDOP ? Py_True : Py_False) < 0) {
        return -1;
    }

    if (add_str(m, "VERSION", SYSV_IPC_VERSION) < 0 ||
        add_str(m, "__version__", SYSV_IPC_VERSION) < 0 ||
        add_str(m, "__author__", "The ipcfs authors") < 0 ||
        add_str(m, "__license__", "MIT") < 0 ||
        add_str(m, "__copyright__", "Copyright 2026 The ipcfs authors") < 0) {
        return -1;
    }
    return 0;
}

static int
sysv_traverse(PyObject *m, visitproc visit, void *arg)
{
    sysv_state *st = PyModule_GetState(m);

    Py_VISIT(st->Error);
    Py_VISIT(st->InternalError);
    Py_VISIT(st->PermissionsError);
    Py_VISIT(st->ExistentialError);
    Py_VISIT(st->BusyError);
    Py_VISIT(st->NotAttachedError);
    Py_VISIT(st->SemaphoreType);
    Py_VISIT(st->SemaphoreSetType);
    Py_VISIT(st->SharedMemoryType);
    Py_VISIT(st->MessageQueueType);
    return 0;
}

static int
sysv_clear(PyObject *m)
{
    sysv_state *st = PyModule_GetState(m);

    Py_CLEAR(st->Error);
    Py_CLEAR(st->InternalError);
    Py_CLEAR(st->PermissionsError);
    Py_CLEAR(st->ExistentialError);
    Py_CLEAR(st->BusyError);
    Py_CLEAR(st->NotAttachedError);
    Py_CLEAR(st->SemaphoreType);
    Py_CLEAR(st->SemaphoreSetType);
    Py_CLEAR(st->SharedMemoryType);
    Py_CLEAR(st->MessageQueueType);
    return 0;
}

static void
sysv_free(void *m)
{
    sysv_clear((PyObject *)m);
}

static PyModuleDef_Slot module_slots[] = {
    { Py_mod_exec, SYSV_SLOT(sysv_exec) },
    { 0, NULL },
};

PyModuleDef sysv_ipc_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sysv_ipc",
    .m_doc = "System V IPC for Python: semaphores, shared memory and\n"
             "message queues.  A drop-in replacement for sysv_ipc 1.1.0,\n"
             "built on the ipcfs core, with semaphore sets added.",
    .m_size = sizeof(sysv_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = sysv_traverse,
    .m_clear = sysv_clear,
    .m_free = sysv_free,
};

PyMODINIT_FUNC PyInit_sysv_ipc(void);

PyMODINIT_FUNC
PyInit_sysv_ipc(void)
{
    return PyModuleDef_Init(&sysv_ipc_module);
}
