/*
 * The module's state, and what every file of the module starts from.
 *
 * Every .c file of the extension includes this header first (it brings in
 * Python.h, which must come before any system header) and then the headers
 * of the pieces it uses: errors.h, args.h, object.h, wait.h, and the
 * header of its own class family.  No header declares another file's
 * internals, so a change to one class rebuilds that class only.
 */
#ifndef SYSV_STATE_H
#define SYSV_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "ipcore.h"

/* Per-module state: the exceptions and the types. */
typedef struct {
    PyObject *Error;
    PyObject *InternalError;
    PyObject *PermissionsError;
    PyObject *ExistentialError;
    PyObject *BusyError;
    PyObject *NotAttachedError;
    PyTypeObject *SemaphoreType;
    PyTypeObject *SemaphoreSetType;
    PyTypeObject *SharedMemoryType;
    PyTypeObject *MessageQueueType;
    /* The smallest huge page size this machine offers (shm_attachment.c):
     * an attachment at an address not aligned to it is not of huge
     * pages. */
    size_t huge_page_min;
} sysv_state;

extern PyModuleDef sysv_ipc_module;

/* The specs the types are made from (module.c), one per class file. */
extern PyType_Spec sysv_semaphore_spec;
extern PyType_Spec sysv_semaphore_set_spec;
extern PyType_Spec sysv_shared_memory_spec;
extern PyType_Spec sysv_message_queue_spec;

/* shared_memory.c: a new attached SharedMemory for segment id, for the
 * module's attach() function. */
PyObject *sysv_shm_attach_new(PyObject *module, int id, const void *address,
                              int flags);

/* shm_attachment.c: the smallest huge page size the kernel offers (the
 * names in /sys/kernel/mm/hugepages), for sysv_state.huge_page_min: 0 when
 * it offers none, 64 KiB (the smallest there is anywhere) when it cannot
 * be told. */
size_t shm_huge_page_min(void);

/* The state of the module that obj (the module itself, or an instance of
 * one of its types, or of a subclass) belongs to.  Never NULL for those. */
static inline sysv_state *
sysv_get_state(PyObject *obj)
{
    PyObject *module;

    if (PyModule_Check(obj)) {
        return PyModule_GetState(obj);
    }
    /* Walks the MRO, so that subclasses made in Python work too.  Only
     * error paths and constructors come here. */
    module = PyType_GetModuleByDef(Py_TYPE(obj), &sysv_ipc_module);
    assert(module != NULL);
    return PyModule_GetState(module);
}

#endif /* SYSV_STATE_H */
