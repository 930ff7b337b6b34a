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
  +0, threads at most max(baseline, 12) (libfuse keeps the up to 10
  workers it started; with the main thread and the waiter watcher that is
  12; every per-call waiter thread must be gone).
* the daemon exits 0 at the final unmount and prints nothing alarming.

Figures are printed at the end; any violation is printed with its evidence
and the exit status is 1.  The seed is printed; --seed reproduces the same
random choices (the interleaving is up to the scheduler).
"""

import argparse
import collections
import ctypes
import errno
import fcntl
import mmap
import os
import random
import re
import select
import shlex
import signal
import struct
import subprocess
import sys
import time
import traceback

import isolated
from isolated import IPCFS, is_mounted, libc, set_pdeathsig
import sysv_ipc  # noqa: E402  (BUILD's: isolated put it on sys.path)

# ------------------------------------------------------------------ objects
# Long-lived objects (accounted exactly, removed only at the end) and
# churned ones (created and removed all the time).
MQ_KEEP = {1000: None, 1001: 512, 1002: 4096}   # key -> max_size (None: default)
SEM_KEEP = {2000: 1, 2001: 3}                   # key -> nsems
SHM_KEEP = {3000: 65536}
SHM_CHAOS = 3199                                # truncated at will; not checked
MQ_CHURN = (1100, 1101, 1102)
SEM_CHURN = (2100, 2101, 2102)
SHM_CHURN = (3100, 3101, 3102)
SEM_INIT = 5
STRIPE = 256
MAX_MSG = 1200
LAND = 2040          # receive buffer in the landing page (2 halves)

MQ_ATTRS = ("id", "key", "mode", "uid", "gid", "cuid", "cgid",
            "current_messages", "current_bytes", "max_size",
            "last_send_time", "last_receive_time", "last_change_time",
            "last_send_pid", "last_receive_pid")
SEM_ATTRS = ("value", "id", "key", "mode", "uid", "gid", "cuid", "cgid",
             "nsems", "last_pid", "o_time", "c_time",
             "waiting_for_nonzero", "waiting_for_zero")
SHM_ATTRS = ("id", "key", "size", "mode", "uid", "gid", "cuid", "cgid",
             "creator_pid", "last_pid", "number_attached",
             "last_attach_time", "last_detach_time", "last_change_time")

# ------------------------------------------------------------------ shared page
OPS = ("fs.send", "fs.send.nb", "fs.send.stale", "fs.send.oversize",
       "fs.recv", "fs.recv.nb", "fs.recv.poll", "fs.recv.small",
       "fs.sem.op", "fs.sem.op.nb", "fs.sem.stale", "fs.sem.invalid",
       "fs.value.read", "fs.value.write", "fs.value.invalid",
       "fs.attr.read", "fs.attr.write", "fs.ls", "fs.open", "fs.chmod",
       "fs.chown", "fs.shm.rw", "fs.shm.mmap", "fs.shm.trunc",
       "fs.shm.past_end", "fs.shm.read", "fs.mkdir", "fs.rmdir",
       "mod.send", "mod.recv", "mod.sem.op", "mod.semset.op", "mod.shm",
       "mod.attr", "mod.create", "mod.remove", "drain")
OPI = {name: i for i, name in enumerate(OPS)}
OUTCOMES = ("ok", "expected-fail", "interrupted", "unexpected")
CTRL = 64
SLOT = 16384
ST_DESC, LANDING, COUNTERS = 32, 1024, 8192
ST_IDLE, ST_CALL, ST_WAIT, ST_PAUSED, ST_DONE = 0, 1, 2, 3, 4

EXPECT_GONE = {errno.ENOENT, errno.EIDRM, errno.ENOTCONN,
               errno.ECONNABORTED, errno.EINTR}
DAEMON_GONE = {errno.ENOTCONN, errno.ECONNABORTED}


def now():
    return time.monotonic()


class Shared:
    """The page shared by the coordinator and every worker: control bytes,
    then per worker slot: status, landing page, counters."""

    def __init__(self, nslots):
        self.mm = mmap.mmap(-1, CTRL + nslots * SLOT)

    def flag(self, i):
        return self.mm[i]

    def set_flag(self, i, v):
        self.mm[i] = v

    def base(self, slot):
        return CTRL + slot * SLOT

    def status(self, slot):
        b = self.base(slot)
        state, killable = self.mm[b], self.mm[b + 1]
        t0, inc, pid = struct.unpack_from("<dii", self.mm, b + 8)
        desc = bytes(self.mm[b + ST_DESC:b + LANDING]).split(b"\0")[0]
        return state, killable, t0, inc, pid, desc.decode(errors="replace")

    def count(self, slot, op, outcome):
        off = self.base(slot) + COUNTERS + (OPI[op] * 4 + outcome) * 8
        struct.pack_into("<Q", self.mm, off,
                         struct.unpack_from("<Q", self.mm, off)[0] + 1)

    def counters(self, slot):
        b = self.base(slot) + COUNTERS
        return struct.unpack_from("<%dQ" % (len(OPS) * 4), self.mm, b)


STOP, PAUSE, FALLBACK, GEN = 0, 1, 2, 8


def close_kept(fd):
    """Closes a descriptor a worker kept, maybe from a daemon killed since:
    its FLUSH then fails with ENOTCONN (DAEMON_GONE), and the descriptor
    is closed all the same."""
    try:
        os.close(fd)
    except OSError as e:
        if e.errno not in DAEMON_GONE:
            raise


# ------------------------------------------------------------------ messages

def pad_for(msgid, n):
    h = sum(msgid.encode()) % 26
    return bytes(97 + (h + i) % 26 for i in range(n))


def make_msg(msgid, qid, mtype, n):
    return b"M|%s|%d|%d|%d|%s|" % (msgid.encode(), qid, mtype, n,
                                   pad_for(msgid, n))


MSG_RE = re.compile(rb"M\|([0-9a-z.]+)\|(-?\d+)\|(\d+)\|(\d+)\|([a-z]*)\|")


def parse_msg(data):
    """(msgid, qid, type, intact) of a received message, or None."""
    m = MSG_RE.fullmatch(data)
    if not m:
        return None
    msgid = m.group(1).decode()
    n = int(m.group(4))
    return (msgid, int(m.group(2)), int(m.group(3)),
            m.group(5) == pad_for(msgid, n))


def log_msg_line(tag, seq, data):
    """A G/D/L/H line: the message itself, hex-encoded if it is not ours."""
    p = parse_msg(data)
    if p:
        return "%s %s %s %d %d %d\n" % (tag, seq, p[0], p[1], p[2], p[3])
    return "%s %s BAD %s\n" % (tag, seq, data[:120].hex())


# ------------------------------------------------------------------ workers

class Worker:
    """One worker process; role picks its mix of operations."""

    def __init__(self, sh, slot, inc, role, seed, mnt, logdir):
        self.sh, self.slot, self.inc, self.role = sh, slot, inc, role
        self.rng = random.Random("%s-%d" % (seed, inc))
        self.mnt = mnt
        self.log_fd = os.open(os.path.join(logdir, "w%d.log" % inc),
                              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.seq = 0
        self.base = sh.base(slot)
        self.land = (ctypes.c_char * (2 * LAND + 16)).from_buffer(
            sh.mm, self.base + LANDING)
        self.land_addr = ctypes.addressof(self.land)
        self.cache = {}  # (kind, key) -> (dirfd, id)
        self.stale = {}  # key -> (fd, id, kind) kept across churn
        struct.pack_into("<dii", sh.mm, self.base + 8, 0.0, inc, os.getpid())

    # -------------------------------------------------------------- plumbing
    def log(self, line):
        os.write(self.log_fd, line.encode())

    def begin(self, desc, killable=True, wait=False):
        self.seq += 1
        b = self.base
        d = desc.encode()[:LANDING - ST_DESC - 1]
        self.sh.mm[b + ST_DESC:b + ST_DESC + len(d) + 1] = d + b"\0"
        struct.pack_into("<d", self.sh.mm, b + 8, now())
        self.sh.mm[b + 1] = 1 if killable else 0
        self.sh.mm[b] = ST_WAIT if wait else ST_CALL
        return self.seq

    def idle(self, state=ST_IDLE):
        self.sh.mm[self.base + 1] = 0
        self.sh.mm[self.base] = state

    def count(self, op, outcome):
        self.sh.count(self.slot, op, outcome)

    def unexpected(self, op, desc, err):
        self.count(op, 3)
        self.log("U %s %s %s\n" % (op, errno.errorcode.get(err, err),
                                   desc.replace("\n", " ")))

    def outcome(self, op, err, expected, desc):
        """Counts an errno (0 = success); logs it when unexpected."""
        if err == 0:
            self.count(op, 0)
        elif err == errno.EINTR:
            self.count(op, 2)
        elif err in expected or err in EXPECT_GONE:
            self.count(op, 1)
            self.log("e %s %s\n" % (op, errno.errorcode.get(err, err)))
        else:
            self.unexpected(op, desc, err)

    def arm(self):
        signal.setitimer(signal.ITIMER_REAL,
                         self.rng.choice((0.05, 0.2, 0.5, 1.0, 2.0)), 0.25)

    def disarm(self):
        signal.setitimer(signal.ITIMER_REAL, 0)

    def p(self, *parts):
        return os.path.join(self.mnt, *map(str, parts))

    def objdir(self, kind, key, fresh=True):
        """(dirfd, id) of an object directory, bound to that object."""
        ck = (kind, key)
        if not fresh and ck in self.cache:
            return self.cache[ck]
        old = self.cache.pop(ck, None)
        if old:
            os.close(old[0])
        dfd = os.open(self.p(kind, key), os.O_RDONLY | os.O_DIRECTORY)
        try:
            fd = os.open("id", os.O_RDONLY, dir_fd=dfd)
            try:
                ident = int(os.read(fd, 64))
            finally:
                os.close(fd)
        except BaseException:
            os.close(dfd)
            raise
        self.cache[ck] = (dfd, ident)
        return dfd, ident

    def fs(self, op, desc, fn, expected=()):
        """Runs a non-accounted call through the mount, counting its
        outcome; returns its result or None."""
        self.begin(desc, killable=False)
        try:
            r = fn()
            self.outcome(op, 0, expected, desc)
            return r
        except OSError as e:
            self.outcome(op, e.errno, expected, desc)
            return None
        finally:
            self.idle()

    # -------------------------------------------------------------- run
    def run(self):
        os.umask(0)
        signal.signal(signal.SIGALRM, lambda *a: None)
        if self.role.startswith("fs") and self.rng.random() < 0.5:
            # Ctrl-C that the caller survives: EINTR.
            signal.signal(signal.SIGINT, lambda *a: None)
        else:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        ops = ROLES[self.role]
        names = [n for n, _ in ops]
        weights = [w for _, w in ops]
        while not self.sh.flag(STOP):
            if self.sh.flag(PAUSE):
                for dfd, _ in self.cache.values():
                    close_kept(dfd)
                self.cache.clear()
                for fd, _, _, _ in self.stale.values():
                    close_kept(fd)
                self.stale.clear()
                self.idle(ST_PAUSED)
                time.sleep(0.02)
                continue
            name = self.rng.choices(names, weights)[0]
            try:
                getattr(self, name)()
            except OSError as e:
                # Failures of setup calls (opening the object directory,
                # reading its id) are counted under fs.open.
                self.outcome("fs.open", e.errno, (), "%s setup" % name)
                self.idle()
            except sysv_ipc.ExistentialError:
                self.count("mod.attr", 1)
                self.idle()
            if self.role == "churn":
                time.sleep(self.rng.random() * 0.05)
        self.idle(ST_DONE)

    # -------------------------------------------------------------- queues
    def mq_key(self):
        return self.rng.choice(list(MQ_KEEP) * 2 + list(MQ_CHURN))

    def fs_send(self):
        r = self.rng.random()
        key = self.mq_key()
        stale = r < 0.1
        oversize = 0.1 <= r < 0.13
        nb = self.rng.random() < 0.4
        op = ("fs.send.stale" if stale else "fs.send.oversize" if oversize
              else "fs.send.nb" if nb else "fs.send")
        mtype = self.rng.choice((1, 1, 2, 3))
        name = ("send" if mtype == 1 and self.rng.random() < 0.5
                else "type/%d/send" % mtype)
        if name == "send":
            mtype = 1
        if stale and key in self.stale and self.stale[key][2] == "mq":
            fd, qid, _, mtype = self.stale[key]
            own = False
            nb = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
        else:
            dfd, qid = self.objdir("mq", key)
            flags = os.O_WRONLY | (os.O_NONBLOCK if nb else 0)
            fd = os.open(name, flags, dir_fd=dfd)
            own = True
            if stale:
                old = self.stale.pop(key, None)
                if old:
                    os.close(old[0])
                self.stale[key] = (fd, qid, "mq", mtype if name != "send"
                                   else 1)
                own = False
        closed = False
        try:
            n = (self.rng.randrange(600, 800) if oversize and key == 1001
                 else self.rng.choice((0, 5, 40, 200, 700)))
            msgid = "%d.%d" % (self.inc, self.seq + 1)
            msg = make_msg(msgid, qid, mtype, n)
            seq = self.begin("%s %s qid %d" % (op, name, qid), wait=not nb)
            self.log("B %d send %s %d %d %d fs %s\n"
                     % (seq, msgid, qid, mtype, len(msg), now()))
            if not nb:
                self.arm()
            # One open for writing is one message, sent at the close (the
            # FLUSH): ours is closed, a kept descriptor is flushed by the
            # close of a dup.  The close tells the send's outcome; after a
            # refused write it ends the refused message.
            k = libc.write(fd, msg, len(msg))
            err = ctypes.get_errno() if k < 0 else 0
            if own:
                c = libc.close(fd)
                own, closed = False, True
            else:
                c = libc.close(os.dup(fd))
            if err == 0 and c < 0:
                err = ctypes.get_errno()
                k = -1
            self.disarm()
            self.idle()
            self.log("E %d %s\n" % (seq, "ok" if k == len(msg) else
                                    errno.errorcode.get(err, err) if k < 0
                                    else "short%d" % k))
            expected = {errno.EAGAIN}
            if len(msg) > 512 or key in MQ_CHURN:
                expected.add(errno.EMSGSIZE)  # too long, or max_size 0
            desc = "write %d bytes to mq/%d/%s (qid %d)" % (len(msg), key,
                                                          name, qid)
            if 0 <= k < len(msg):
                self.unexpected(op, desc + ": short write %d" % k, 0)
            else:
                self.outcome(op, err, expected, desc)
            if err in DAEMON_GONE or err == errno.ENOENT:
                self.stale.pop(key, None)
                own = not closed
        finally:
            if own:
                os.close(fd)

    def fs_recv(self):
        key = self.mq_key()
        r = self.rng.random()
        nb = r < 0.35
        small = 0.35 <= r < 0.42
        poll = 0.42 <= r < 0.55
        op = ("fs.recv.small" if small else "fs.recv.poll" if poll
              else "fs.recv.nb" if nb else "fs.recv")
        mtype = self.rng.choice((0, 0, 0, 1, 2, 3, -2, -3))
        name = "receive" if mtype == 0 else "type/%d/receive" % mtype
        dfd, qid = self.objdir("mq", key)
        flags = os.O_RDONLY | (os.O_NONBLOCK if (nb or small or poll) else 0)
        fd = os.open(name, flags, dir_fd=dfd)
        try:
            if poll:
                self.begin("select mq/%d/%s" % (key, name), killable=False)
                try:
                    ready = select.select([fd], [], [],
                                          self.rng.choice((0, 0.01, 0.1)))[0]
                finally:
                    self.idle()
                if not ready:
                    self.count(op, 1)
                    return
            size = 8 if small else LAND
            mm = self.sh.mm
            lb = self.base + LANDING
            mm[lb + 16:lb + 16 + 2 * LAND] = bytes(2 * LAND)
            struct.pack_into("<q", mm, lb, self.seq + 1)
            # A small reader takes the message with its first read and
            # the rest in pieces (never blocking: O_NONBLOCK); it is not
            # killed in between, so what it took is always logged.
            seq = self.begin("%s mq/%d/%s qid %d" % (op, key, name, qid),
                             killable=not small, wait=not nb)
            self.log("B %d recv %d %d %s\n" % (seq, qid, mtype, now()))
            blocking = not (nb or small or poll)
            if blocking:
                self.arm()
            k = libc.read(fd, self.land_addr + 16, size)
            err = ctypes.get_errno() if k < 0 else 0
            while small and k > 0:
                piece = libc.read(fd, self.land_addr + 16 + k,
                                  min(size, 2 * LAND - k))
                if piece <= 0:
                    break
                k += piece
            self.disarm()
            self.idle()
            if k > 0:
                self.log(log_msg_line("G", seq, bytes(mm[lb + 16:lb + 16 + k])))
            self.log("E %d %s\n" % (seq, "ok%d" % k if k >= 0 else
                                    errno.errorcode.get(err, err)))
            desc = "read %d from mq/%d/%s (qid %d)" % (size, key, name, qid)
            if k == 0:
                self.unexpected(op, desc + ": end of file before a message",
                                0)
            else:
                self.outcome(op, err,
                             {errno.EAGAIN} if (nb or small or poll)
                             else set(), desc)
            if k > 0 and self.rng.random() < 0.3:
                # A second read on the same open: end of file, never a
                # second message.
                k2 = libc.read(fd, self.land_addr + 16 + LAND, LAND)
                if k2 > 0:
                    self.log(log_msg_line("G", seq, bytes(
                        mm[lb + 16 + LAND:lb + 16 + LAND + k2])))
                    self.unexpected(op, desc + ": a second read on one open "
                                    "returned %d bytes" % k2, 0)
        finally:
            os.close(fd)

    # -------------------------------------------------------------- semaphores
    def sem_pick(self):
        key = self.rng.choice(list(SEM_KEEP) * 2 + list(SEM_CHURN))
        elem = self.rng.choice((0, 1, 2)) if key == 2001 else 0
        if key in SEM_CHURN and self.rng.random() < 0.5:
            elem = self.rng.choice((0, 1))  # may not exist (nsems 1)
        return key, elem

    def fs_semop(self):
        key, elem = self.sem_pick()
        stale = self.rng.random() < 0.08
        nb = self.rng.random() < 0.35
        word = self.rng.choice((b"-1", b"-1", b"-2", b"+1", b"2", b"+1",
                                b"0"))
        delta = int(word)
        rel = "op" if elem == 0 and self.rng.random() < 0.5 else \
            "%d/op" % elem
        op = "fs.sem.stale" if stale else "fs.sem.op.nb" if nb else \
            "fs.sem.op"
        own = True
        if stale and key in self.stale and self.stale[key][2] == "sem":
            fd, semid, _, _ = self.stale[key]
            elem, own = 0, False
            rel = "op"
            # The descriptor keeps the flags it was opened with.
            nb = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
        else:
            dfd, semid = self.objdir("sem", key)
            if stale:
                rel = "op"
                elem = 0
            fd = os.open(rel, os.O_WRONLY | (os.O_NONBLOCK if nb else 0),
                         dir_fd=dfd)
            if stale:
                old = self.stale.pop(key, None)
                if old:
                    os.close(old[0])
                self.stale[key] = (fd, semid, "sem", 0)
                own = False
        try:
            if delta > 0 and key in SEM_KEEP:
                # keep the values small: more P than V when high
                try:
                    if self.rng.random() < 0.5:
                        v = sysv_ipc.SemaphoreSet(key, 0).get_value(elem)
                        if v > 20:
                            word, delta = b"-1", -1
                except (sysv_ipc.Error, IndexError):
                    pass
            seq = self.begin("%s sem/%d/%s %s (semid %d)"
                             % (op, key, rel, word.decode(), semid),
                             wait=not nb)
            t0 = now()
            self.log("B %d sem %d %d %d fs %s\n" % (seq, semid, elem, delta,
                                                   t0))
            if not nb:
                self.arm()
            k = libc.write(fd, word, len(word))
            err = ctypes.get_errno() if k < 0 else 0
            self.disarm()
            self.idle()
            self.log("E %d %s %.3f\n" % (seq, "ok" if k == len(word) else
                                         errno.errorcode.get(err, err) if k < 0
                                         else "short%d" % k, now() - t0))
            desc = "write %r to sem/%d/%s (semid %d)" % (word, key, rel,
                                                        semid)
            if 0 <= k < len(word):
                self.unexpected(op, desc + ": short write", 0)
            else:
                self.outcome(op, err, {errno.EAGAIN, errno.ERANGE}, desc)
            if err in DAEMON_GONE or err == errno.ENOENT:
                self.stale.pop(key, None)
                own = True
        finally:
            if own:
                os.close(fd)

    def fs_sem_invalid(self):
        """Invalid writes to op and value: EINVAL/ERANGE, nothing changes
        (conservation would show a change)."""
        key, elem = self.sem_pick()
        dfd, semid = self.objdir("sem", key)
        rel, word, want = self.rng.choice((
            ("op", b"abc", errno.EINVAL), ("op", b"40000", errno.EINVAL),
            ("op", b"-1x", errno.EINVAL), ("op", b"", None),
            ("value", b"40000", errno.ERANGE), ("value", b"-1", errno.ERANGE),
            ("value", b"seven", errno.EINVAL)))
        op = "fs.sem.invalid" if rel == "op" else "fs.value.invalid"
        desc = "write %r to sem/%d/%s (semid %d)" % (word, key, rel, semid)

        def do():
            fd = os.open(rel, os.O_WRONLY | os.O_NONBLOCK, dir_fd=dfd)
            try:
                k = libc.write(fd, word, len(word))
                return k, ctypes.get_errno() if k < 0 else 0
            finally:
                os.close(fd)
        self.begin(desc, killable=False)
        try:
            k, err = do()
        except OSError as e:
            k, err = -1, e.errno
        self.idle()
        if k >= 0 and want is not None:
            self.unexpected(op, desc + ": accepted (%d)" % k, 0)
        elif k < 0 and err not in (want, errno.ERANGE, errno.EINVAL) \
                and err not in EXPECT_GONE:
            self.unexpected(op, desc, err)
        else:
            self.count(op, 1 if k < 0 else 0)

    def fs_value(self):
        key, elem = self.sem_pick()
        dfd, semid = self.objdir("sem", key)
        rel = "value" if elem == 0 and self.rng.random() < 0.5 else \
            "%d/value" % elem
        if key in SEM_CHURN and self.rng.random() < 0.5:
            v = b"%d" % self.rng.randrange(0, 4)

            def w():
                fd = os.open(rel, os.O_WRONLY | os.O_TRUNC, dir_fd=dfd)
                try:
                    os.write(fd, v + b"\n")
                finally:
                    os.close(fd)
            self.fs("fs.value.write", "write %s to sem/%d/%s" % (v, key, rel),
                    w)
            return

        def r():
            fd = os.open(rel, os.O_RDONLY, dir_fd=dfd)
            try:
                t = os.read(fd, 64)
            finally:
                os.close(fd)
            if not re.fullmatch(rb"\d+\n", t):
                self.unexpected("fs.value.read", "sem/%d/%s read %r"
                                % (key, rel, t), 0)
        self.fs("fs.value.read", "read sem/%d/%s" % (key, rel), r)

    # -------------------------------------------------------------- attributes
    def fs_attr(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        keys = {"mq": list(MQ_KEEP) + list(MQ_CHURN),
                "sem": list(SEM_KEEP) + list(SEM_CHURN),
                "shm": list(SHM_KEEP) + list(SHM_CHURN) + [SHM_CHAOS]}[kind]
        attrs = {"mq": MQ_ATTRS, "sem": SEM_ATTRS, "shm": SHM_ATTRS}[kind]
        key = self.rng.choice(keys)
        attr = self.rng.choice(attrs)
        if self.rng.random() < 0.15:
            # by id, as listed
            def r():
                ids = os.listdir(self.p(kind, "by-id"))
                if ids:
                    i = self.rng.choice(ids)
                    with open(self.p(kind, "by-id", i, attr), "rb") as f:
                        f.read()
            self.fs("fs.attr.read", "read %s/by-id/*/%s" % (kind, attr), r)
            return
        path = self.p(kind, key if self.rng.random() < 0.8 else
                      "0x%08x" % key, attr)

        def r():
            with open(path, "rb") as f:
                t = f.read()
            if not re.fullmatch(rb"-?\d+\n|0[0-7]+\n", t):
                self.unexpected("fs.attr.read", "%s read %r" % (path, t), 0)
        self.fs("fs.attr.read", "read " + path, r)

    def fs_attr_write(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        keys = {"mq": list(MQ_KEEP) + list(MQ_CHURN),
                "sem": list(SEM_KEEP) + list(SEM_CHURN),
                "shm": list(SHM_KEEP) + list(SHM_CHURN)}[kind]
        key = self.rng.choice(keys)
        attr, val = self.rng.choice((("mode", b"0666\n"), ("mode", b"0o666"),
                                     ("uid", b"0\n"), ("gid", b"root\n"),
                                     ("mode", b"bogus")))
        path = self.p(kind, key, attr)
        desc = "write %r to %s" % (val, path)
        self.begin(desc, killable=False)
        stage = "open(O_WRONLY|O_TRUNC)"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                stage = "write"
                os.write(fd, val)
            finally:
                os.close(fd)
            err = 0
        except OSError as e:
            err = e.errno
        self.idle()
        self.outcome("fs.attr.write", err,
                     {errno.EINVAL} if val == b"bogus" else (),
                     desc + " (at %s)" % stage)

    def fs_ls(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        where = self.rng.choice(("", "by-id", "key", "key", "type"))
        if where == "key":
            key = self.rng.choice({"mq": list(MQ_KEEP) + list(MQ_CHURN),
                                   "sem": list(SEM_KEEP) + list(SEM_CHURN),
                                   "shm": list(SHM_KEEP)}[kind])
            path = self.p(kind, key)
        elif where == "type":
            path = self.p("mq", self.rng.choice(list(MQ_KEEP)), "type")
        else:
            path = self.p(kind, where) if where else self.p(kind)

        def ls():
            names = os.listdir(path)
            if self.rng.random() < 0.3:
                for n in names[:20]:
                    try:
                        os.lstat(os.path.join(path, n))
                    except FileNotFoundError:
                        pass
        self.fs("fs.ls", "ls " + path, ls)

    def fs_chmod(self):
        kind = self.rng.choice(("mq", "sem", "shm"))
        key = self.rng.choice({"mq": list(MQ_KEEP) + list(MQ_CHURN),
                               "sem": list(SEM_KEEP) + list(SEM_CHURN),
                               "shm": list(SHM_KEEP) + list(SHM_CHURN)}[kind])
        path = self.p(kind, key)
        if self.rng.random() < 0.7:
            mode = self.rng.choice((0o666, 0o644, 0o600, 0o777))
            self.fs("fs.chmod", "chmod %o %s" % (mode, path),
                    lambda: os.chmod(path, mode))
        else:
            self.fs("fs.chown", "chown 0:0 " + path,
                    lambda: os.chown(path, 0, 0))

    # -------------------------------------------------------------- shared memory
    def shm_key(self):
        return self.rng.choice(list(SHM_KEEP) * 2 + list(SHM_CHURN))

    def fs_shm(self):
        r = self.rng.random()
        if r < 0.12:
            return self.fs_shm_chaos()
        key = self.shm_key()
        dfd, shmid = self.objdir("shm", key)
        off = self.slot * STRIPE
        pattern = (b"%d.%d|" % (self.inc, self.seq)) * 100
        pattern = pattern[:STRIPE]
        use_mmap = r < 0.5
        op = "fs.shm.mmap" if use_mmap else "fs.shm.rw"
        desc = "%s shm/%d/data stripe %d (shmid %d)" % (op, key, off, shmid)
        fallback_before = self.sh.flag(FALLBACK)
        gen_before = self.sh.flag(GEN)
        self.begin(desc, killable=False)
        try:
            fd = os.open("data", os.O_RDWR, dir_fd=dfd)
        except OSError as e:
            self.idle()
            return self.outcome(op, e.errno, (), desc)
        try:
            size = os.fstat(fd).st_size
            if use_mmap:
                try:
                    m = mmap.mmap(fd, size, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
                except OSError as e:
                    exp = set()
                    if fallback_before or self.sh.flag(FALLBACK) or \
                            gen_before != self.sh.flag(GEN):
                        exp.add(errno.ENODEV)
                    self.idle()
                    return self.outcome(op, e.errno, exp, desc)
                try:
                    m[off:off + STRIPE] = pattern
                    back = os.pread(fd, STRIPE, off)
                finally:
                    m.close()
            else:
                k = os.pwrite(fd, pattern, off)
                if k != STRIPE:
                    self.idle()
                    return self.unexpected(op, desc + ": pwrite %d" % k, 0)
                back = os.pread(fd, STRIPE, off)
            if back != pattern and not overwritten(shmid, off, back):
                self.idle()
                return self.unexpected(op, desc + ": read back %r, wrote %r"
                                       % (back[:40], pattern[:40]), 0)
            try:
                seg = sysv_ipc.attach(shmid)
            except sysv_ipc.Error:
                seg = None  # removed meanwhile: nothing to compare with
            if seg is not None:
                try:
                    got = seg.read(STRIPE, off)
                finally:
                    seg.detach()
                if got != pattern and back == pattern and \
                        os.pread(fd, STRIPE, off) != got:
                    self.idle()
                    return self.unexpected(op, desc + ": shmat sees %r, "
                                           "file wrote %r" % (got[:40],
                                                              pattern[:40]),
                                           0)
            self.idle()
            self.count(op, 0)
        except OSError as e:
            self.idle()
            self.outcome(op, e.errno, (), desc)
        finally:
            os.close(fd)

    def fs_shm_chaos(self):
        key = self.rng.choice((SHM_CHAOS, SHM_CHAOS) + SHM_CHURN)
        path = self.p("shm", key, "data")
        what = self.rng.choice(("trunc", "truncate", "past_end", "cross",
                                "read", "big_truncate"))
        if key != SHM_CHAOS and what in ("trunc", "truncate", "big_truncate"):
            what = "read"  # others' stripes live there

        def trunc():
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, b"hi\n")
            finally:
                os.close(fd)

        def past_end():
            fd = os.open(path, os.O_WRONLY)
            try:
                size = os.fstat(fd).st_size
                if what == "cross":
                    k = os.pwrite(fd, b"x" * 64, size - 10)
                    if k != 10:
                        self.unexpected("fs.shm.past_end", "%s: write "
                                        "crossing the end wrote %d, not 10"
                                        % (path, k), 0)
                    return
                os.pwrite(fd, b"x", size)
                self.unexpected("fs.shm.past_end", "%s: write at the end "
                                "succeeded" % path, 0)
            finally:
                os.close(fd)

        def rd():
            with open(path, "rb") as f:
                f.read()
        if what == "trunc":
            self.fs("fs.shm.trunc", "echo hi > " + path, trunc)
        elif what == "truncate":
            self.fs("fs.shm.trunc", "truncate " + path,
                    lambda: os.truncate(path, self.rng.randrange(0, 4096)))
        elif what == "big_truncate":
            self.fs("fs.shm.trunc", "truncate past the size " + path,
                    lambda: os.truncate(path, 1 << 30), expected={errno.EFBIG})
        elif what in ("past_end", "cross"):
            self.fs("fs.shm.past_end", "write past the end " + path,
                    past_end, expected={errno.ENOSPC})
        else:
            self.fs("fs.shm.read", "cat " + path, rd)

    # -------------------------------------------------------------- module
    def mod_send(self):
        key = self.mq_key()
        try:
            q = sysv_ipc.MessageQueue(key)
        except sysv_ipc.ExistentialError:
            return self.count("mod.send", 1)
        block = self.rng.random() < 0.5
        mtype = self.rng.choice((1, 2, 3))
        msgid = "%d.%d" % (self.inc, self.seq + 1)
        msg = make_msg(msgid, q.id, mtype, self.rng.choice((0, 10, 300)))
        seq = self.begin("mod.send key %d qid %d block %s" % (key, q.id, block),
                         killable=True, wait=block)
        self.log("B %d send %s %d %d %d mod %s\n" % (seq, msgid, q.id, mtype,
                                                    len(msg), now()))
        res = "ok"
        try:
            q.send(msg, block=block, type=mtype)
            self.count("mod.send", 0)
        except sysv_ipc.BusyError:
            res = "EAGAIN"
            self.count("mod.send", 1)
        except sysv_ipc.ExistentialError:
            res = "EIDRM"
            self.count("mod.send", 1)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
            self.unexpected("mod.send", "send to qid %d" % q.id, e.errno)
        self.idle()
        self.log("E %d %s\n" % (seq, res))

    def mod_recv(self):
        key = self.mq_key()
        try:
            q = sysv_ipc.MessageQueue(key, max_message_size=4096)
            block = q.current_messages > 0 and self.rng.random() < 0.5
        except sysv_ipc.ExistentialError:
            return self.count("mod.recv", 1)
        mtype = self.rng.choice((0, 0, 1, 2, 3, -2))
        # Not killable: a receiver killed after its msgrcv() but before it
        # logs the message would lose it, which is not ipcfs' doing.
        seq = self.begin("mod.recv key %d qid %d block %s" % (key, q.id, block),
                         killable=False, wait=block)
        self.log("B %d recv %d %d %s\n" % (seq, q.id, mtype, now()))
        res = "ok"
        try:
            data, t = q.receive(block=block, type=mtype)
            self.log(log_msg_line("G", seq, data))
            p = parse_msg(data)
            if p and p[2] != t:
                self.unexpected("mod.recv", "message %s sent with type %d "
                                "received with type %d" % (p[0], p[2], t), 0)
            self.count("mod.recv", 0)
        except sysv_ipc.BusyError:
            res = "EAGAIN"
            self.count("mod.recv", 1)
        except sysv_ipc.ExistentialError:
            res = "EIDRM"
            self.count("mod.recv", 1)
        except Stop:
            res = "EINTR"
            self.count("mod.recv", 2)
        self.idle()
        self.log("E %d %s\n" % (seq, res))

    def mod_sem(self):
        key, elem = self.sem_pick()
        try:
            if key == 2001 or self.rng.random() < 0.3:
                s = sysv_ipc.SemaphoreSet(key, 0)
                op = "mod.semset.op"
            else:
                s = sysv_ipc.Semaphore(key)
                op = "mod.sem.op"
                elem = 0
            semid = s.id
        except sysv_ipc.ExistentialError:
            return self.count("mod.sem.op", 1)
        delta = self.rng.choice((-1, -1, -2, 1, 1, 2, 0))
        timeout = self.rng.choice((0, 0.01, 0.2, 1.0))
        seq = self.begin("%s semid %d elem %d delta %d timeout %s"
                         % (op, semid, elem, delta, timeout), killable=True)
        self.log("B %d sem %d %d %d mod %s\n" % (seq, semid, elem, delta,
                                                now()))
        res = "ok"
        try:
            if op == "mod.semset.op":
                s.operate([(elem, delta)], timeout=timeout)
            elif delta > 0:
                s.release(delta)
            elif delta < 0:
                s.acquire(timeout, -delta)
            else:
                s.Z(timeout)
            self.count(op, 0)
        except sysv_ipc.BusyError:
            res = "EAGAIN"
            self.count(op, 1)
        except sysv_ipc.ExistentialError:
            res = "EIDRM"
            self.count(op, 1)
        except (IndexError, ValueError) as e:
            res = "EINVAL"
            if key in SEM_CHURN and isinstance(e, IndexError):
                self.count(op, 1)  # element of a smaller set of that key
            elif isinstance(e, ValueError) and delta > 0:
                self.count(op, 1)  # ERANGE
            else:
                self.unexpected(op, "%s on semid %d: %r" % (op, semid, e), 0)
        self.idle()
        self.log("E %d %s\n" % (seq, res))

    def mod_shm(self):
        key = self.shm_key()
        try:
            seg = sysv_ipc.SharedMemory(key)
        except sysv_ipc.ExistentialError:
            return self.count("mod.shm", 1)
        self.begin("mod.shm key %d shmid %d" % (key, seg.id), killable=False)
        try:
            off = self.slot * STRIPE
            pattern = ((b"m%d.%d|" % (self.inc, self.seq)) * 100)[:STRIPE]
            seg.write(pattern, off)
            try:
                with open(self.p("shm", key, "data"), "rb") as f:
                    back = os.pread(f.fileno(), STRIPE, off)
                    ident = int(open(self.p("shm", key, "id")).read())
                if ident == seg.id and back != pattern and \
                        seg.read(STRIPE, off) == pattern:
                    self.unexpected("mod.shm", "shmid %d stripe %d: the data "
                                    "file reads %r after shmat wrote %r"
                                    % (seg.id, off, back[:40], pattern[:40]),
                                    0)
                    return
            except (OSError, ValueError):
                pass
            with memoryview(seg) as v:
                if bytes(v[off:off + STRIPE]) != pattern:
                    self.unexpected("mod.shm", "memoryview disagrees", 0)
                    return
            self.count("mod.shm", 0)
        finally:
            seg.detach()
            self.idle()

    def mod_attr(self):
        key = self.rng.choice(list(MQ_KEEP) + list(MQ_CHURN) + list(SEM_KEEP))
        try:
            if key in SEM_KEEP:
                s = sysv_ipc.Semaphore(key)
                (s.value, s.waiting_for_nonzero, s.mode, s.o_time)
            else:
                q = sysv_ipc.MessageQueue(key)
                (q.current_messages, q.max_size, q.last_send_pid, q.mode)
            self.count("mod.attr", 0)
        except sysv_ipc.ExistentialError:
            self.count("mod.attr", 1)

    # -------------------------------------------------------------- churn
    def churn(self):
        kind = self.rng.choice(("mq", "mq", "sem", "shm", "private"))
        if kind == "private":
            return self.churn_private()
        key = self.rng.choice({"mq": MQ_CHURN, "sem": SEM_CHURN,
                               "shm": SHM_CHURN}[kind])
        cls = {"mq": sysv_ipc.MessageQueue, "sem": sysv_ipc.Semaphore,
               "shm": sysv_ipc.SharedMemory}[kind]
        try:
            obj = cls(key) if kind != "sem" else sysv_ipc.SemaphoreSet(key, 0)
        except sysv_ipc.ExistentialError:
            obj = None
        if obj is None:
            self.create(kind, key)
        elif self.rng.random() < 0.6:
            self.remove(kind, key, obj)
        if kind == "shm" and obj is not None:
            obj.detach()

    def create(self, kind, key):
        spec = {"mq": "%d", "sem": self.rng.choice(("%d", "%d:3", "%d:1")),
                "shm": self.rng.choice(("%d", "%d:8K", "%d:4096"))}[kind]
        name = spec % key
        if self.rng.random() < 0.6:
            path = self.p(kind, name)
            self.fs("fs.mkdir", "mkdir " + path,
                    lambda: os.mkdir(path, 0o666), expected={errno.EEXIST})
        else:
            try:
                if kind == "mq":
                    sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREX, 0o666)
                elif kind == "sem":
                    sysv_ipc.SemaphoreSet(key, 3 if ":3" in spec else 1,
                                          sysv_ipc.IPC_CREX, 0o666)
                else:
                    sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, 0o666,
                                          8192).detach()
                self.count("mod.create", 0)
            except sysv_ipc.ExistentialError:
                self.count("mod.create", 1)
        if kind == "mq" and self.rng.random() < 0.5:
            path = self.p("mq", key, "max_size")

            def w():
                with open(path, "wb", buffering=0) as f:
                    f.write(b"512\n")
            self.fs("fs.attr.write", "write 512 to " + path, w)

    def remove(self, kind, key, obj):
        ident = obj.id
        if kind == "mq":
            # Nothing can be sent once max_size is 0 (msgsnd waits, and a
            # write to send is EMSGSIZE): the drain then gets everything.
            try:
                if self.rng.random() < 0.5:
                    obj.max_size = 0
                else:
                    with open(self.p("mq", key, "max_size"), "wb",
                              buffering=0) as f:
                        f.write(b"0")
            except (OSError, sysv_ipc.Error):
                try:
                    obj.max_size = 0
                except sysv_ipc.ExistentialError:
                    return
            q = sysv_ipc.MessageQueue(key, max_message_size=8192)
            if q.id != ident:
                return
            while True:
                self.seq += 1
                try:
                    data, _ = q.receive(block=False)
                except (sysv_ipc.BusyError, sysv_ipc.ExistentialError):
                    break
                self.log(log_msg_line("D", self.seq, data))
                self.count("drain", 0)
        if self.rng.random() < 0.5:
            path = self.p(kind, key)
            done = self.fs("fs.rmdir", "rmdir " + path,
                           lambda: os.rmdir(path) or True)
        else:
            done = None
        if not done:
            try:
                obj.remove()
                self.count("mod.remove", 0)
            except sysv_ipc.ExistentialError:
                self.count("mod.remove", 1)
        self.log("X %s %d %s\n" % (kind, ident, now()))

    def churn_private(self):
        if self.rng.random() < 0.5:
            s = sysv_ipc.Semaphore(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX,
                                   0o666)
            self.privates = getattr(self, "privates", []) + [("sem", s.id)]
        else:
            s = sysv_ipc.SharedMemory(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX,
                                      0o666, 4096)
            s.detach()
            self.privates = getattr(self, "privates", []) + [("shm", s.id)]
        self.count("mod.create", 0)
        while len(self.privates) > 4:
            kind, ident = self.privates.pop(0)
            try:
                if kind == "sem":
                    sysv_ipc.remove_semaphore(ident)
                else:
                    sysv_ipc.remove_shared_memory(ident)
                self.log("X %s %d %s\n" % (kind, ident, now()))
                self.count("mod.remove", 0)
            except sysv_ipc.ExistentialError:
                self.count("mod.remove", 1)


class Stop(Exception):
    pass


def overwritten(shmid, off, seen):
    """A segment made by sysv_ipc with IPC_CREX is filled with spaces by
    its creator just after shmget(): a stripe written meanwhile is
    overwritten.  True when a sysv_ipc attachment sees what the file read
    (so it is the segment's content, not an incoherence)."""
    try:
        seg = sysv_ipc.attach(shmid)
    except sysv_ipc.Error:
        return True  # removed: nothing to compare with
    try:
        return seg.read(STRIPE, off) == seen
    finally:
        seg.detach()


ROLES = {
    "fs-mq": [("fs_send", 5), ("fs_recv", 5), ("fs_attr", 1), ("fs_ls", 1)],
    "fs-sem": [("fs_semop", 10), ("fs_sem_invalid", 1), ("fs_value", 2),
               ("fs_attr", 1), ("fs_ls", 1)],
    "fs-shm": [("fs_shm", 10), ("fs_attr", 1), ("fs_ls", 1)],
    "fs-misc": [("fs_attr", 4), ("fs_ls", 3), ("fs_chmod", 1),
                ("fs_attr_write", 1), ("fs_value", 1), ("fs_recv", 1),
                ("fs_send", 1)],
    "mod-mq": [("mod_send", 5), ("mod_recv", 5), ("mod_attr", 1)],
    "mod-misc": [("mod_sem", 6), ("mod_shm", 3), ("mod_attr", 1)],
    "churn": [("churn", 1)],
}
WORKERS = ["fs-mq", "fs-mq", "fs-mq", "fs-sem", "fs-sem", "fs-shm",
           "fs-misc", "mod-mq", "mod-misc", "churn"]
KILLABLE = {"fs-mq", "fs-sem", "fs-misc", "mod-mq", "mod-misc"}


# ------------------------------------------------------------------ coordinator

def proc_figures(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return {"rss_kib": rss, "fds": len(os.listdir("/proc/%d/fd" % pid)),
            "threads": len(os.listdir("/proc/%d/task" % pid))}


class Violations(list):
    def add(self, what, evidence=""):
        self.append((what, evidence))


class Coordinator:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        # Separate generators, so that the daemon settings and the restart
        # times of a seed do not depend on how many kill ticks ran.
        self.rng = random.Random("%d-kills" % self.seed)
        self.drng = random.Random("%d-daemon" % self.seed)
        self.scratch = args.scratch
        self.mnt = os.path.join(self.scratch, "mnt")
        self.logdir = os.path.join(self.scratch, "log")
        self.sh = Shared(len(WORKERS))
        self.workers = {}       # slot -> (pid, inc)
        self.incs = {}          # inc -> (slot, role)
        self.next_inc = 1
        self.daemon = None
        self.daemon_log = None
        self.daemon_logs = []
        self.restarts = 0
        self.kills = collections.Counter()
        self.harvest = []
        self.violations = Violations()
        self.hung = set()
        self.figures = {}
        self.prefix = shlex.split(args.daemon_prefix or "")
        self.clog = None
        self.fail_errnos = collections.defaultdict(collections.Counter)
        self.longest_v = (0.0, "", "", "")

    # -------------------------------------------------------------- daemon
    def start_daemon(self):
        mode = self.drng.choice(("auto", "auto", "fallback"))
        self.sh.set_flag(FALLBACK, 1 if mode == "fallback" else 0)
        self.sh.set_flag(GEN, (self.sh.flag(GEN) + 1) % 256)
        n = len(self.daemon_logs)
        path = os.path.join(self.logdir, "daemon%d.log" % n)
        self.daemon_log = open(path, "w+")
        self.daemon_logs.append((path, mode))
        threads = self.drng.choice(self.args.threading)
        self.max_threads = {"s": 1, "clone_fd": 10}.get(
            threads, int(threads.split("=")[1]) if "=" in threads else 10)
        self.daemon_threading = threads
        extra = (["-s"] if threads == "s" else [] if threads == "default"
                 else ["-o", threads])
        cmd = self.prefix + [str(IPCFS), "-f"] + extra + [
            "-o", "allow_other,data=%s" % mode, self.mnt]
        self.daemon = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=self.daemon_log,
                                       stderr=subprocess.STDOUT,
                                       preexec_fn=set_pdeathsig,
                                       start_new_session=True)
        print("stress: daemon %d: %s" % (n, " ".join(cmd[len(self.prefix):])),
              flush=True)
        deadline = now() + (300 if self.prefix else 30)
        while not is_mounted(self.mnt):
            if self.daemon.poll() is not None or now() > deadline:
                raise SystemExit("stress: ipcfs did not mount (%s):\n%s"
                                 % (self.daemon.returncode, open(path).read()))
            time.sleep(0.01)
        self.daemon_mode = mode

    def kill_daemon(self):
        self.daemon.kill()
        self.daemon.wait()
        self.unmount(lazy=True)

    def unmount(self, lazy=False):
        for _ in range(100):
            if not is_mounted(self.mnt):
                return True
            subprocess.run(["fusermount3", "-u"] + (["-z"] if lazy else [])
                           + [self.mnt], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        return not is_mounted(self.mnt)

    def restart_daemon(self):
        self.restarts += 1
        self.kill_daemon()
        time.sleep(self.drng.random() * 0.3)  # callers meet the empty dir
        self.start_daemon()

    # -------------------------------------------------------------- workers
    def spawn(self, slot, role):
        inc = self.next_inc
        self.next_inc += 1
        b = self.sh.base(slot)
        self.sh.mm[b] = ST_IDLE
        self.sh.mm[b + 1] = 0
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                set_pdeathsig()
                if os.getppid() != parent:
                    os._exit(0)
                self.sh.mm[b + 2] = 0
                w = Worker(self.sh, slot, inc, role, self.seed, self.mnt,
                           self.logdir)
                if role.startswith("mod"):
                    def stop(*a):
                        if self.sh.flag(STOP):
                            raise Stop()
                    signal.signal(signal.SIGUSR1, stop)
                w.run()
            except Stop:
                code = 0
            except BaseException:
                code = 70
                try:
                    with open(os.path.join(self.logdir, "w%d.log" % inc),
                              "a") as f:
                        f.write("T " + traceback.format_exc().replace(
                            "\n", "\\n") + "\n")
                except BaseException:
                    pass
            os._exit(code)
        self.workers[slot] = (pid, inc)
        self.incs[inc] = (slot, role)

    def reap(self, respawn=True):
        for slot, (pid, inc) in list(self.workers.items()):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                got, status = pid, 0
            if got == 0:
                continue
            del self.workers[slot]
            self.collect_landing(slot, inc)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) not in (0,):
                self.violations.add("worker %d (%s) exited with %d"
                                    % (inc, self.incs[inc][1],
                                       os.WEXITSTATUS(status)),
                                    "see its traceback below")
            if respawn and not self.sh.flag(STOP):
                self.spawn(slot, self.incs[inc][1])

    def collect_landing(self, slot, inc):
        lb = self.sh.base(slot) + LANDING
        seq = struct.unpack_from("<q", self.sh.mm, lb)[0]
        for half in (0, 1):
            start = lb + 16 + half * LAND
            data = bytes(self.sh.mm[start:start + LAND]).rstrip(b"\0")
            if data:
                self.harvest.append((inc, seq, data))

    def killer(self):
        cands = []
        for slot, (pid, inc) in self.workers.items():
            state, killable, t0, _, _, _ = self.sh.status(slot)
            if killable and state in (ST_CALL, ST_WAIT) and \
                    self.incs[inc][1] in KILLABLE:
                cands.append((slot, pid, state, now() - t0))
        # Prefer callers that have been waiting a while: blocked ones.
        blocked = [c for c in cands if c[2] == ST_WAIT and c[3] > 0.02]
        pool = blocked or cands
        if not pool:
            return
        slot, pid, _, _ = self.rng.choice(pool)
        sig = self.rng.choice((signal.SIGKILL, signal.SIGINT))
        try:
            os.kill(pid, sig)
            self.kills[signal.Signals(sig).name] += 1
        except ProcessLookupError:
            pass

    def watchdog(self):
        bound = self.args.hang_bound
        for slot, (pid, inc) in self.workers.items():
            state, killable, t0, _, _, desc = self.sh.status(slot)
            role = self.incs[inc][1]
            waits_for_peer = role.startswith("mod") and state == ST_WAIT
            if state in (ST_CALL, ST_WAIT) and not waits_for_peer and \
                    now() - t0 > bound and (inc, t0) not in self.hung:
                self.hung.add((inc, t0))
                self.violations.add(
                    "a call hung for more than %d s" % bound,
                    "worker %d (%s, pid %d): %s\n%s\ndaemon (%s) threads: %s"
                    % (inc, role, pid, desc, self.stack_of(pid),
                       self.daemon_threading, self.daemon_threads()))

    def daemon_threads(self):
        out = collections.Counter()
        try:
            for t in os.listdir("/proc/%d/task" % self.daemon.pid):
                with open("/proc/%d/task/%s/wchan" % (self.daemon.pid, t)) as f:
                    out[f.read()] += 1
        except OSError:
            pass
        return ", ".join("%d in %s" % (n, w) for w, n in out.items())

    @staticmethod
    def stack_of(pid):
        try:
            with open("/proc/%d/stack" % pid) as f:
                k = f.read()
            with open("/proc/%d/wchan" % pid) as f:
                return "wchan %s; kernel stack:\n%s" % (f.read(), k)
        except OSError as e:
            return "(no stack: %s)" % e

    def pause_all(self, timeout=20):
        """Pause: every fs worker idle (module callers may be waiting in
        the kernel, which costs the daemon nothing)."""
        self.sh.set_flag(PAUSE, 1)
        deadline = now() + timeout
        while now() < deadline:
            self.reap()
            busy = [s for s, (pid, inc) in self.workers.items()
                    if self.incs[inc][1].startswith("fs")
                    and self.sh.status(s)[0] != ST_PAUSED]
            if not busy:
                return True
            self.watchdog()
            time.sleep(0.02)
        return False

    def quiet_figures(self, baseline=None):
        """The daemon's figures once quiet: at the end, polled until they
        are within the slack (idle libfuse workers take a while to go)."""
        time.sleep(1.0)
        fig = proc_figures(self.daemon.pid)
        if baseline is None:
            return fig
        deadline = now() + 15
        while not self.within(fig, baseline) and now() < deadline:
            time.sleep(0.5)
            fig = proc_figures(self.daemon.pid)
        return fig

    def within(self, fig, base):
        return (fig["rss_kib"] <= base["rss_kib"] + self.args.rss_slack_kib
                and fig["fds"] <= self.fd_ceiling(base)
                and fig["threads"] <= self.thread_ceiling(base))

    def thread_ceiling(self, base):
        """libfuse keeps the workers it started (up to max_threads, 10 by
        default) for good, so a busy run may end with more than a quiet
        warm-up had: the main thread, the waiter watcher and max_threads
        workers.  Waiter threads (one per waiting call) must all be
        gone."""
        return max(base["threads"], 2 + self.max_threads)

    def fd_ceiling(self, base):
        """With clone_fd each libfuse worker has a descriptor of its own."""
        if self.daemon_threading != "clone_fd":
            return base["fds"]
        return base["fds"] + max(0, self.thread_ceiling(base) -
                                 base["threads"])

    # -------------------------------------------------------------- objects
    def create_objects(self):
        for key, qbytes in MQ_KEEP.items():
            q = sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREX, 0o666)
            if qbytes:
                q.max_size = qbytes
        for key, nsems in SEM_KEEP.items():
            s = sysv_ipc.SemaphoreSet(key, nsems, sysv_ipc.IPC_CREX, 0o666,
                                      initial_values=SEM_INIT)
            for e in range(nsems):
                self.clog.write("I %d %d %d\n" % (s.id, e, SEM_INIT))
        for key, size in SHM_KEEP.items():
            sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, 0o666,
                                  size).detach()
        sysv_ipc.SharedMemory(SHM_CHAOS, sysv_ipc.IPC_CREX, 0o666,
                              8192).detach()
        self.clog.flush()

    def drain_all(self, tag):
        n = 0
        for key in list(MQ_KEEP) + list(MQ_CHURN):
            try:
                q = sysv_ipc.MessageQueue(key, max_message_size=8192)
            except sysv_ipc.ExistentialError:
                continue
            while True:
                try:
                    data, _ = q.receive(block=False)
                except (sysv_ipc.BusyError, sysv_ipc.ExistentialError):
                    break
                n += 1
                self.clog.write(log_msg_line(tag, n, data))
        self.clog.flush()
        return n

    # -------------------------------------------------------------- run
    def run(self):
        a = self.args
        print("stress: seed %d, %d s, %d workers, daemon %s%s"
              % (self.seed, a.seconds, len(WORKERS), IPCFS,
                 (" under " + a.daemon_prefix) if self.prefix else ""),
              flush=True)
        os.mkdir(self.mnt)
        os.mkdir(self.logdir)
        self.clog = open(os.path.join(self.logdir, "coord.log"), "w")
        self.create_objects()
        self.start_daemon()
        for slot, role in enumerate(WORKERS):
            self.spawn(slot, role)

        start = now()
        end = start + a.seconds
        # Restarts in the first 60% of the run; the baseline comes after
        # the last one, after a warm-up, so that the rest of the run is
        # measured on one daemon.
        times = sorted(start + a.seconds * self.drng.uniform(0.1, 0.6)
                       for _ in range(a.restarts))
        baseline_at = (times[-1] if times else start) + min(
            5.0, a.seconds * 0.1)
        baseline = None
        while now() < end:
            self.reap()
            self.watchdog()
            if self.rng.random() < a.kill_rate:
                self.killer()
            if times and now() >= times[0]:
                times.pop(0)
                self.restart_daemon()
            if baseline is None and not times and now() >= baseline_at:
                if not self.pause_all():
                    self.violations.add("workers did not pause within 20 s")
                baseline = self.quiet_figures()
                self.figures["baseline"] = baseline
                print("stress: baseline after warm-up: %s" % baseline,
                      flush=True)
                self.sh.set_flag(PAUSE, 0)
            time.sleep(0.02)
        self.finish(baseline)

    def finish(self, baseline):
        # Stop: workers end their current call (blocking ones are cut by
        # their alarms within 2 s) and exit.
        self.sh.set_flag(STOP, 1)
        deadline = now() + self.args.hang_bound
        while now() < deadline:
            self.reap(respawn=False)
            self.watchdog()
            left = [s for s, (pid, inc) in self.workers.items()
                    if not (self.incs[inc][1].startswith("mod")
                            and self.sh.status(s)[0] == ST_WAIT)]
            if not left:
                break
            self.drain_all("L")    # lets blocked module senders finish
            time.sleep(0.05)
        time.sleep(0.5)            # late give-backs of killed receivers
        left_in_queues = self.drain_all("L")
        # Module receivers still waiting: queues are empty and nobody sends,
        # so nothing can be lost by interrupting them now.
        for slot, (pid, inc) in list(self.workers.items()):
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        deadline = now() + 10
        while self.workers and now() < deadline:
            self.reap(respawn=False)
            time.sleep(0.02)
        for slot, (pid, inc) in list(self.workers.items()):
            self.violations.add("worker %d (%s) did not stop" % (
                inc, self.incs[inc][1]), self.sh.status(slot)[5] + "\n"
                + self.stack_of(pid))
            os.kill(pid, signal.SIGKILL)
        while self.workers:
            self.reap(respawn=False)
            time.sleep(0.01)
        left_in_queues += self.drain_all("L")
        self.figures["left_in_queues"] = left_in_queues

        self.check_waiters()
        # Semaphore values at the end.
        for key in SEM_KEEP:
            s = sysv_ipc.SemaphoreSet(key, 0)
            for e in range(s.nsems):
                self.clog.write("F %d %d %d\n" % (s.id, e, s.get_value(e)))
        self.clog.flush()
        if baseline is not None:
            self.figures["end"] = self.quiet_figures(baseline)
        self.final_unmount()

    def check_waiters(self):
        """No daemon waiter may outlive its caller: GETNCNT/GETZCNT are 0,
        and a probe message put in each queue stays there."""
        for key in SEM_KEEP:
            s = sysv_ipc.SemaphoreSet(key, 0)
            for e in range(s.nsems):
                n, z = (s.get_waiting_for_nonzero(e),
                        s.get_waiting_for_zero(e))
                if n or z:
                    self.violations.add(
                        "waiters left on a semaphore once every caller is "
                        "gone", "sem %d element %d: ncnt %d zcnt %d"
                        % (key, e, n, z))
        qs = []
        for key in MQ_KEEP:
            q = sysv_ipc.MessageQueue(key, max_message_size=8192)
            for t in (1, 2, 3):
                q.send(b"probe", type=t)
            qs.append((key, q))
        time.sleep(0.5)
        for key, q in qs:
            if q.current_messages != 3:
                self.violations.add(
                    "a waiter was left in the daemon after its caller was "
                    "gone", "queue %d: 3 probe messages sent with no caller "
                    "left, %d still queued" % (key, q.current_messages))
            for _ in range(3):
                try:
                    q.receive(block=False)
                except sysv_ipc.BusyError:
                    break

    def final_unmount(self):
        ok = self.unmount()
        try:
            code = self.daemon.wait(timeout=300 if self.prefix else 30)
        except subprocess.TimeoutExpired:
            code = None
            self.violations.add("ipcfs did not exit after the unmount")
            self.daemon.kill()
            self.daemon.wait()
        if not ok:
            self.violations.add("fusermount3 -u failed at the end")
        if code != 0:
            self.violations.add("ipcfs exited with %s at the end" % code,
                                "(under --daemon-prefix, the wrapper's own "
                                "error exit code counts: see its output)"
                                if self.prefix else "")
        self.daemon_exit = code

    def cleanup(self):
        """On every path: workers, daemon, mount (the IPC objects and the
        scratch tmpfs go with the namespaces)."""
        for pid, inc in list(self.workers.values()):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.daemon and self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        if os.path.isdir(self.mnt):
            self.unmount(lazy=True)

    # -------------------------------------------------------------- accounting
    def account(self):
        sends = {}            # msgid -> [status, qid, type, worker, t0]
        recv_results = []     # (qid, result)
        got = collections.defaultdict(list)   # msgid -> [(source, qid)]
        removed = {}          # (kind, id) -> t
        sem_ops = []          # (semid, elem, delta, status, t0)
        init, final = {}, {}
        unexpected, tracebacks = [], []
        bad = []

        def note_msg(source, recv_qid, parts, rtype=None):
            if parts[0] == "BAD":
                bad.append("%s: not a message of ours: %s" % (source,
                                                              parts[1]))
                return
            msgid, qid, mtype, intact = parts[0], int(parts[1]), \
                int(parts[2]), parts[3] == "1"
            got[msgid].append((source, qid))
            if not intact:
                bad.append("%s: message %s corrupted" % (source, msgid))
            if recv_qid is not None and recv_qid != qid:
                bad.append("%s: message %s sent to queue %d came out of "
                           "queue %d" % (source, msgid, qid, recv_qid))
            if rtype is not None and (
                    (rtype > 0 and mtype != rtype) or
                    (rtype < 0 and mtype > -rtype)):
                bad.append("%s: message %s of type %d received by a "
                           "receive of type %d" % (source, msgid, mtype,
                                                   rtype))

        logs = sorted(os.listdir(self.logdir))
        for name in logs:
            if not name.startswith("w"):
                continue
            inc = int(name[1:-4])
            begun = {}
            with open(os.path.join(self.logdir, name)) as f:
                lines = f.read().splitlines()
            for line in lines:
                tag, _, rest = line.partition(" ")
                parts = rest.split()
                if tag == "B":
                    begun[parts[0]] = parts[1:]
                elif tag == "E":
                    b = begun.get(parts[0])
                    if b:
                        b.append(parts[1])
                        if b[0] == "sem" and b[4] == "fs" and len(parts) > 2 \
                                and int(b[3]) > 0:
                            self.longest_v = max(self.longest_v, (
                                float(parts[2]), parts[1], b[1], b[2]))
                elif tag in ("G", "D"):
                    b = begun.get(parts[0])
                    src = "worker %d %s" % (inc, "drain" if tag == "D"
                                            else "receive")
                    if tag == "G" and b:
                        b.append("G")
                        note_msg(src, int(b[1]), parts[1:], int(b[2]))
                    else:
                        note_msg(src, None, parts[1:])
                elif tag == "X":
                    removed[(parts[0], int(parts[1]))] = float(parts[2])
                elif tag == "e":
                    self.fail_errnos[parts[0]][parts[1]] += 1
                elif tag == "U":
                    unexpected.append("worker %d: %s" % (inc, rest))
                elif tag == "T":
                    tracebacks.append("worker %d:\n%s" % (
                        inc, rest.replace("\\n", "\n")))
            harvested = {(i, s): d for i, s, d in self.harvest if i == inc}
            for seqno, b in begun.items():
                kind = b[0]
                if kind == "send":
                    msgid, qid, mtype = b[1], int(b[2]), int(b[3])
                    status = b[7] if len(b) > 7 else "unknown"
                    if status == "ECONNABORTED":
                        status = "unknown"
                    sends[msgid] = [status, qid, mtype, inc, float(b[6]),
                                    b[5]]
                elif kind == "recv":
                    qid, rtype = int(b[1]), int(b[2])
                    rest = b[4:]
                    if "G" not in rest:
                        data = harvested.get((inc, int(seqno)))
                        if data:
                            p = parse_msg(data)
                            line = log_msg_line("H", seqno, data).split()
                            note_msg("worker %d receive (killed after the "
                                     "read)" % inc, qid, line[2:], rtype)
                    result = [r for r in rest if r != "G"]
                    recv_results.append((qid, result[0] if result
                                         else "killed"))
                elif kind == "sem":
                    semid, elem, delta = int(b[1]), int(b[2]), int(b[3])
                    status = b[6] if len(b) > 6 else "unknown"
                    if status == "ECONNABORTED":
                        status = "unknown"
                    sem_ops.append((semid, elem, delta, status, float(b[5]),
                                    b[4]))
        with open(os.path.join(self.logdir, "coord.log")) as f:
            for line in f:
                parts = line.split()
                if parts[0] == "L":
                    note_msg("final drain", None, parts[2:])
                elif parts[0] == "I":
                    init[(int(parts[1]), int(parts[2]))] = int(parts[3])
                elif parts[0] == "F":
                    final[(int(parts[1]), int(parts[2]))] = int(parts[3])

        v = self.violations
        for b in bad[:20]:
            v.add("a message came out wrong", b)
        if len(bad) > 20:
            v.add("... and %d more wrong messages" % (len(bad) - 20))
        for u in unexpected[:30]:
            v.add("an unexpected result", u)
        if len(unexpected) > 30:
            v.add("... and %d more unexpected results" % (len(unexpected) - 30))
        for t in tracebacks:
            v.add("a worker crashed", t)

        # ---- messages
        dup = {m: s for m, s in got.items() if len(s) > 1}
        phantom = [m for m in got if m not in sends]
        failed_delivered = [m for m in got if m in sends and
                            sends[m][0] not in ("ok", "unknown")]
        ok = [m for m, s in sends.items() if s[0] == "ok"]
        missing = [m for m in ok if m not in got]
        removed_q = {i for k, i in removed if k == "mq"}
        ambiguous_recv = collections.Counter()   # qid -> receives that
        aborted_recv = collections.Counter()     # may have lost one
        for qid, result in recv_results:
            if result == "ECONNABORTED":
                aborted_recv[qid] += 1
            elif result in ("killed", "EINTR") and qid in removed_q:
                ambiguous_recv[qid] += 1
        lost_daemon, lost_removed, lost = [], [], []
        by_q = collections.defaultdict(list)
        for m in missing:
            by_q[sends[m][1]].append(m)
        for qid, ms in by_q.items():
            a = min(len(ms), aborted_recv[qid])
            lost_daemon += ms[:a]
            r = min(len(ms) - a, ambiguous_recv[qid])
            lost_removed += ms[a:a + r]
            lost += ms[a + r:]
        for m in dup:
            v.add("a message was received twice", "%s (sent %s): %s"
                  % (m, sends.get(m), dup[m]))
        for m in phantom[:10]:
            v.add("a message was received that nobody sent", "%s: %s"
                  % (m, got[m]))
        for m in failed_delivered[:10]:
            v.add("a send reported failed, but its message was received",
                  "%s, send %s by worker %d via %s: received %s"
                  % (m, sends[m][0], sends[m][3], sends[m][5], got[m]))
        for m in lost[:10]:
            v.add("a message whose send succeeded was lost",
                  "%s sent to queue %d (type %d, worker %d via %s)%s"
                  % (m, sends[m][1], sends[m][2], sends[m][3], sends[m][5],
                     " (queue removed)" if sends[m][1] in removed_q else ""))
        if len(lost) > 10:
            v.add("... and %d more lost messages" % (len(lost) - 10))

        # ---- ids: nothing succeeds on an object after its removal
        late = []
        for m, s in sends.items():
            t = removed.get(("mq", s[1]))
            if s[0] == "ok" and t is not None and s[4] > t:
                late.append("send of %s to queue %d started %.3f s after "
                            "the queue was removed, and succeeded (%s)"
                            % (m, s[1], s[4] - t, s[5]))
        for semid, elem, delta, status, t0, via in sem_ops:
            t = removed.get(("sem", semid))
            if status == "ok" and t is not None and t0 > t:
                late.append("semop %+d on set %d started %.3f s after its "
                            "removal, and succeeded (%s)" % (delta, semid,
                                                             t0 - t, via))
        for x in late[:10]:
            v.add("a call reached an object after its removal", x)

        # ---- semaphores
        sem_lines = []
        for (semid, elem), start in sorted(init.items()):
            ops = [o for o in sem_ops if o[0] == semid and o[1] == elem]
            done = sum(o[2] for o in ops if o[3] == "ok")
            unk = [o[2] for o in ops if o[3] == "unknown"]
            lo = start + done + sum(d for d in unk if d < 0)
            hi = start + done + sum(d for d in unk if d > 0)
            fin = final.get((semid, elem))
            line = ("set %d elem %d: %d + %d done (%d P, %d V ok) = %d; "
                    "%d in flight when killed (range %d..%d); final %s"
                    % (semid, elem, start, done,
                       sum(1 for o in ops if o[3] == "ok" and o[2] < 0),
                       sum(1 for o in ops if o[3] == "ok" and o[2] > 0),
                       start + done, len(unk), lo, hi, fin))
            sem_lines.append(line)
            if fin is None or not lo <= fin <= hi:
                v.add("semaphore units not conserved", line)

        self.summary = {
            "sends": len(sends), "sent_ok": len(ok),
            "send_failed": sum(1 for s in sends.values()
                               if s[0] not in ("ok", "unknown")),
            "send_unknown": sum(1 for s in sends.values()
                                if s[0] == "unknown"),
            "unknown_delivered": sum(1 for m, s in sends.items()
                                     if s[0] == "unknown" and m in got),
            "received": sum(1 for s in got.values() for x in s
                            if "receive" in x[0]),
            "drained_at_removal": sum(1 for s in got.values() for x in s
                                      if "drain" in x[0]),
            "left_at_end": sum(1 for s in got.values() for x in s
                               if x[0] == "final drain"),
            "lost": len(lost), "duplicated": len(dup),
            "lost_daemon_kill": len(lost_daemon),
            "lost_removed_queue": len(lost_removed),
            "sem_ops": len(sem_ops), "sem_lines": sem_lines,
            "removed": len(removed),
        }

    def check_daemon_output(self):
        complaints = re.compile(r"error|warning|sanitizer|leak|abort|"
                                r"could not|assert", re.IGNORECASE)
        for path, mode in self.daemon_logs:
            text = open(path).read()
            if self.prefix:
                # The wrapper prints its own things (e.g. valgrind's
                # summary); those of the last daemon, which was unmounted
                # cleanly, are the ones that count.
                if path == self.daemon_logs[-1][0]:
                    print("stress: the last daemon's wrapper printed:\n"
                          + "\n".join(text.splitlines()[-40:]))
                continue
            if text.strip():
                (self.violations.add if complaints.search(text) else
                 lambda *a: None)("the daemon printed complaints",
                                  "%s (data=%s):\n%s" % (
                                      os.path.basename(path), mode,
                                      text[-3000:]))
                print("stress: %s printed:\n%s" % (os.path.basename(path),
                                                   text[-3000:]))

    def report(self):
        s = self.summary
        total = collections.Counter()
        for slot in range(len(WORKERS)):
            c = self.sh.counters(slot)
            for i, name in enumerate(OPS):
                for o in range(4):
                    total[(name, o)] += c[i * 4 + o]
        print("\n==== ipcfs stress: seed %d, %d s ====" % (self.seed,
                                                         self.args.seconds))
        print("%-18s %9s %9s %9s %9s" % ("operation", "ok", "exp-fail",
                                         "EINTR", "unexpected"))
        ops_total = 0
        for name in OPS:
            row = [total[(name, o)] for o in range(4)]
            ops_total += sum(row)
            if sum(row):
                why = ", ".join("%s %d" % kv for kv in
                                self.fail_errnos[name].most_common(3))
                print("%-18s %9d %9d %9d %9d  %s" % (name, *row, why))
        print("operations: %d" % ops_total)
        print("kills: %d SIGKILL, %d SIGINT; daemon restarts (kill -9 and "
              "remount): %d; objects removed by the churner: %d"
              % (self.kills["SIGKILL"], self.kills["SIGINT"], self.restarts,
                 s["removed"]))
        print("messages: %d sends, %d ok, %d failed, %d unknown (%d of those "
              "delivered); %d received, %d drained before their queue's "
              "removal, %d left at the end"
              % (s["sends"], s["sent_ok"], s["send_failed"],
                 s["send_unknown"], s["unknown_delivered"], s["received"],
                 s["drained_at_removal"], s["left_at_end"]))
        print("lost %d, duplicated %d (allowed, printed apart: %d possibly "
              "in the daemon's hands at its kill -9, %d in its hands when "
              "the queue was removed)" % (s["lost"], s["duplicated"],
                                          s["lost_daemon_kill"],
                                          s["lost_removed_queue"]))
        print("semaphores: %d accounted operations; longest V through an "
              "op file (never waits in semop; for information): %.3f s (%s, "
              "set %s element %s)" % ((s["sem_ops"],) + self.longest_v))
        for line in s["sem_lines"]:
            print("  " + line)
        b, e = self.figures.get("baseline"), self.figures.get("end")
        if b and e:
            print("daemon: RSS %d -> %d KiB, fds %d -> %d, threads %d -> %d "
                  "(allowed: RSS +%d KiB, fds <= %d, threads <= %d; last daemon: "
                  "%s)" % (b["rss_kib"], e["rss_kib"], b["fds"], e["fds"],
                           b["threads"], e["threads"], self.args.rss_slack_kib,
                           self.fd_ceiling(b), self.thread_ceiling(b),
                           self.daemon_threading))
            if not self.within(e, b):
                self.violations.add("the daemon did not return to its "
                                    "baseline", "before %s, after %s"
                                    % (b, e))
        print("daemon exit at the final unmount: %s" % self.daemon_exit)
        if self.violations:
            print("\nVIOLATIONS (%d):" % len(self.violations))
            for what, ev in self.violations:
                print("- " + what)
                if ev:
                    print("    " + ev.replace("\n", "\n    "))
            print("\nstress: FAILED (seed %d)" % self.seed)
            return 1
        print("stress: passed (seed %d)" % self.seed)
        return 0


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
