"""Raw System V IPC through ctypes on libc: the one wrapper, for the tests
and for the benchmarks (bench/benchlib.py takes RawIpc, MsgBuf and
shm_fill from here).

Independent of the code under test: objects made and attached here are
what any C program would make and see.  Attributes (sizes, attachment
counts, modes) come from /proc/sysvipc (no struct layouts to get wrong);
values, waiter counts and messages from the system calls.  The one struct
read is a queue's msqid_ds, for its byte counts and limit (msg_qbytes).

Nothing here imports the rest of the suite (nor pytest): the benchmarks
import it alone.
"""

import ctypes
import errno
import mmap
import os
import struct

libc = ctypes.CDLL(None, use_errno=True)
libc.semget.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
libc.semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                        ctypes.c_long]
libc.semop.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.msgget.argtypes = [ctypes.c_int, ctypes.c_int]
libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                        ctypes.c_int]
libc.msgrcv.restype = ctypes.c_ssize_t
libc.msgrcv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                        ctypes.c_long, ctypes.c_int]
libc.msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_NOWAIT = 0o4000
IPC_RMID = 0
IPC_SET = 1
IPC_STAT = 2
GETVAL = 12
GETNCNT = 14
GETZCNT = 15
SETVAL = 16
SHM_RDONLY = 0o10000
PAGE = mmap.PAGESIZE

PROC = {"sem": "/proc/sysvipc/sem", "shm": "/proc/sysvipc/shm",
        "mq": "/proc/sysvipc/msg"}
ID_COLUMN = {"sem": "semid", "shm": "shmid", "mq": "msqid"}


def _check(rc, what=None):
    """rc, or OSError with errno (its message prefixed with what, the
    call's name, when given) if rc says the call failed."""
    if rc is None or rc < 0:
        err = ctypes.get_errno()
        message = os.strerror(err)
        raise OSError(err, "%s: %s" % (what, message) if what else message)
    return rc


# ---------------------------------------------------------------- any kind


def rows(kind):
    """Every row of /proc/sysvipc/<kind> as a dict of ints."""
    with open(PROC[kind]) as f:
        names = next(f).split()
        return [{k: int(v, 8) if k == "perms" else int(v)
                 for k, v in zip(names, line.split())}
                for line in f if line.strip()]


def info(kind, ident):
    """The object's row of /proc/sysvipc (None if it is gone)."""
    for row in rows(kind):
        if row[ID_COLUMN[kind]] == ident:
            return row
    return None


def ids(kind):
    return [row[ID_COLUMN[kind]] for row in rows(kind)]


def remove(kind, ident):
    if kind == "sem":
        _check(libc.semctl(ident, 0, IPC_RMID, 0))
    elif kind == "shm":
        _check(libc.shmctl(ident, IPC_RMID, None))
    else:
        _check(libc.msgctl(ident, IPC_RMID, None))


def create(kind, key=IPC_PRIVATE, mode=0o600, size=None):
    """Creates an object (size: nsems for sets, bytes for segments)."""
    flags = IPC_CREAT | IPC_EXCL | mode
    if kind == "sem":
        return _check(libc.semget(key, 1 if size is None else size, flags))
    if kind == "shm":
        return _check(libc.shmget(key, 4096 if size is None else size,
                                  flags))
    return _check(libc.msgget(key, flags))


def lookup(kind, key):
    """The id of the object with key (OSError ENOENT if none)."""
    if kind == "sem":
        return _check(libc.semget(key, 0, 0))
    if kind == "shm":
        return _check(libc.shmget(key, 0, 0))
    return _check(libc.msgget(key, 0))


# ---------------------------------------------------------------- semaphores


class _Sembuf(ctypes.Structure):
    _fields_ = [("num", ctypes.c_ushort), ("op", ctypes.c_short),
                ("flg", ctypes.c_short)]


def sem_get_value(semid, num=0):
    return _check(libc.semctl(semid, num, GETVAL, 0))


def sem_set_value(semid, value, num=0):
    _check(libc.semctl(semid, num, SETVAL, value))


