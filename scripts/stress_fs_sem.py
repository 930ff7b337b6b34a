"""The calls of scripts/stress.py's workers on semaphores through the
mount: P/V/Z on op files (blocking and O_NONBLOCK, kept across churn),
invalid input to op and value, value reads and writes."""

import ctypes
import errno
import fcntl
import os
import re

from isolated import libc
import sysv_ipc  # BUILD's: isolated, imported first, put it on sys.path
from stress_caller import DAEMON_GONE, EXPECT_GONE
from stress_ledger import now
from stress_objects import SEM_CHURN, SEM_KEEP


class FsSemCalls:
    """Mixed into stress_worker.Worker."""

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
