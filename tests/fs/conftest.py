"""Fixtures of the filesystem tests (the helpers are in tests/helpers/:
children.py, fs_paths.py, nobody_daemon.py, ipc_raw.py)."""

import pytest

import ipc_raw
from children import Children
from nobody_daemon import NobodyDaemon


@pytest.fixture
def mount(ipcfs_mount):
    """A mount with the default options."""
    return ipcfs_mount


@pytest.fixture
def msq(request, mount):
    """A queue (mode 0666) with the test module's KEY, on the mount."""
    return ipc_raw.create("mq", request.module.KEY, 0o666)


@pytest.fixture
def semid(request, mount):
    """A semaphore (mode 0666) with the test module's SEMKEY, on the
    mount."""
    return ipc_raw.create("sem", request.module.SEMKEY, 0o666)


@pytest.fixture
def seg(request):
    """A raw 0644 segment of the test module's SIZE bytes, with its KEY,
    attached in this process."""
    shmid = ipc_raw.create("shm", request.module.KEY, 0o644,
                           size=request.module.SIZE)
    with ipc_raw.Attached(shmid) as att:
        yield att


@pytest.fixture
def shared_mount(mount_ipcfs):
    """A mount other users may enter, as the daemon usually runs."""
    return mount_ipcfs("-o", "allow_other")


@pytest.fixture
def children():
    """A Children: the processes a test starts through it are killed and
    reaped at teardown."""
    kids = Children()
    try:
        yield kids
    finally:
        kids.kill_all()


@pytest.fixture
def nobody_daemon(ipcfs_bin):
    """Factory: nobody_daemon(*args) -> a NobodyDaemon, each closed at
    teardown."""
    daemons = []

    def start(*args):
        daemons.append(NobodyDaemon(ipcfs_bin, *args))
        return daemons[-1]

    try:
        yield start
    finally:
        errors = []
        for d in daemons:  # every one, even if closing another fails
            try:
                d.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
