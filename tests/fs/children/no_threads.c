/*
 * Makes pthread_create() fail with EAGAIN, while the file named by
 * $IPCFS_TEST_NO_THREADS exists, for threads with a 64 KiB stack: the
 * daemon's waiters (WAITER_STACK_SIZE in fs/waiter.c), not libfuse's
 * workers.  Preloaded into ipcfs by tests/fs/test_fs_waiter_limits.py,
 * which builds it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef int create_fn(pthread_t *, const pthread_attr_t *,
                      void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                   void *(*fn)(void *), void *arg)
{
        create_fn *real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
        const char *flag = getenv("IPCFS_TEST_NO_THREADS");
        size_t size = 0;

        if (attr && pthread_attr_getstacksize(attr, &size) == 0 &&
            size == 64 * 1024 && flag && access(flag, F_OK) == 0)
                return EAGAIN;
        return real(t, attr, fn, arg);
}
