/*
 * The SemaphoreSet family: the set and its values (semaphore_set.c) and
 * its semops (semaphore_set_semop.c).
 */
#ifndef SYSV_SEMAPHORE_SET_H
#define SYSV_SEMAPHORE_SET_H

#include "sem_common.h"

#include <stdbool.h>

typedef struct {
    SYSV_SEM_HEAD;
    int nsems;
} SemaphoreSetObject;

#define SET(o) ((SemaphoreSetObject *)(o))

/* Converts an element number, allowing negative ones from the end when
 * from_end; IndexError outside the set. */
static inline int
sysv_set_parse_num(PyObject *self, PyObject *obj, bool from_end, int *num)
{
    Py_ssize_t i = PyNumber_AsSsize_t(obj, PyExc_IndexError);

    if (i == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (from_end && i < 0) {
        i += SET(self)->nsems;
    }
    if (i < 0 || i >= SET(self)->nsems) {
        PyErr_Format(PyExc_IndexError,
                     "semaphore number %zd is outside the set of %d", i,
                     SET(self)->nsems);
        return -1;
    }
    *num = (int)i;
    return 0;
}

/* The semop methods (semaphore_set_semop.c), METH_FASTCALL|METH_KEYWORDS. */
PyObject *sysv_set_acquire(PyObject *self, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames);
PyObject *sysv_set_release(PyObject *self, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames);
PyObject *sysv_set_z(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                     PyObject *kwnames);
PyObject *sysv_set_operate(PyObject *self, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames);

#endif /* SYSV_SEMAPHORE_SET_H */
