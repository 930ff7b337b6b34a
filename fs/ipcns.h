/*
 * ipcns — -o ipcns=PATH: serving another IPC namespace than the one the
 * daemon was started in, e.g. a container's (/proc/<pid>/ns/ipc, or a bind
 * mount of one).
 *
 * The daemon does not switch namespaces per call: it moves into the one
 * served, once, with setns(CLONE_NEWIPC), before it has any other thread.
 * setns() moves only the calling thread, and every thread made after
 * (libfuse's workers, the waiters of waiter.c) inherits its namespaces
 * from the thread that makes it, as does the child of fuse_daemonize()'s
 * fork: so every IPC call the daemon makes, from any thread, is in the
 * namespace served.  Its mount namespace, user namespace and credentials
 * stay the daemon's.
 */
#ifndef IPCFS_IPCNS_H
#define IPCFS_IPCNS_H

/* Moves the process, while it has one thread, into the IPC namespace at
 * path.  Returns 0, or -errno with a message (prog: ...) through fuse_log(). */
int ipcns_enter(const char *prog, const char *path);

#endif /* IPCFS_IPCNS_H */
