/*
 * Error kinds to exceptions (errors.c): the one place where a failed
 * ipcore call becomes a Python exception.
 */
#ifndef SYSV_ERRORS_H
#define SYSV_ERRORS_H

#include "state.h"

#include <limits.h>

/* A return code meaning "a Python exception is already set". */
#define SYSV_RC_PYERR INT_MIN

/*
 * Raises the exception that rc (a negated errno from an ipcore call made
 * for op on an object of kind) stands for, and returns NULL.  rc may also
 * be SYSV_RC_PYERR, in which case the exception already set is kept.  obj
 * locates the module (see sysv_get_state).  This is the only place where
 * error kinds become exceptions.
 */
PyObject *sysv_error(PyObject *obj, enum ipcore_kind kind, enum ipcore_op op,
                     int rc);

/* The exception class for an error kind (borrowed), for the few places
 * that raise with a message of their own. */
PyObject *sysv_exception(PyObject *obj, enum ipcore_error_kind err);

#endif /* SYSV_ERRORS_H */
