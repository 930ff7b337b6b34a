#!/usr/bin/python3
"""The ipcfs daemon under valgrind memcheck, over a scripted run that
touches every kind of file; started by scripts/memcheck (private IPC and
mount namespace, run as root).

For each daemon configuration (default options; then -s with
data=fallback), the daemon runs under

    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite
             --errors-for-leak-kinds=definite --error-exitcode=99

and the script does, through the mount: mkdir of each kind (with :nsems and
:size), listings of every directory (root, <kind>/, by-id/, an object,
an element, type/), lookups by decimal, hex and by-id names, a read of every
attribute file of every kind, writes of value/mode/uid/gid/max_size and of
invalid text (EINVAL, ERANGE), chmod and chown, op P/V/Z (O_NONBLOCK ->
EAGAIN; a blocking P released by a V; blocked P and Z interrupted by a
handled signal and by SIGKILL), send and receive (plain and typed,
O_NONBLOCK, receive in pieces, peek, messages/, EMSGSIZE, poll, a blocked receive released by a send, blocked
receive and blocked send on a full queue interrupted and killed), shm data
read/write/pread/pwrite/mmap/O_TRUNC/truncate/past the end, calls on a
descriptor whose object was removed, rmdir of each kind, a few
hundred mixed calls by concurrent processes; then the daemon is unmounted
cleanly (fusermount3 -u) so that valgrind reports.

It passes when valgrind reports 0 errors and 0 bytes definitely lost, the
daemon exits 0, and every call of the script gave the result the manual
promises; valgrind's summary is printed.  The mount may take a long time
to appear under valgrind: /proc/self/mountinfo is polled for up to 120 s.
"""

import argparse
import errno
import mmap
import os
import re
import select
import signal
import subprocess
import sys
import time

import isolated
from isolated import IPCFS, is_mounted, set_pdeathsig
import sysv_ipc  # noqa: E402  (BUILD's: isolated put it on sys.path)

