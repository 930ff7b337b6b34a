"""The calls of scripts/stress.py's workers on shared memory through the
mount: each worker writes its own stripe of a data file and reads it back
through the same descriptor, an mmap of the file and a sysv_ipc
attachment; and O_TRUNC, truncate, writes past the end and reads of the
segments whose content nobody checks."""

import errno
import mmap
import os

import sysv_ipc  # BUILD's: isolated, imported first, put it on sys.path
from stress_ledger import FALLBACK, GEN
from stress_objects import SHM_CHAOS, SHM_CHURN, STRIPE


class FsShmCalls:
    """Mixed into stress_worker.Worker."""

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
