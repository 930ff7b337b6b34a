"""-o data=auto|passthrough|fallback, and daemons without CAP_SYS_ADMIN.

The kernel hands backing files (passthrough) only to a daemon with
CAP_SYS_ADMIN: an unprivileged daemon serves data files the fallback way
under data=auto, and refuses to mount under data=passthrough.
"""

import ctypes
import errno
import mmap
import os
import subprocess
import sys

import pytest

import ipc_raw as raw
from fs_paths import as_nobody
from hugepages import reserve_huge_pages
from suite import FS_CHILDREN

KEY = 4343
SIZE = 2 * raw.PAGE + 7


def test_data_passthrough_mounts_and_maps_the_segment(mount_ipcfs):
    mount = mount_ipcfs("-o", "data=passthrough")
    shmid = raw.create("shm", KEY, 0o600, size=SIZE)
    with raw.Attached(shmid) as att:
        fd = os.open(mount.path / "shm" / str(KEY) / "data", os.O_RDWR)
        try:
            m = mmap.mmap(fd, SIZE)
            m[0:2] = b"pt"
            assert att.read(0, 2) == b"pt"
            m.close()
        finally:
            os.close(fd)


def test_unprivileged_daemon_auto_is_the_fallback(nobody_daemon):
    shmid = raw.create("shm", KEY, 0o666, size=SIZE)
    with raw.Attached(shmid) as att:
        att.write(0, b"hello")
        daemon = nobody_daemon()  # data=auto
        client = subprocess.run(
            [sys.executable, str(FS_CHILDREN / "fallback_client.py"),
             os.path.join(daemon.path, "shm", str(KEY), "data"), str(SIZE)],
            capture_output=True, text=True, timeout=30,
            preexec_fn=as_nobody)
        assert client.returncode == 0, client.stderr
        assert client.stdout.split() == ["hello", "ENODEV"]
        assert att.read(100, 11) == b"from-nobody"
    daemon.unmount()
    assert daemon.proc.wait(timeout=10) == 0, daemon.output()
    assert "rror" not in daemon.output()


def test_unprivileged_daemon_refuses_data_passthrough(nobody_daemon):
    daemon = nobody_daemon("-o", "data=passthrough")
    code = daemon.proc.wait(timeout=10)
    assert code != 0
    assert "CAP_SYS_ADMIN" in daemon.output()


def test_fallback_mode_never_maps(mount_ipcfs):
    """data=fallback on a daemon that could pass through: it does not."""
    mount = mount_ipcfs("-o", "data=fallback")
    shmid = raw.create("shm", KEY, 0o600, size=SIZE)
    fd = os.open(mount.path / "shm" / str(KEY) / "data", os.O_RDONLY)
    try:
        with pytest.raises(OSError) as e:
            mmap.mmap(fd, SIZE, prot=mmap.PROT_READ)
        assert e.value.errno == errno.ENODEV
    finally:
        os.close(fd)
    raw.remove("shm", shmid)


@pytest.fixture
def huge_pages():
    """Reserves two huge pages for the test (as root) and gives them back;
    skips, saying why, where the machine cannot have them."""
    with reserve_huge_pages(2):
        yield


@pytest.mark.parametrize("size", [2 << 20, 1 << 20])
def test_huge_page_segment_is_served_the_fallback_way(mount_ipcfs, size,
                                                      huge_pages):
    """SHM_HUGETLB segments are never passed through (a FUSE file's
    mappings are not huge-page aligned), even under data=passthrough:
    read and write work, MAP_SHARED is ENODEV."""
    shm_hugetlb = 0o4000
    shmid = raw.libc.shmget(KEY, size, raw.IPC_CREAT | 0o600 | shm_hugetlb)
    assert shmid >= 0, "shmget(SHM_HUGETLB): " + os.strerror(ctypes.get_errno())
    mount = mount_ipcfs("-o", "data=passthrough")
    path = mount.path / "shm" / str(KEY) / "data"
    assert os.stat(path).st_size == size
    with raw.Attached(shmid) as att:
        att.write(0, b"huge")
        fd = os.open(path, os.O_RDWR)
        try:
            assert os.pread(fd, 4, 0) == b"huge"
            assert os.pwrite(fd, b"HUGE", size - 4) == 4
            assert att.read(size - 4, 4) == b"HUGE"
            with pytest.raises(OSError) as e:
                mmap.mmap(fd, size)
            assert e.value.errno == errno.ENODEV
        finally:
            os.close(fd)
