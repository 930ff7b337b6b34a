/*
 * What the objects of every class share (object.c): the head every object
 * starts with, allocation, deallocation, str(), remove(), and the key, id,
 * owner and mode attributes; and the helpers every type spec uses.
 */
#ifndef SYSV_OBJECT_H
#define SYSV_OBJECT_H

#include "state.h"

#include <stdint.h>
#include <structmember.h> /* PyMemberDef, T_INT, READONLY before 3.12 */

/*
 * The first members of every object of the module, so that attribute code
 * shared by the kinds (key, id, owner and mode) can work on any of them.
 */
/* clang-format off */
#define SYSV_OBJECT_HEAD \
    PyObject_HEAD \
    key_t key; \
    int id
/* clang-format on */

typedef struct {
    SYSV_OBJECT_HEAD;
} SysvObject;

/* tp_new of every kind: an object not made yet (id -1), all else zero. */
PyObject *sysv_new(PyTypeObject *type, PyObject *args, PyObject *kwds);

/* tp_dealloc of the kinds that hold nothing, and the end of the others'. */
void sysv_dealloc(PyObject *self);

/* str() of the kinds that show only their key and id. */
PyObject *sysv_str(PyObject *self);

/* The remove() methods and functions: IPC_RMID of object id of kind;
 * None, or NULL with the error (obj locates the module). */
PyObject *sysv_remove(PyObject *obj, enum ipcore_kind kind, int id);

/* Raises the error for deleting a writable attribute (fix #1). */
int sysv_no_delete(PyObject *self, const char *name);

/*
 * Getters and setters shared by the three kinds.  The closure encodes the
 * object kind and the field: SYSV_PERM_CLOSURE(IPCORE_SEM, SYSV_PERM_UID).
 */
enum sysv_perm_field {
    SYSV_PERM_UID,
    SYSV_PERM_GID,
    SYSV_PERM_CUID,
    SYSV_PERM_CGID,
    SYSV_PERM_MODE,
};

#define SYSV_PERM_CLOSURE(kind, field)                                        \
    ((void *)(intptr_t)(((int)(kind) << 8) | (int)(field)))

PyObject *sysv_get_key(PyObject *self, void *closure);
PyObject *sysv_get_perm(PyObject *self, void *closure);
int sysv_set_perm(PyObject *self, PyObject *value, void *closure);

/*
 * The getset entries of the owner and mode attributes, the same on every
 * kind but for the doc of mode (mode_doc: "The queue's permission bits.").
 */
/* clang-format off */
#define SYSV_PERM_GETSETS(kind, mode_doc) \
    { "uid", sysv_get_perm, sysv_set_perm, "The owner's user id.", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_UID) }, \
    { "gid", sysv_get_perm, sysv_set_perm, "The owner's group id.", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_GID) }, \
    { "mode", sysv_get_perm, sysv_set_perm, mode_doc, \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_MODE) }, \
    { "cuid", sysv_get_perm, NULL, "The creator's user id (read-only).", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_CUID) }, \
    { "cgid", sysv_get_perm, NULL, "The creator's group id (read-only).", \
      SYSV_PERM_CLOSURE(kind, SYSV_PERM_CGID) }
/* clang-format on */

/*
 * The members of every kind: `id` alone.  It is a plain read-only member,
 * as in 1.1.0, because writing one raises 1.1.0's AttributeError text,
 * "readonly attribute" (a getset without a setter says "attribute 'id' of
 * ... objects is not writable"), and programs and 1.1.0's tests match it.
 */
extern PyMemberDef sysv_members[];

/* -------------------------------------------------------- type specs */

/*
 * A function for a PyType_Slot or PyModuleDef_Slot, whose value is a
 * void *.  POSIX makes the conversion safe; going through uintptr_t keeps
 * -Wpedantic (which forbids it done directly) quiet.
 */
#define SYSV_SLOT(f) ((void *)(uintptr_t)(f))

/* A method of any calling convention as the PyCFunction of a PyMethodDef
 * (through void (*)(void), which -Wcast-function-type accepts). */
#define SYSV_METH(f) ((PyCFunction)(void (*)(void))(f))

/* A small int as the closure of a PyGetSetDef (which field, which flag). */
#define SYSV_CLOSURE(v) ((void *)(intptr_t)(v))

#endif /* SYSV_OBJECT_H */
