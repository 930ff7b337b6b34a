"""shm/<key>/data mapped: mmap MAP_SHARED is the segment under the default
mount (passthrough here: root, kernel 6.9+), MAP_SHARED is ENODEV under
data=fallback (MAP_PRIVATE a copy), and an unprivileged client maps a
0644 segment read-only.  Segments are made by raw shmget()
(tests/helpers/ipc_raw.py) and checked through a shmat() of this process.
"""

import errno
import mmap
import os
import subprocess
import sys

import pytest

import ipc_raw as raw
from fs_paths import as_nobody
from suite import FS_CHILDREN, wait_until

KEY = 4242
SIZE = 3 * raw.PAGE + 100  # the end falls inside a page


def data_path(mount, key=KEY):
    return mount.path / "shm" / str(key) / "data"


@pytest.fixture
def fallback_mount(mount_ipcfs):
    return mount_ipcfs("-o", "data=fallback")


def fill(att, byte):
    att.write(0, bytes([byte]) * att.size)


# ---------------------------------------------------------------- mmap


def test_mmap_shared_is_the_segment(ipcfs_mount, seg):
    """Passthrough: stores are seen at once both ways, with no msync, and
    write(2) on the same file meets the mapping too."""
    fd = os.open(data_path(ipcfs_mount), os.O_RDWR)
    try:
        m = mmap.mmap(fd, SIZE)
        try:
            for i in range(100):
                off = (i * 1237) % (SIZE - 8)
                m[off:off + 8] = b"%08d" % i
                assert seg.read(off, 8) == b"%08d" % i
                seg.write(off, b"-%07d" % i)
                assert m[off:off + 8] == b"-%07d" % i
            m[SIZE - 4:SIZE] = b"last"  # in the partial last page
            assert seg.read(SIZE - 4, 4) == b"last"
            os.pwrite(fd, b"via-write", 77)
            assert m[77:86] == b"via-write"
        finally:
            m.close()
    finally:
        os.close(fd)


def test_mmap_read_only_open(ipcfs_mount, seg):
    fd = os.open(data_path(ipcfs_mount), os.O_RDONLY)
    try:
        m = mmap.mmap(fd, SIZE, prot=mmap.PROT_READ)
        try:
            seg.write(123, b"seen")
            assert m[123:127] == b"seen"
        finally:
            m.close()
        with pytest.raises(PermissionError):
            mmap.mmap(fd, SIZE)  # PROT_WRITE on a read-only open
    finally:
        os.close(fd)


def test_truncate_is_seen_by_a_mapping(ipcfs_mount, seg):
    path = data_path(ipcfs_mount)
    fill(seg, 0xff)
    fd = os.open(path, os.O_RDWR)
    try:
        m = mmap.mmap(fd, SIZE)
        try:
            subprocess.run(["sh", "-c", "echo hi > '%s'" % path], check=True)
            assert m[0:4] == b"hi\n\0"
            assert m[SIZE - 1] == 0
        finally:
            m.close()
    finally:
        os.close(fd)


def test_concurrent_opens_of_every_kind(ipcfs_mount, seg):
    """Read-only (pure passthrough), read-write and append opens of one
    inode at once share one backing file; closing them in any order and
    opening again keeps working (the kernel refuses a second backing file
    for an inode that still has one)."""
    path = data_path(ipcfs_mount)
    for order in ((0, 1, 2), (2, 1, 0), (1, 0, 2)):
        fds = [os.open(path, os.O_RDONLY), os.open(path, os.O_RDWR),
               os.open(path, os.O_WRONLY | os.O_APPEND)]
        maps = [mmap.mmap(fds[0], SIZE, prot=mmap.PROT_READ),
                mmap.mmap(fds[1], SIZE)]
        maps[1][0:3] = b"abc"
        assert maps[0][0:3] == b"abc"
        assert os.pread(fds[0], 3, 0) == b"abc"
        assert seg.read(0, 3) == b"abc"
        for m in maps:
            m.close()
        for i in order:
            os.close(fds[i])
            with open(path, "rb") as f:  # an open while others live
                assert f.read(3) == b"abc"


def test_daemon_attachment_counts_while_open(ipcfs_mount, seg):
    path = data_path(ipcfs_mount)
    assert raw.shm_nattch(seg.shmid) == 1
    fd1 = os.open(path, os.O_RDONLY)
    fd2 = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd2, SIZE)
    try:
        # One for the daemon, not one per open.
        assert raw.shm_nattch(seg.shmid) == 2
    finally:
        m.close()
        os.close(fd1)
        os.close(fd2)
    # release reaches the daemon after close returns
    assert wait_until(lambda: raw.shm_nattch(seg.shmid) == 1)


def test_removed_segment_stays_mapped(ipcfs_mount):
    shmid = raw.create("shm", KEY, 0o600, size=SIZE)
    path = data_path(ipcfs_mount)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, SIZE)
    os.close(fd)
    raw.remove("shm", shmid)
    with pytest.raises(FileNotFoundError):
        open(path, "rb")
    m[0:4] = b"gone"  # still the (removed) segment's memory
    assert m[0:4] == b"gone"
    m.close()
    assert wait_until(lambda: raw.info("shm", shmid) is None)


# ---------------------------------------------------------------- fallback


def test_fallback_read_write_coherent(fallback_mount, seg):
    fd = os.open(data_path(fallback_mount), os.O_RDWR)
    try:
        seg.write(10, b"shm")
        assert os.pread(fd, 3, 10) == b"shm"
        os.pwrite(fd, b"fs!", 20)
        assert seg.read(20, 3) == b"fs!"
    finally:
        os.close(fd)


def test_fallback_mmap_shared_is_enodev(fallback_mount, seg):
    """The fallback cannot make a shared mapping the segment (a page-cache
    mapping would be a stale copy: lost updates), so it refuses it."""
    fd = os.open(data_path(fallback_mount), os.O_RDWR)
    try:
        with pytest.raises(OSError) as e:
            mmap.mmap(fd, SIZE)
        assert e.value.errno == errno.ENODEV
        with pytest.raises(OSError) as e:
            mmap.mmap(fd, SIZE, prot=mmap.PROT_READ)
        assert e.value.errno == errno.ENODEV
    finally:
        os.close(fd)


def test_fallback_mmap_private_is_a_copy(fallback_mount, seg):
    """MAP_PRIVATE works: a copy of the segment taken page by page as the
    mapping is first touched; its stores never reach the segment."""
    seg.write(0, b"before")
    fd = os.open(data_path(fallback_mount), os.O_RDONLY)
    try:
        m = mmap.mmap(fd, SIZE, access=mmap.ACCESS_COPY)
        try:
            assert m[0:6] == b"before"
            m[0:6] = b"mine!!"
            assert seg.read(0, 6) == b"before"
        finally:
            m.close()
    finally:
        os.close(fd)


# ---------------------------------------------------------------- users

def test_unprivileged_client_mmaps_a_0644_segment(mount_ipcfs, seg):
    mount = mount_ipcfs("-o", "allow_other")
    seg.write(0, b"first")
    child = subprocess.Popen(
        [sys.executable, str(FS_CHILDREN / "mmap_client.py"),
         str(data_path(mount)), str(SIZE)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=as_nobody)
    try:
        assert child.stdout.readline().strip() == "rw-denied"
        assert child.stdout.readline().strip() == "first"
        seg.write(0, b"again")
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "again"
        assert child.wait(timeout=10) == 0, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for f in (child.stdin, child.stdout, child.stderr):
            f.close()
