"""The helpers of the sysv_ipc tests (tests/helpers/sysv_ipc_support.py),
tested."""

import os
import signal

import pytest

import sysv_ipc
from sysv_ipc_support import Made, run_child


def test_made_removes_what_it_made():
    m = Made()
    sem = m.sem()
    m.remove_all()
    with pytest.raises(sysv_ipc.ExistentialError):
        sem.value


def test_child_shares_the_namespace_and_module(made):
    sem = made.sem(initial_value=7)
    done = run_child("""
        print(sysv_ipc.__file__)
        print(sysv_ipc.Semaphore(%d).value)
    """ % sem.key)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[0] == os.path.abspath(sysv_ipc.__file__)
    assert lines[1] == "7"


def test_child_is_killed_at_teardown(child):
    c = child("time.sleep(60)")
    c.kill()
    assert c.proc.returncode == -signal.SIGKILL
