"""Raw System V calls the blocking tests need beyond tests/ipc_raw.py:
waiter counts of a semaphore and a queue's byte limit (msg_qbytes)."""

import ctypes
import os
import struct

from ipc_raw import libc, _check

GETNCNT = 14
GETZCNT = 15
IPC_SET = 1
IPC_STAT = 2

# struct msqid_ds on 64-bit Linux (glibc): ipc_perm is 48 bytes, then
# stime, rtime, ctime, __msg_cbytes, msg_qnum, msg_qbytes (8 bytes each).
_MSQID_DS_SIZE = 256  # more than enough room for the kernel to fill
_CBYTES, _QNUM, _QBYTES = 72, 80, 88


def sem_waiting_for_nonzero(semid, num=0):
    return _check(libc.semctl(semid, num, GETNCNT, 0))


def sem_waiting_for_zero(semid, num=0):
    return _check(libc.semctl(semid, num, GETZCNT, 0))


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


def thread_count(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise OSError("no Threads line for %d" % pid)


def errno_name(err):
    return os.strerror(err)