def sem_op(semid, delta, num=0, nowait=True):
    buf = _Sembuf(num, delta, IPC_NOWAIT if nowait else 0)
    _check(libc.semop(semid, ctypes.byref(buf), 1))


def sem_waiting_for_nonzero(semid, num=0):
    return _check(libc.semctl(semid, num, GETNCNT, 0))


def sem_waiting_for_zero(semid, num=0):
    return _check(libc.semctl(semid, num, GETZCNT, 0))


# ---------------------------------------------------------------- queues


def msg_send(msqid, data, mtype=1):
    buf = ctypes.create_string_buffer(8 + len(data))
    ctypes.c_long.from_buffer(buf).value = mtype
    ctypes.memmove(ctypes.addressof(buf) + 8, data, len(data))
    _check(libc.msgsnd(msqid, buf, len(data), IPC_NOWAIT))


def msg_receive(msqid, mtype=0, size=8192):
    """(type, bytes) of the next message; OSError ENOMSG if none."""
    buf = ctypes.create_string_buffer(8 + size)
    n = _check(libc.msgrcv(msqid, buf, size, mtype, IPC_NOWAIT))
    return (ctypes.c_long.from_buffer(buf).value, buf.raw[8:8 + n])


def msg_drain(msqid, size=65536):
    """Receives every message left in the queue, without waiting: a list
    of (type, bytes), oldest first."""
    out = []
    while True:
        try:
            out.append(msg_receive(msqid, size=size))
        except OSError as e:
            if e.errno != errno.ENOMSG:
                raise
            return out


# struct msqid_ds on 64-bit Linux (glibc): ipc_perm is 48 bytes, then
# stime, rtime, ctime, __msg_cbytes, msg_qnum, msg_qbytes (8 bytes each).
_MSQID_DS_SIZE = 256  # more than enough room for the kernel to fill
_CBYTES, _QNUM, _QBYTES = 72, 80, 88


def _msq_stat(msqid):
    buf = ctypes.create_string_buffer(_MSQID_DS_SIZE)
    _check(libc.msgctl(msqid, IPC_STAT, buf))
    return buf


def msq_counts(msqid):
    """(messages, bytes, byte limit) of a queue."""
    raw = _msq_stat(msqid).raw
    return tuple(struct.unpack_from("Q", raw, off)[0]
                 for off in (_QNUM, _CBYTES, _QBYTES))


def msq_set_qbytes(msqid, qbytes):
    buf = _msq_stat(msqid)
    struct.pack_into("Q", buf, _QBYTES, qbytes)
    _check(libc.msgctl(msqid, IPC_SET, buf))
    assert msq_counts(msqid)[2] == qbytes, "unexpected msqid_ds layout"


def msgmax():
    with open("/proc/sys/kernel/msgmax") as f:
        return int(f.read())


# ---------------------------------------------------------------- segments


def shm_size(shmid):
    return info("shm", shmid)["size"]


def shm_nattch(shmid):
    return info("shm", shmid)["nattch"]


class Attached:
    """shmat() of a segment in this process; a context manager."""

    def __init__(self, shmid, read_only=False):
        self.shmid = shmid
        self.size = shm_size(shmid)
        flags = SHM_RDONLY if read_only else 0
        addr = libc.shmat(shmid, None, flags)
        if addr is None or addr == ctypes.c_void_p(-1).value:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.addr = addr

    def read(self, offset=0, length=None):
        if length is None:
            length = self.size - offset
        assert 0 <= offset and offset + length <= self.size
        return ctypes.string_at(self.addr + offset, length)

    def write(self, offset, data):
        assert 0 <= offset and offset + len(data) <= self.size
        ctypes.memmove(self.addr + offset, data, len(data))

    def mapped_length(self):
        """Length of this attachment's mapping, as /proc/self/maps has it:
        the kernel maps the segment's shmem file size, rounded to pages."""
        start = "%x-" % self.addr
        with open("/proc/self/maps") as f:
            for line in f:
                if line.startswith(start):
                    lo, hi = line.split()[0].split("-")
                    return int(hi, 16) - int(lo, 16)
        raise AssertionError("attachment not in /proc/self/maps")

    def file_size(self):
        """st_size of the segment's own shmem file (needs root): what a
        write past the end through a passthrough file would grow."""
        path = "/proc/self/map_files/%x-%x" % (
            self.addr, self.addr + self.mapped_length())
        return os.stat(path).st_size

    def detach(self):
        if self.addr is not None:
            _check(libc.shmdt(ctypes.c_void_p(self.addr)))
            self.addr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()


