"""Small helpers for the tests that drive an ipcfs mount as a user would:
files read and written whole, shell commands, the errno a call fails with,
and the user (nobody) that unprivileged tests run as (as_nobody: a
preexec_fn that makes a child nobody)."""

import os
import subprocess

import pytest

KINDS = ("sem", "shm", "mq")  # the mount's directories
NOBODY = 65534  # uid and gid


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
