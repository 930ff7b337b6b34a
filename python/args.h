/*
 * Argument conversion (args.c): the fast parser, and the converters of the
 * arguments more than one class takes.
 */
#ifndef SYSV_ARGS_H
#define SYSV_ARGS_H

#include "state.h"

#include <stdbool.h>
#include <time.h>

/*
 * A fast parser for METH_FASTCALL | METH_KEYWORDS methods.  params lists
 * the names of the positional-or-keyword parameters (NULL-terminated);
 * out[i], which the caller sets to NULL, receives a borrowed reference to
 * the argument for params[i], and stays NULL when that argument is not
 * given.  The first nrequired parameters must be given.  Returns 0, or -1
 * with TypeError set as CPython's own functions word it.
 */
int sysv_parse(const char *fname, const char *const *params, int nrequired,
               PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               PyObject **out);

/*
 * The constructors' usual call, Kind(key) or Kind(key, flags) with flags an
 * exact int, converted as PyArg_ParseTupleAndKeywords() converts "O|i" but
 * without its generic machinery, which costs a create+remove more than
 * everything else the module does for it (callgrind: ~300 instructions of
 * ~1,400).  Returns 1 when done (*key borrowed, *flags set), 0 for any
 * other call, with nothing set and no exception: the caller then parses
 * it the general way, which gives every error its usual text.
 */
int sysv_parse_key_flags(PyObject *args, PyObject *kwds, PyObject **key,
                         int *flags);

/* Checks the IPC_CREAT/IPC_EXCL combination of a constructor's flags and
 * converts its key argument: None asks for a random key (only valid with
 * IPC_EXCL in flags), else an int in [KEY_MIN, KEY_MAX].  Returns 0 or -1
 * with ValueError/TypeError set. */
int sysv_parse_key(PyObject *obj, int flags, key_t *key,
                   enum ipcore_key_choice *choice);

/*
 * Converts a timeout argument: None (or obj NULL, or +inf) waits forever
 * (*timeout = NULL); an int or float >= 0 is stored in *ts and *timeout
 * points at it.  Anything else is TypeError.  Returns 0 or -1.
 */
int sysv_parse_timeout(PyObject *obj, struct timespec *ts,
                       const struct timespec **timeout);

/* Converts an int argument that must fit a C int; -1 with an exception
 * (OverflowError naming what when it does not). */
int sysv_parse_int(PyObject *obj, const char *what, int *out);

/* Converts a non-negative index-like int into *out; -1 with an exception
 * (ValueError, naming what, when negative). */
int sysv_parse_size(PyObject *obj, const char *what, Py_ssize_t *out);

/*
 * obj as a tuple, which runs no Python code when read: a list, a generator
 * or any other iterable is copied first.  Reading it in place would let
 * code run between the checks and the system call (an item's __index__
 * clearing the list, a generator re-making the handle), which is how the
 * old code read past its buffers.  TypeError with message when obj is
 * not iterable.  A new reference, or NULL.
 */
PyObject *sysv_frozen_tuple(PyObject *obj, const char *message);

/*
 * The bytes of a message or of data to write: bytes and str (as UTF-8)
 * are read in place, any other bytes-like object through a simple buffer
 * request, which sysv_data_release() gives back.
 */
typedef struct {
    const char *buf;
    Py_ssize_t len;
    bool has_view;
    Py_buffer view;
} sysv_data;

int sysv_data_get(PyObject *obj, sysv_data *data);

static inline void
sysv_data_release(sysv_data *data)
{
    if (data->has_view) {
        PyBuffer_Release(&data->view);
    }
}

/* Converts a time_t, a pid_t and a uid_t to Python ints. */
#define sysv_from_time(t) PyLong_FromLongLong((long long)(t))
#define sysv_from_pid(p) PyLong_FromLong((long)(p))
#define sysv_from_uid(u) PyLong_FromUnsignedLong((unsigned long)(u))

#endif /* SYSV_ARGS_H */
