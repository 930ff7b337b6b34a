"""What every worker of scripts/stress.py shares, whatever its role: its
state in the shared page (begin/idle, so that the coordinator knows which
call it is in and whether it may kill it), its append-only log, the
counting of outcomes (which errno is expected where), the alarm that
bounds a blocking call, the object directories it keeps open, and the
picking of the objects a call works on."""

import ctypes
import errno
import os
import random
import signal
import struct

from stress_ledger import (LAND, LANDING, ST_CALL, ST_DESC, ST_IDLE,
                           ST_WAIT, now)
from stress_objects import (MQ_CHURN, MQ_KEEP, SEM_CHURN, SEM_KEEP,
                            SHM_CHURN, SHM_KEEP)

EXPECT_GONE = {errno.ENOENT, errno.EIDRM, errno.ENOTCONN,
               errno.ECONNABORTED, errno.EINTR}
DAEMON_GONE = {errno.ENOTCONN, errno.ECONNABORTED}


def close_kept(fd):
    """Closes a descriptor a worker kept, maybe from a daemon killed since:
    its FLUSH then fails with ENOTCONN (DAEMON_GONE), and the descriptor
    is closed all the same."""
    try:
        os.close(fd)
    except OSError as e:
        if e.errno not in DAEMON_GONE:
            raise


class Caller:
    """The plumbing of a worker process (see stress_worker.Worker)."""

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


    # -------------------------------------------------------------- picks
    def mq_key(self):
        return self.rng.choice(list(MQ_KEEP) * 2 + list(MQ_CHURN))


    def sem_pick(self):
        key = self.rng.choice(list(SEM_KEEP) * 2 + list(SEM_CHURN))
        elem = self.rng.choice((0, 1, 2)) if key == 2001 else 0
        if key in SEM_CHURN and self.rng.random() < 0.5:
            elem = self.rng.choice((0, 1))  # may not exist (nsems 1)
        return key, elem


    def shm_key(self):
        return self.rng.choice(list(SHM_KEEP) * 2 + list(SHM_CHURN))
