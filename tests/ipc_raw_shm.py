"""Raw System V shared memory for the tests, through ctypes on libc.

Independent of the code under test: segments made and attached here are
what any C program would see.  Sizes and attachment counts come from
/proc/sysvipc/shm (no struct layouts to get wrong).
"""

import ctypes
import mmap
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_RMID = 0
SHM_RDONLY = 0o10000
PAGE = mmap.PAGESIZE


def _check(rc):
    if rc == -1 or rc is None:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def create(size, key=IPC_PRIVATE, mode=0o600):
    """shmget(key, size, IPC_CREAT|IPC_EXCL|mode) -> shmid."""
    return _check(libc.shmget(key, size, IPC_CREAT | IPC_EXCL | mode))


def lookup(key):
    """shmget(key, 0, 0) -> shmid of an existing segment."""
    return _check(libc.shmget(key, 0, 0))


def remove(shmid):
    _check(libc.shmctl(shmid, IPC_RMID, None))


def info(shmid):
    """The segment's row of /proc/sysvipc/shm as a dict (None if gone)."""
    with open("/proc/sysvipc/shm") as f:
        names = next(f).split()
        for line in f:
            row = dict(zip(names, line.split()))
            if int(row["shmid"]) == shmid:
                return {k: int(v, 8) if k == "perms" else int(v)
                        for k, v in row.items()}
    return None


def size_of(shmid):
    return info(shmid)["size"]


def nattch(shmid):
    return info(shmid)["nattch"]


class Attached:
    """shmat() of a segment in this process; a context manager."""

    def __init__(self, shmid, read_only=False):
        self.shmid = shmid
        self.size = size_of(shmid)
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