def shm_read(shmid, size, offset=0):
    with Attached(shmid) as seg:
        return seg.read(offset, size)


def shm_write(shmid, data, offset=0):
    with Attached(shmid) as seg:
        seg.write(offset, data)


# ---------------------------------------------------------------- benchmarks
# Objects made and used with bare system calls, so that scripts/bench fs
# can make and remove objects without depending on the module it does not
# measure.


class RawIpc:
    """Objects made with bare system calls; remove_all() removes them."""

    def __init__(self):
        self.made = []  # (kind, id)

    def sem(self, key, nsems=1, mode=0o600):
        i = _check(libc.semget(key, nsems, IPC_CREAT | IPC_EXCL | mode),
                   "semget")
        self.made.append(("sem", i))
        return i

    def shm(self, key, size, mode=0o600):
        i = _check(libc.shmget(key, size, IPC_CREAT | IPC_EXCL | mode),
                   "shmget")
        self.made.append(("shm", i))
        return i

    def mq(self, key, mode=0o600):
        i = _check(libc.msgget(key, IPC_CREAT | IPC_EXCL | mode), "msgget")
        self.made.append(("mq", i))
        return i

    @staticmethod
    def remove(kind, ident):
        """Removes one object; returns the call's result (-1: it failed),
        never raises: teardown goes on."""
        if kind == "sem":
            return libc.semctl(ident, 0, IPC_RMID, 0)
        if kind == "shm":
            return libc.shmctl(ident, IPC_RMID, None)
        return libc.msgctl(ident, IPC_RMID, None)

    def discard(self, kind, ids):
        """Removes the objects of a kind with these ids."""
        ids = set(ids)
        for i in ids:
            self.remove(kind, i)
        self.made = [(k, i) for k, i in self.made
                     if not (k == kind and i in ids)]

    def remove_kind(self, kind):
        keep = []
        for k, i in self.made:
            if k == kind:
                self.remove(k, i)
            else:
                keep.append((k, i))
        self.made = keep

    def remove_all(self):
        for k, i in reversed(self.made):
            self.remove(k, i)
        self.made.clear()


class MsgBuf:
    """A reusable msgsnd/msgrcv buffer (long type, then the text)."""

    def __init__(self, capacity=8192):
        self.capacity = capacity
        self.buf = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long)
                                               + capacity)

    def send(self, ident, data, mtype=1, flags=0):
        ctypes.c_long.from_buffer(self.buf).value = mtype
        ctypes.memmove(ctypes.addressof(self.buf)
                       + ctypes.sizeof(ctypes.c_long), data, len(data))
        _check(libc.msgsnd(ident, self.buf, len(data), flags), "msgsnd")

    def receive(self, ident, flags=0):
        n = _check(libc.msgrcv(ident, self.buf, self.capacity, 0, flags),
                   "msgrcv")
        off = ctypes.sizeof(ctypes.c_long)
        return self.buf.raw[off:off + n]


def shm_fill(ident, byte, size):
    """Sets size bytes of segment ident to byte (attach, memset, detach)."""
    addr = libc.shmat(ident, None, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        _check(-1, "shmat")
    try:
        ctypes.memset(addr, byte, size)
    finally:
        libc.shmdt(addr)


# ---------------------------------------------------------------- processes


def proc_status(pid, field):
    """The number of a field of /proc/PID/status ("Threads", "VmRSS" in
    KiB, ...)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError("no %s line for %d" % (field, pid))


def thread_count(pid):
    return proc_status(pid, "Threads")
