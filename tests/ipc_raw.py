"""Raw System V IPC for the filesystem tests, through ctypes on libc.

Independent of the code under test: objects made here are what any C
program would make.  Attributes come from /proc/sysvipc (no struct layouts
to get wrong); values and messages from the system calls.
"""

import ctypes
import os

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
GETVAL = 12
SETVAL = 16

PROC = {"sem": "/proc/sysvipc/sem", "shm": "/proc/sysvipc/shm",
        "mq": "/proc/sysvipc/msg"}
ID_COLUMN = {"sem": "semid", "shm": "shmid", "mq": "msqid"}


def _check(rc):
    if rc == -1 or rc is None:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
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
        return _check(libc.semget(key, size or 1, flags))
    if kind == "shm":
        return _check(libc.shmget(key, size or 4096, flags))
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


# ---------------------------------------------------------------- segments


def _shmat(shmid):
    addr = libc.shmat(shmid, None, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return addr


def shm_read(shmid, size, offset=0):
    addr = _shmat(shmid)
    try:
        return ctypes.string_at(addr + offset, size)
    finally:
        libc.shmdt(ctypes.c_void_p(addr))


def shm_write(shmid, data, offset=0):
    addr = _shmat(shmid)
    try:
        ctypes.memmove(addr + offset, data, len(data))
    finally:
        libc.shmdt(ctypes.c_void_p(addr))
