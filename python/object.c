/*
 * What the objects of every kind share: allocation, deallocation, str(),
 * remove(), and the key, id, owner and mode attributes.  They work on the
 * SYSV_OBJECT_HEAD every object starts with.
 */
#include "object.h"

#include "args.h"
#include "errors.h"

#include <errno.h>
#include <stddef.h>

/* ----------------------------------------------------------- life cycle */

PyObject *
sysv_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* tp_alloc zero-fills, so every other field starts 0, NULL or false;
     * only "not made yet" needs saying. */
    PyObject *self = type->tp_alloc(type, 0);

    if (self) {
        ((SysvObject *)self)->id = -1;
        ((SysvObject *)self)->key = IPC_PRIVATE;
    }
    return self;
}

void
sysv_dealloc(PyObject *self)
{
    /* Heap types: the instance holds a reference to its type. */
    PyTypeObject *tp = Py_TYPE(self);

    tp->tp_free(self);
    Py_DECREF(tp);
}

PyObject *
sysv_str(PyObject *self)
{
    SysvObject *o = (SysvObject *)self;

    return PyUnicode_FromFormat("Key=%d, id=%d", (int)o->key, o->id);
}

PyObject *
sysv_remove(PyObject *obj, enum ipcore_kind kind, int id)
{
    int rc = ipcore_remove(kind, id);

    if (rc < 0) {
        return sysv_error(obj, kind, IPCORE_OP_REMOVE, rc);
    }
    Py_RETURN_NONE;
}

/* ----------------------------------------------------------- attributes */

int
sysv_no_delete(PyObject *self, const char *name)
{
    PyErr_Format(PyExc_AttributeError,
                 "cannot delete attribute '%s' of '%s' objects", name,
                 Py_TYPE(self)->tp_name);
    return -1;
}

PyObject *
sysv_get_key(PyObject *self, void *closure)
{
    return PyLong_FromLong((long)((SysvObject *)self)->key);
}

PyMemberDef sysv_members[] = {
    { "id", T_INT, offsetof(SysvObject, id), READONLY,
      "The id the kernel gave the object (read-only)." },
    { NULL, 0, 0, 0, NULL },
};

static int
stat_perm(enum ipcore_kind kind, int id, struct ipcore_perm *perm)
{
    int rc;

    switch (kind) {
    case IPCORE_SEM: {
        struct ipcore_sem_info info;

        rc = ipcore_sem_stat(id, &info);
        *perm = info.perm;
        return rc;
    }
    case IPCORE_SHM: {
        struct ipcore_shm_info info;

        rc = ipcore_shm_stat(id, &info);
        *perm = info.perm;
        return rc;
    }
    case IPCORE_MQ: {
        struct ipcore_mq_info info;

        rc = ipcore_mq_stat(id, &info);
        *perm = info.perm;
        return rc;
    }
    }
    return -EINVAL;
}

static const char *const perm_names[] = {
    [SYSV_PERM_UID] = "uid",   [SYSV_PERM_GID] = "gid",
    [SYSV_PERM_CUID] = "cuid", [SYSV_PERM_CGID] = "cgid",
    [SYSV_PERM_MODE] = "mode",
};

PyObject *
sysv_get_perm(PyObject *self, void *closure)
{
    int code = (int)(intptr_t)closure;
    enum ipcore_kind kind = (enum ipcore_kind)(code >> 8);
    struct ipcore_perm perm = { 0 };
    int rc = stat_perm(kind, ((SysvObject *)self)->id, &perm);

    if (rc < 0) {
        return sysv_error(self, kind, IPCORE_OP_STAT, rc);
    }

    switch ((enum sysv_perm_field)(code & 0xff)) {
    case SYSV_PERM_UID:
        return sysv_from_uid(perm.uid);
    case SYSV_PERM_GID:
        return sysv_from_uid(perm.gid);
    case SYSV_PERM_CUID:
        return sysv_from_uid(perm.cuid);
    case SYSV_PERM_CGID:
        return sysv_from_uid(perm.cgid);
    case SYSV_PERM_MODE:
        return PyLong_FromUnsignedLong(perm.mode);
    }
    Py_RETURN_NONE;
}

int
sysv_set_perm(PyObject *self, PyObject *value, void *closure)
{
    int code = (int)(intptr_t)closure;
    enum ipcore_kind kind = (enum ipcore_kind)(code >> 8);
    enum sysv_perm_field field = (enum sysv_perm_field)(code & 0xff);
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    unsigned int mode = (unsigned int)-1;
    unsigned long v;
    int rc;

    if (value == NULL) {
        return sysv_no_delete(self, perm_names[field]);
    }
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "Attribute '%s' must be an integer",
                     perm_names[field]);
        return -1;
    }
    v = PyLong_AsUnsignedLong(value);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        v = (unsigned long)-1;
        PyErr_Clear();
    }
    /* (uid_t)-1 means "unchanged" to the core and to the kernel, so it
     * cannot be set; nor can anything wider than the field. */
    if (field == SYSV_PERM_MODE ? v > 0xffffffffUL - 1 : v >= (uid_t)-1) {
        PyErr_Format(PyExc_ValueError, "Attribute '%s' is out of range",
                     perm_names[field]);
        return -1;
    }
    switch (field) {
    case SYSV_PERM_UID:
        uid = (uid_t)v;
        break;
    case SYSV_PERM_GID:
        gid = (gid_t)v;
        break;
    case SYSV_PERM_MODE:
        mode = (unsigned int)v;
        break;
    case SYSV_PERM_CUID:
    case SYSV_PERM_CGID:
        break;
    }
    rc = ipcore_set_owner_mode(kind, ((SysvObject *)self)->id, uid, gid, mode);
    if (rc < 0) {
        sysv_error(self, kind, IPCORE_OP_SET, rc);
        return -1;
    }
    return 0;
}
