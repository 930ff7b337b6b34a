#!/usr/bin/python3
"""Randomised stress of ipcfs (the FUSE daemon) and sysv_ipc, with exact
accounting.  Started by scripts/stress, which puts it in a private IPC and
mount namespace; run as root.

What runs, for SECONDS:

* an ipcfs daemon (-o allow_other, data=auto or data=fallback, and -s,
  clone_fd, max_threads=4 or the default threads, chosen at
  random at each start), optionally under --daemon-prefix (e.g. valgrind);
* worker processes doing random operations through the mount, with plain
  file I/O: send/receive (plain and type/<t>/, blocking and O_NONBLOCK,
  poll, a too-small buffer, a second read after the message), P/V/Z on op
  files (blocking and O_NONBLOCK, invalid input), value and attribute
  reads/writes, shm data pread/pwrite/mmap/O_TRUNC/truncate/writes past the
  end, listings, stat, chmod/chown; and the same through the sysv_ipc
  module on the same objects;
* a churner that creates and removes objects (mkdir/rmdir and the module),
  so kernel ids are reused while other workers hold descriptors to them;
* a killer (the coordinator) that sends SIGKILL or SIGINT to workers while
  they are inside a call (blocked, mostly), and a few times per run kills
  the daemon with SIGKILL, unmounts it (fusermount3 -u -z) and starts
  another one.

Every blocking call through the mount is bounded: a repeating SIGALRM
(0.05..2 s) interrupts it (EINTR is then checked like any interruption).
A watchdog fails the run if any call through the mount, or any
non-waiting module call, lasts longer than --hang-bound (30 s).

Accounting (each worker logs every accounted call before and after it, in
its own append-only file; receivers read straight into a page shared with
the coordinator, so a receiver killed right after its read still counts):

* messages: each carries a unique id, the id of the queue it was sent to
  and its type.  Every message whose send succeeded must be received
  exactly once: by a worker, by the churner (which, before removing a
  queue, sets its max_size to 0 so nothing more can be sent, and drains
  it), or by the final drain.  A send that failed must never be received;
  one whose outcome its sender cannot know (killed during the call, or
  ECONNABORTED when the daemon was killed) at most once.  A message must
  come out of the queue it was sent to, with its type rules respected, its
  bytes intact.  The only messages allowed to be missing are ones that may
  have been in the daemon's hands when it was SIGKILLed (bounded by the
  receives that ended with ECONNABORTED on that queue) or when their queue
  was removed (bounded by the receives killed or interrupted on it); they
  are printed separately.
* semaphores (the long-lived sets, per element): initial value + V done -
  P done = final value, where calls whose outcome is unknown (killed, or
  ECONNABORTED) widen the allowed range by their deltas, and no process
  waits in the end (GETNCNT = GETZCNT = 0).
* ids: no call started after its object's removal may succeed (an open
  file or handle must never reach a new object that reused the id);
  shared-memory segments are exempt, as open data files keep theirs.
* shared memory: each worker writes its own stripe and reads it back
  through the same descriptor, through an mmap of the data file and
  through a sysv_ipc attachment of the same id: all must agree (when the
  stripe changed under both views alike, it is the fill with spaces that
  a sysv_ipc creator does right after shmget(), not an incoherence).
* errors: every errno is classified as expected for that call (ENOENT or
  EIDRM after removal, EAGAIN, EINTR, ENOTCONN/ECONNABORTED while the
  daemon is being replaced, EINVAL for invalid input, ...); any other is a
  violation, as is a crash of a worker (a traceback) or of the module.
* waiters: once every caller is gone, a probe message put in each queue
  must stay there (no daemon waiter left to swallow it).
* resources: the daemon's RSS, descriptors and threads, measured while
  quiet after warm-up (after the last restart) and again at the end, must
  come back to within a slack: RSS + --rss-slack-kib (default 8192), fds
  +0, threads at most max(baseline, 13) (libfuse keeps the up to 10
  workers it started; with the main thread, the waiters' reaper and the
  poll watcher that is 13; every per-call waiter thread must be gone).
* the daemon exits 0 at the final unmount and prints nothing alarming.

Figures are printed at the end; any violation is printed with its evidence
and the exit status is 1.  The seed is printed; --seed reproduces the same
random choices (the interleaving is up to the scheduler).

Where it is (scripts/stress_*.py beside this entry, which holds the
command line):

* stress_ledger: the page shared by the coordinator and the workers
  (status, landing pages, counters, control flags);
* stress_objects: the objects' keys; stress_messages: the messages'
  format and log lines;
* stress_worker: a worker's loop and the roles' mixes of calls, from
  stress_caller (the plumbing every call shares), stress_fs_mq,
  stress_fs_sem, stress_fs_shm, stress_fs_attrs (the calls through the
  mount), stress_module_calls (through sysv_ipc) and stress_churn;
* stress_coordinator: spawning, the killer, the watchdog, the pause and
  the end; stress_daemon: the daemon's starts, restarts, figures and
  final unmount;
* stress_accounting: the checks above and the report.
"""

import argparse
import os
import sys

import isolated  # first: puts BUILD's sysv_ipc on sys.path
from stress_coordinator import Coordinator


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seconds", nargs="?", type=int, default=60)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--restarts", type=int, default=None,
                    help="daemon kill -9 + remount count (default: one per "
                    "30 s, 1..5)")
    ap.add_argument("--daemon-prefix", default="",
                    help="run the daemon under this command, e.g. "
                    "'valgrind --error-exitcode=99'")
    ap.add_argument("--threading", default="default,s,clone_fd,max_threads=4",
                    help="daemon thread settings to pick from at each start "
                    "(comma-separated: default, s, clone_fd, max_threads=N)")
    ap.add_argument("--hang-bound", type=float, default=30.0)
    ap.add_argument("--kill-rate", type=float, default=0.3,
                    help="chance per 20 ms tick of killing a caller")
    ap.add_argument("--rss-slack-kib", type=int, default=8192)
    ap.add_argument("--scratch", required=True)
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    a.threading = a.threading.split(",")
    if a.restarts is None:
        a.restarts = min(5, max(1, a.seconds // 30))
    # A tmpfs of our own: scratch files vanish with the namespace.
    isolated.enter("stress", a.scratch)
    c = Coordinator(a)
    status = 1
    try:
        c.run()
        c.account()
        c.check_daemon_output()
        status = c.report()
    except KeyboardInterrupt:
        print("\nstress: interrupted (seed %d)" % c.seed)
        status = 130
    finally:
        c.cleanup()
    return status


if __name__ == "__main__":
    sys.exit(main())