VALGRIND = ["valgrind", "--tool=memcheck", "--leak-check=full",
            "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--num-callers=30"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("  FAIL: " + what, flush=True)


def errno_of(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno


def rd(path):
    with open(path, "rb") as f:
        return f.read()


def wr(path, data, flags=os.O_WRONLY):
    fd = os.open(path, flags)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


CHILD = r"""
import ctypes, errno, os, signal, sys
signal.signal(signal.SIGUSR1, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.read.restype = ctypes.c_ssize_t
libc.write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
path, what = sys.argv[1], sys.argv[2]
if what == "read":
    fd = os.open(path, os.O_RDONLY)
    buf = ctypes.create_string_buffer(4096)
    print("READY", flush=True)
    n = libc.read(fd, buf, 4096)
    print("DATA " + buf.raw[:n].hex() if n >= 0 else
          "ERR " + errno.errorcode[ctypes.get_errno()], flush=True)
else:
    # One open of send is one message, sent at the close: that may wait.
    libc.close.argtypes = [ctypes.c_int]
    fd = os.open(path, os.O_WRONLY)
    data = what.encode()
    print("READY", flush=True)
    n = libc.write(fd, data, len(data))
    if n >= 0 and libc.close(fd) < 0:
        n = -1
    print("WROTE %d" % n if n >= 0 else
          "ERR " + errno.errorcode[ctypes.get_errno()], flush=True)
"""


class Child:
    """A caller in its own process that makes one read or write of a path
    (which may wait) and prints its outcome."""

    def __init__(self, path, what):
        self.p = subprocess.Popen([sys.executable, "-c", CHILD, str(path),
                                   what], stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "READY"

    def waiting(self, seconds=1.0):
        """True when it is still inside its call after seconds."""
        r, _, _ = select.select([self.p.stdout], [], [], seconds)
        return not r

    def result(self, timeout=60):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        out = self.p.stdout.readline().strip() if r else "HUNG"
        if out == "HUNG":
            self.p.kill()
        self.p.wait()
        return out

    def interrupt(self):
        # A signal that lands before the call starts does not interrupt:
        # repeat until it answers.
        for _ in range(600):
            self.p.send_signal(signal.SIGUSR1)
            r, _, _ = select.select([self.p.stdout], [], [], 0.1)
            if r:
                break
        return self.result()

    def kill(self):
        self.p.kill()
        self.p.wait()
        self.p.stdout.close()


def script(m, heavy):
    """Every kind of file, through the mount m; checks the results the
    manual promises."""
    j = os.path.join
    print("  creating", flush=True)
    os.umask(0)
    os.mkdir(j(m, "sem/100:3"), 0o666)
    os.mkdir(j(m, "sem/101"), 0o640)
    os.mkdir(j(m, "mq/200"), 0o666)
    os.mkdir(j(m, "shm/300:64K"), 0o666)
    os.mkdir(j(m, "shm/301"), 0o600)
    check(errno_of(lambda: os.mkdir(j(m, "sem/100"))) == errno.EEXIST,
          "mkdir of an existing key is EEXIST")
    check(errno_of(lambda: os.mkdir(j(m, "sem/0"))) == errno.EINVAL,
          "mkdir of key 0 is EINVAL")
    check(errno_of(lambda: os.mkdir(j(m, "sem/zz"))) != 0,
          "mkdir of a bad name fails")
    check(errno_of(lambda: os.mkdir(j(m, "shm/302:1T"))) != 0,
          "mkdir of a huge segment fails")
    check(errno_of(lambda: os.mkdir(j(m, "foo"))) == errno.EPERM,
          "mkdir at the root is EPERM")
    priv = sysv_ipc.Semaphore(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX, 0o600)

    print("  listing and lookups", flush=True)
    for d in ("", "sem", "shm", "mq", "sem/by-id", "shm/by-id", "mq/by-id",
              "sem/100", "sem/100/2", "mq/200", "mq/200/type", "shm/300",
              "sem/by-id/%d" % priv.id):
        names = os.listdir(j(m, d))
        for n in names:
            os.lstat(j(m, d, n))
    check("100" in os.listdir(j(m, "sem")), "sem/ lists 100")
    check(os.path.isdir(j(m, "sem/0x00000064")), "hex lookup")
    check(os.path.isdir(j(m, "shm/300:65536")), "key:size lookup")
    check(errno_of(lambda: os.lstat(j(m, "sem/999"))) == errno.ENOENT,
          "missing key is ENOENT")
    check(errno_of(lambda: os.lstat(j(m, "sem/100/nope"))) == errno.ENOENT,
          "missing file is ENOENT")

    print("  attributes", flush=True)
    for d in ("sem/100", "sem/100/1", "sem/101", "mq/200", "shm/300",
              "sem/by-id/%d" % priv.id):
        for n in os.listdir(j(m, d)):
            p = j(m, d, n)
            if os.path.isdir(p) or n in ("op", "send", "receive", "data",
                                         "peek"):
                continue
            check(re.fullmatch(rb"-?\d+\n|0[0-7]+\n", rd(p)) is not None,
                  "%s reads a number" % p)
    wr(j(m, "sem/100/value"), b"3\n")
    wr(j(m, "sem/100/2/value"), b" 7 ")
    check(rd(j(m, "sem/100/2/value")) == b"7\n", "element value written")
    check(errno_of(lambda: wr(j(m, "sem/100/value"), b"40000")) ==
          errno.ERANGE, "value out of range is ERANGE")
    check(errno_of(lambda: wr(j(m, "sem/100/value"), b"x")) == errno.EINVAL,
          "unparsable value is EINVAL")
    wr(j(m, "sem/101/mode"), b"0660")
    wr(j(m, "sem/101/uid"), b"root")
    wr(j(m, "sem/101/gid"), b"0\n")
    check(errno_of(lambda: wr(j(m, "sem/101/mode"), b"bogus")) ==
          errno.EINVAL, "bad mode is EINVAL")
    check(errno_of(lambda: wr(j(m, "sem/101/id"), b"1")) == errno.EACCES,
          "id is not writable")
    wr(j(m, "mq/200/max_size"), b"256")
    os.chmod(j(m, "sem/101"), 0o600)
    os.chown(j(m, "sem/101"), 0, 0)
    check(rd(j(m, "sem/101/mode")) == b"0600\n", "chmod shows in mode")

    print("  semaphore op", flush=True)
    op = j(m, "sem/100/op")
    wr(op, b"-1")
    wr(op, b"+2")
    wr(j(m, "sem/100/1/op"), b"1")
    check(rd(j(m, "sem/100/value")) == b"4\n", "P then V")
    check(errno_of(lambda: wr(j(m, "sem/100/1/op"), b"0",
                              os.O_WRONLY | os.O_NONBLOCK)) == errno.EAGAIN,
          "Z O_NONBLOCK is EAGAIN")
    check(errno_of(lambda: wr(j(m, "sem/100/1/op"), b"-5",
                              os.O_WRONLY | os.O_NONBLOCK)) == errno.EAGAIN,
          "P O_NONBLOCK is EAGAIN")
    check(errno_of(lambda: wr(op, b"abc")) == errno.EINVAL, "bad op EINVAL")
    check(errno_of(lambda: wr(op, b"99999")) == errno.EINVAL,
          "op out of range EINVAL")
    wr(j(m, "sem/100/value"), b"0")
    c = Child(op, "-1")
    check(c.waiting(), "P on 0 waits")
    wr(op, b"1")
    check(c.result() == "WROTE 2", "P released by V")
    c = Child(op, "-1")
    check(c.waiting(), "P waits")
    check(c.interrupt() == "ERR EINTR", "interrupted P is EINTR")
    c = Child(op, "-1")
    check(c.waiting(), "P waits")
    c.kill()
    wr(j(m, "sem/100/1/value"), b"1")
    c = Child(j(m, "sem/100/1/op"), "0")
    check(c.waiting(), "Z waits")
    check(c.interrupt() == "ERR EINTR", "interrupted Z is EINTR")
    c = Child(j(m, "sem/100/1/op"), "0")
    check(c.waiting(), "Z waits")
    v = Child(j(m, "sem/100/1/op"), "-1")
    if v.waiting(10):
        check(False, "a P on sem/100/1/op is held up behind a Z waiting on "
              "the same file (another open) for 10 s")
        check(c.interrupt() == "ERR EINTR", "interrupted Z is EINTR")
        check(v.result() == "WROTE 2", "the P goes once the Z is gone")
    else:
        check(v.result() == "WROTE 2", "P of the last unit")
        check(c.result() == "WROTE 1", "Z released")
    time.sleep(0.5)
    check(rd(j(m, "sem/100/value")) == b"0\n", "nothing taken by killed P")

    print("  messages", flush=True)
    mq = j(m, "mq/200")
    wr(j(mq, "send"), b"hello")
    wr(j(mq, "type/5/send"), b"five")
    sysv_ipc.MessageQueue(200).send(b"")  # a 0-byte write(2) sends nothing
    check(rd(j(mq, "current_messages")) == b"3\n", "3 queued")
    check(rd(j(mq, "peek")) == b"hello", "peek")
    check(sorted(os.listdir(j(mq, "messages")))[:2] == ["0", "0.type"],
          "messages/ lists")
    check(rd(j(mq, "messages/1.type")) == b"5\n", "a message's type")
    fd = os.open(j(mq, "receive"), os.O_RDONLY)
    check(os.read(fd, 2) == b"he", "receive in pieces")
    check(os.read(fd, 100) == b"llo", "receive the rest")
    check(os.read(fd, 100) == b"", "one message per open")
    os.close(fd)
    check(rd(j(mq, "type/-9/receive")) == b"", "lowest type first (empty)")
    check(rd(j(mq, "type/5/receive")) == b"five", "typed receive")
    fd = os.open(j(mq, "receive"), os.O_RDONLY | os.O_NONBLOCK)
    check(errno_of(lambda: os.read(fd, 10)) == errno.EAGAIN,
          "receive O_NONBLOCK on empty is EAGAIN")
    os.close(fd)
    check(errno_of(lambda: wr(j(mq, "send"), b"x" * 300)) ==
          errno.EMSGSIZE, "longer than max_size is EMSGSIZE")
    fd = os.open(j(mq, "receive"), os.O_RDONLY | os.O_NONBLOCK)
    r = select.select([fd], [], [], 0.2)[0]
    check(not r, "poll: not readable when empty")
    wr(j(mq, "send"), b"p")
    r = select.select([fd], [], [], 10)[0]
    check(bool(r), "poll: readable after a send")
    check(os.read(fd, 10) == b"p", "poll then read")
    os.close(fd)
    c = Child(j(mq, "receive"), "read")
    check(c.waiting(), "receive waits")
    wr(j(mq, "send"), b"late")
    check(c.result() == "DATA " + b"late".hex(), "receive released")
    c = Child(j(mq, "receive"), "read")
    check(c.waiting(), "receive waits")
    check(c.interrupt() == "ERR EINTR", "interrupted receive is EINTR")
    c = Child(j(mq, "type/3/receive"), "read")
    check(c.waiting(), "typed receive waits")
    c.kill()
    for _ in range(4):
        wr(j(mq, "send"), b"y" * 60)
    c = Child(j(mq, "send"), "z" * 60)
    check(c.waiting(), "send on a full queue waits")
    check(c.interrupt() == "ERR EINTR", "interrupted send is EINTR")
    c = Child(j(mq, "send"), "z" * 60)
    check(c.waiting(), "send on a full queue waits")
    c.kill()
    c = Child(j(mq, "send"), "w" * 60)
    check(c.waiting(), "send on a full queue waits")
    check(rd(j(mq, "receive")) == b"y" * 60, "receive makes room")
    check(c.result() == "WROTE 60", "blocked send goes")
    time.sleep(0.3)
    check(rd(j(mq, "current_messages")) == b"4\n", "nothing lost or added")

    print("  shared memory data", flush=True)
    data = j(m, "shm/300/data")
    check(os.stat(data).st_size == 65536, "data size")
    wr(data, b"hello\n", os.O_WRONLY | os.O_TRUNC)
    check(rd(data)[:6] == b"hello\n", "echo > data")
    fd = os.open(data, os.O_RDWR)
    check(os.pwrite(fd, b"abc", 1000) == 3, "pwrite")
    check(os.pread(fd, 3, 1000) == b"abc", "pread")
    check(os.pwrite(fd, b"x" * 20, 65530) == 6, "short write at the end")
    check(errno_of(lambda: os.pwrite(fd, b"x", 65536)) == errno.ENOSPC,
          "write past the end is ENOSPC")
    try:
        mm = mmap.mmap(fd, 65536, mmap.MAP_SHARED)
        mm[0:2] = b"MM"
        seg = sysv_ipc.SharedMemory(300)
        check(seg.read(2) == b"MM", "mmap is the segment")
        seg.detach()
        mm.close()
    except OSError as e:
        check(e.errno == errno.ENODEV, "mmap MAP_SHARED: %s" % e)
    os.close(fd)
    os.truncate(data, 100)
    check(errno_of(lambda: os.truncate(data, 1 << 20)) == errno.EFBIG,
          "truncate past the size is EFBIG")
    ro = os.open(j(m, "shm/301/data"), os.O_RDONLY)
    try:
        mm = mmap.mmap(ro, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
        mm.close()
    except OSError as e:
        check(e.errno == errno.ENODEV, "read-only mmap: %s" % e)
    os.pread(ro, 10, 0)

    print("  removal under open descriptors", flush=True)
    keep_op = os.open(j(m, "sem/101/op"), os.O_WRONLY)
    keep_send = os.open(j(mq, "send"), os.O_WRONLY)
    keep_dir = os.open(j(m, "sem/101"), os.O_RDONLY | os.O_DIRECTORY)
    os.rmdir(j(m, "sem/101"))
    os.rmdir(j(m, "mq/200"))
    os.mkdir(j(m, "sem/101"), 0o666)
    os.mkdir(j(m, "mq/200"), 0o666)
    check(errno_of(lambda: os.write(keep_op, b"1")) == errno.ENOENT,
          "op of a removed set is ENOENT")
    check(errno_of(lambda: os.write(keep_send, b"1")) == errno.ENOENT,
          "send of a removed queue is ENOENT")
    check(errno_of(lambda: os.open("value", os.O_RDONLY, dir_fd=keep_dir))
          == errno.ENOENT, "files of a removed object are ENOENT")
    check(rd(j(m, "mq/200/current_messages")) == b"0\n",
          "the new queue is empty")
    for fd in (keep_op, keep_send, keep_dir):
        os.close(fd)
    os.pwrite(ro, b"", 0) if False else None
    os.rmdir(j(m, "shm/301"))
    check(len(os.pread(ro, 10, 0)) == 10, "an open data file keeps its "
          "segment")
    os.close(ro)

    if heavy:
        print("  concurrent callers", flush=True)
        kids = []
        for i in range(12):
            kids.append(Child(j(m, "mq/200/receive"), "read"))
            kids.append(Child(j(m, "sem/101/op"), "-1"))
        for i in range(6):
            wr(j(m, "mq/200/send"), b"m%d" % i)
            wr(j(m, "sem/101/op"), b"1")
        for i, k in enumerate(kids):
            if i % 3 == 0:
                k.kill()
            else:
                k.interrupt()
        for i in range(100):
            os.listdir(j(m, "sem/by-id"))
            rd(j(m, "sem/100/waiting_for_nonzero"))

    print("  removing", flush=True)
    for d in ("sem/100", "sem/101", "mq/200", "shm/0x0000012c"):
        os.rmdir(j(m, d))
    check(errno_of(lambda: os.rmdir(j(m, "sem/100"))) == errno.ENOENT,
          "rmdir twice is ENOENT")
    check(errno_of(lambda: os.rmdir(j(m, "sem"))) == errno.EPERM,
          "rmdir of a kind is EPERM")
    priv.remove()


def run_config(scratch, name, opts, heavy):
    mnt = os.path.join(scratch, "mnt-" + name)
    os.mkdir(mnt)
    log = os.path.join(scratch, "valgrind-%s.log" % name)
    prefix = VALGRIND + ["--log-file=" + log] if VALGRIND else []
    cmd = prefix + [str(IPCFS), "-f"] + opts + [mnt]
    print("memcheck: %s: %s" % (name, " ".join(cmd)), flush=True)
    out = open(os.path.join(scratch, "daemon-%s.out" % name), "w+")
    d = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT,
                         preexec_fn=set_pdeathsig)
    deadline = time.monotonic() + 120
    while not is_mounted(mnt):
        if d.poll() is not None or time.monotonic() > deadline:
            d.kill()
            d.wait()
            print(open(log).read())
            raise SystemExit("memcheck: ipcfs did not mount")
        time.sleep(0.1)
    try:
        script(mnt, heavy)
    except Exception:
        import traceback
        failures.append("%s: the script failed:\n%s"
                        % (name, traceback.format_exc()))
        print(failures[-1])
    finally:
        time.sleep(1)
        subprocess.run(["fusermount3", "-u", mnt])
        if is_mounted(mnt):
            failures.append("%s: the mount was busy at the end: %s" % (
                name, subprocess.run(["fuser", "-vm", mnt], text=True,
                                     capture_output=True).stderr))
            subprocess.run(["fusermount3", "-u", "-z", mnt])
            d.send_signal(signal.SIGTERM)
        try:
            code = d.wait(timeout=300)
        except subprocess.TimeoutExpired:
            d.kill()
            code = d.wait()
            failures.append("%s: ipcfs did not exit after the unmount" % name)
    text = open(log).read() if VALGRIND else "ERROR SUMMARY: 0 errors"
    print("---- valgrind (%s): summary ----" % name)
    summary = text[text.find("HEAP SUMMARY"):] if "HEAP SUMMARY" in text \
        else text
    print("\n".join(re.sub(r"^==\d+== ?", "", l)
                    for l in summary.splitlines()))
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    definite = re.search(r"definitely lost: ([\d,]+) bytes", text)
    lost = int(definite.group(1).replace(",", "")) if definite else 0
    if not errors or int(errors.group(1)) != 0:
        failures.append("%s: valgrind reports errors; the log:\n%s"
                        % (name, text[-20000:]))
    if lost:
        failures.append("%s: %d bytes definitely lost" % (name, lost))
    if code != 0:
        failures.append("%s: ipcfs exited with %s" % (name, code))
    printed = open(out.name).read()
    if printed.strip():
        print("---- ipcfs (%s) printed ----\n%s" % (name, printed))
    return (int(errors.group(1)) if errors else None), lost, code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--quick", action="store_true",
                    help="only the default configuration, no heavy part")
    ap.add_argument("--no-valgrind", action="store_true",
                    help="the same script without valgrind (to debug it)")
    a = ap.parse_args()
    if a.no_valgrind:
        VALGRIND.clear()
    isolated.enter("memcheck", a.scratch)
    configs = [("default", ["-o", "allow_other"], True)]
    if not a.quick:
        configs.append(("single-fallback",
                        ["-s", "-o", "allow_other,data=fallback"], True))
    results = []
    for name, opts, heavy in configs:
        results.append((name,) + run_config(a.scratch, name, opts, heavy))
    print("\n==== memcheck ====")
    for name, errs, lost, code in results:
        print("%-16s errors %s, definitely lost %d bytes, exit %s"
              % (name, errs, lost, code))
    if failures:
        print("\nFAILURES (%d):" % len(failures))
        for f in failures:
            print("- " + f)
        print("memcheck: FAILED")
        return 1
    print("memcheck: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
