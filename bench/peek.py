"""scripts/bench peek — what a look at a queue costs beside a receive
(issue 9).

Mounts $IPCFS_BUILD/fs/ipcfs (default build/fs/ipcfs) on a temporary
directory in a private IPC namespace (re-executes itself under `unshare
--ipc` when root), fills a queue, and times, each as open + read + close
from Python (the time per operation, the best of 3 runs of ~0.5 s; with
--quick, one run of ~0.05 s):

  receive        mq/<key>/receive, one message taken (and sent back with
                 msgsnd(2), timed apart and subtracted)
  peek           mq/<key>/peek, the oldest message, not taken
  messages/<i>   the message at position i, i = 0 and the last of the queue
  msgrcv         the system calls alone: msgrcv(2), and MSG_COPY at 0 and
                 at the last position (what peek and messages/ make)

MSG_COPY walks the queue to its position, so messages/<last> costs more
with a long queue: the queue is filled with --messages (default 100) of
--size bytes (default 64).  Reports, never asserts.

usage: scripts/bench peek [--quick] [--messages N] [--size BYTES]
"""

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import benchlib  # beside this file: its directory is sys.path[0]

IPC_CREAT, IPC_NOWAIT, MSG_COPY, IPC_RMID = 0o1000, 0o4000, 0o40000, 0
KEY = 0x5EE4

libc = ctypes.CDLL(None, use_errno=True)


def check(rc):
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return rc


def main():
    ap = argparse.ArgumentParser(
        prog="scripts/bench peek",
        description="What a look at a queue costs beside a receive.")
    ap.add_argument("--quick", action="store_true",
                    help="one run of ~0.05 s per operation, not the best "
                         "of 3 of ~0.5 s")
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--size", type=int, default=64)
    # scripts/bench gives every part its options: --ops (the memory checks
    # of python and fs) means nothing here.
    ap.add_argument("--ops", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    target, repeat = (0.05, 1) if args.quick else (0.5, 3)
    where = benchlib.private_ipc(os.path.abspath(__file__), sys.argv[1:])
    binary = os.path.join(benchlib.build_dir(), "fs", "ipcfs")
    mnt = tempfile.mkdtemp(prefix="ipcfs-bench-peek-")
    daemon = subprocess.Popen([binary, "-f", mnt], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    msq = None
    try:
        deadline = time.monotonic() + 10
        while not os.path.ismount(mnt):
            if time.monotonic() > deadline or daemon.poll() is not None:
                sys.exit("bench peek: ipcfs did not mount")
            time.sleep(0.01)
        msq = check(libc.msgget(KEY, IPC_CREAT | 0o600))
        buf = ctypes.create_string_buffer(8 + max(args.size, 65536))
        ctypes.c_long.from_buffer(buf).value = 1
        ctypes.memset(ctypes.addressof(buf) + 8, ord("x"), args.size)
        for _ in range(args.messages):
            check(libc.msgsnd(msq, buf, args.size, IPC_NOWAIT))
        q = os.path.join(mnt, "mq", str(KEY))
        last = args.messages - 1

        def read_file(path):
            def run(n):
                for _ in range(n):
                    fd = os.open(path, os.O_RDONLY)
                    os.read(fd, 65536)
                    os.close(fd)
            return run

        def receive_and_put_back(n):
            path = os.path.join(q, "receive")
            for _ in range(n):
                fd = os.open(path, os.O_RDONLY)
                os.read(fd, 65536)
                os.close(fd)
                libc.msgsnd(msq, buf, args.size, IPC_NOWAIT)

        def put_back_only(n):
            for _ in range(n):
                libc.msgrcv(msq, buf, 65536, 0, IPC_NOWAIT)
                libc.msgsnd(msq, buf, args.size, IPC_NOWAIT)

        def sys_copy(index):
            def run(n):
                for _ in range(n):
                    check(libc.msgrcv(msq, buf, 65536, index,
                                      MSG_COPY | IPC_NOWAIT))
            return run

        rows = []

        def time_it(name, run):
            n, t = benchlib.measure(run, target, repeat)
            rows.append((name, t / n * 1e6))

        time_it("receive + msgsnd back", receive_and_put_back)
        time_it("msgrcv + msgsnd (syscalls)", put_back_only)
        time_it("peek", read_file(os.path.join(q, "peek")))
        time_it("messages/0", read_file(os.path.join(q, "messages", "0")))
        time_it("messages/%d" % last,
                read_file(os.path.join(q, "messages", str(last))))
        time_it("messages/%d.type" % last,
                read_file(os.path.join(q, "messages", "%d.type" % last)))
        time_it("MSG_COPY 0 (syscall)", sys_copy(0))
        time_it("MSG_COPY %d (syscall)" % last, sys_copy(last))
        d = dict(rows)
        print("bench peek: %d messages of %d bytes; %s; %s" % (
            args.messages, args.size, where, benchlib.machine()))
        for name, us in rows:
            print("  %-32s %9.1f us/op" % (name, us))
        recv = d["receive + msgsnd back"] - d["msgrcv + msgsnd (syscalls)"]
        print("  %-32s %9.1f us/op  (receive alone: the above minus the "
              "syscalls' put-back)" % ("receive (estimated)", recv))
        print("  peek / receive: %.2f" % (d["peek"] / recv if recv > 0
                                          else float("nan")))
    finally:
        if msq is not None:
            libc.msgctl(msq, IPC_RMID, None)
        subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        os.rmdir(mnt)


if __name__ == "__main__":
    main()
