"""Fixtures of the sysv_ipc tests (the helpers are in
tests/helpers/sysv_ipc_support.py)."""

import pytest

from sysv_ipc_support import Child, Made


@pytest.fixture
def made():
    """A Made: the IPC objects a test makes through it are removed at
    teardown, on every path."""
    m = Made()
    try:
        yield m
    finally:
        m.remove_all()


@pytest.fixture
def child():
    """Factory: child(code, **Child's keywords) -> Child; all killed at
    teardown."""
    children = []

    def start(code, **kwargs):
        c = Child(code, **kwargs)
        children.append(c)
        return c

    try:
        yield start
    finally:
        for c in children:
            c.kill()
