"""ipcfs against hostile and careless callers: input that is not what a
file takes, offsets nobody should hand it, and callers that wait where
another caller would then hang.  Every test here failed on a hole that an
attack on the mount found (issue 8); the rule is that bad input gets an
errno and changes nothing, and no caller can wedge another."""

import errno
import os
import subprocess

import pytest

import ipc_raw
from conftest import wait_until
from fs_paths import expect_errno, read

# ------------------------------------------------------------ NUL bytes


def write_bytes(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


NUL_INPUTS = [b"\0", b"5\0", b"5\0junk", b"\0" b"5", b" 5\0\n", b"0\0"]


@pytest.mark.parametrize("data", NUL_INPUTS)
def test_nul_bytes_are_not_numbers(ipcfs_mount, data):
    """A NUL byte is not white space nor the end of the text: everything
    that takes a number refuses it, and nothing changes."""
    m = ipcfs_mount.path
    os.mkdir(m / "sem" / "700")
    os.mkdir(m / "mq" / "700")
    write_bytes(m / "sem/700/value", b"3")
    before = {p: read(m / p) for p in
              ("sem/700/value", "sem/700/mode", "mq/700/max_size",
               "mq/700/mode", "mq/700/uid", "sem/700/gid")}
    for path in before:
        expect_errno(errno.EINVAL, write_bytes, m / path, data)
    # op: "\0" must not become Z (it would wait), "5\0" not a V of 5.
    fd = os.open(m / "sem/700/op", os.O_WRONLY | os.O_NONBLOCK)
    try:
        expect_errno(errno.EINVAL, os.write, fd, data)
    finally:
        os.close(fd)
    assert {p: read(m / p) for p in before} == before


# ------------------------------------------------- waits on element ops


@pytest.mark.parametrize("element", [1, 2])
@pytest.mark.parametrize("redirect", [">", ">>"])
def test_a_v_reaches_an_element_where_a_p_waits(ipcfs_mount, element,
                                                redirect):
    """`echo -1 > sem/K/2/op` waiting must not hold the inode that the
    `echo 1 > sem/K/2/op` of another shell needs: that one hung in the
    kernel (state D, do_truncate), unkillable, before element files got an
    inode per lookup like sem/K/op."""
    m = ipcfs_mount.path
    os.mkdir(m / "sem" / "950:3")
    semid = ipc_raw.lookup("sem", 950)
    op = m / "sem/950" / str(element) / "op"
    waiter = subprocess.Popen(["sh", "-c", "echo -1 %s %s" % (redirect, op)])
    try:
        assert wait_until(
            lambda: ipc_raw.sem_waiting_for_nonzero(semid, element) == 1,
            30)
        # A hang here is the defect; the bound only keeps the suite alive.
        v = subprocess.run(["sh", "-c", "echo 1 %s %s" % (redirect, op)],
                           timeout=60)
        assert v.returncode == 0
        assert waiter.wait(timeout=60) == 0
        assert ipc_raw.sem_get_value(semid, element) == 0
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
