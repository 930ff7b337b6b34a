"""Small helpers for the tests that drive an ipcfs mount as a user would:
the paths of a queue's and a semaphore's files, files read and written
whole, shell commands, the errno a call fails with, and the user (nobody)
that unprivileged tests run as (as_nobody: a preexec_fn that makes a
child nobody)."""

import os
import subprocess

import pytest

KINDS = ("sem", "shm", "mq")  # the mount's directories
NOBODY = 65534  # uid and gid


def mq_dir(mount, key):
    return mount.path / "mq" / str(key)


def receive_path(mount, key, mtype=None):
    """A queue's receive file, or that of messages of type mtype."""
    if mtype is None:
        return mq_dir(mount, key) / "receive"
    return mq_dir(mount, key) / "type" / str(mtype) / "receive"


def send_path(mount, key, mtype=None):
    """A queue's send file, or that of messages of type mtype."""
    if mtype is None:
        return mq_dir(mount, key) / "send"
    return mq_dir(mount, key) / "type" / str(mtype) / "send"


def op_path(mount, key, num=None):
    """A semaphore's op file (element num of a set)."""
    if num is None:
        return mount.path / "sem" / str(key) / "op"
    return mount.path / "sem" / str(key) / str(num) / "op"


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    """One write(2) of text, as echo does; returns what write() returned."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        return os.write(fd, text.encode())
    finally:
        os.close(fd)


def sh(script, **kw):
    """Runs a bash script; returns the CompletedProcess (text)."""
    return subprocess.run(["bash", "-c", script], capture_output=True,
                          text=True, **kw)


def expect_errno(code, fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == code, e.value


def as_nobody():
    """Makes this process nobody, with no supplementary groups (a
    preexec_fn for children that must be an unprivileged user)."""
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
