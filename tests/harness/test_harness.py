"""The suite's own guarantees: it runs in a private IPC namespace, and what
a test leaves behind is removed."""

import os

import ipc_raw
from suite import ORIGINAL_IPC_NAMESPACE, list_ipc_ids


def test_runs_in_a_private_ipc_namespace():
    assert os.readlink("/proc/self/ns/ipc") != ORIGINAL_IPC_NAMESPACE


def test_children_share_the_private_namespace():
    import subprocess
    child = subprocess.run(["readlink", "/proc/self/ns/ipc"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == os.readlink("/proc/self/ns/ipc")


_leftover = {}


def test_leftovers_are_visible_then_removed():
    semid = ipc_raw.create("sem", ipc_raw.IPC_PRIVATE, 0o600)
    assert semid >= 0
    assert semid in list_ipc_ids("sem")
    # The autouse fixture removes it after this test; the next test checks.
    _leftover["semid"] = semid


def test_previous_leftover_was_removed():
    semid = _leftover["semid"]  # KeyError if the test above did not run
    assert semid not in list_ipc_ids("sem")
