/*
 * The PEP 475 wait, written once for every blocking call of the module
 * (semop, msgsnd, msgrcv), as CPython's own modules wait: the GIL is
 * released for the system call; on EINTR the signal handlers run
 * (PyErr_CheckSignals()), and unless one raised (Ctrl-C: KeyboardInterrupt)
 * the call is made again with the time that is left of the timeout, so
 * that signals neither end a wait early nor make it longer.
 *
 * Callers try without waiting first, holding the GIL, and come here only
 * when the call would block; they keep their wait out of line
 * (Py_NO_INLINE) so that their fast path stays small.
 */
#ifndef SYSV_WAIT_H
#define SYSV_WAIT_H

#include "errors.h"

#include <errno.h>
#include <sys/types.h>

/*
 * One try of the blocking call, made with the GIL released, so it must
 * not touch Python objects: arg is the caller's description of the call,
 * left the time left (NULL: forever).  Returns what the ipcore call does:
 * >= 0, or a negated errno (-EINTR to be retried).
 */
typedef ssize_t (*sysv_blocking_call)(void *arg, const struct timespec *left);

/*
 * Waits in call(arg, ...) for at most timeout (NULL: forever), following
 * PEP 475 (see the top).  Returns call's result, or SYSV_RC_PYERR when a
 * signal handler raised.  Inline so that call, a static function of the
 * caller, is called directly.
 */
static inline ssize_t
sysv_wait(sysv_blocking_call call, void *arg, const struct timespec *timeout)
{
    struct ipcore_deadline deadline;
    struct timespec left;
    const struct timespec *wait;
    ssize_t rc;

    ipcore_deadline_start(&deadline, timeout);
    for (;;) {
        wait = ipcore_deadline_left(&deadline, &left);
        Py_BEGIN_ALLOW_THREADS
        rc = call(arg, wait);
        Py_END_ALLOW_THREADS
        if (rc != -EINTR) {
            return rc;
        }
        if (PyErr_CheckSignals() < 0) {
            return SYSV_RC_PYERR;
        }
    }
}

#endif /* SYSV_WAIT_H */
