"""shm/<key>/data: the segment's bytes as a file, coherent with shmat().

Segments are made by raw shmget() (tests/helpers/ipc_raw.py) unless a test says
otherwise, and checked through a shmat() of this process: what any other
program attached to the segment would see.

The default mount (data=auto) runs with passthrough here (root, kernel
6.9+): mmap MAP_SHARED is the segment.  data=fallback serves read and write
with direct_io, and MAP_SHARED gives ENODEV.  Mappings:
test_fs_shm_data_maps.py.
"""

import errno
import mmap
import os
import subprocess

import pytest

import ipc_raw as raw
from suite import wait_until

KEY = 4242
SIZE = 3 * raw.PAGE + 100  # the end falls inside a page
ROUNDED = 4 * raw.PAGE
MODES = {"auto": (), "fallback": ("-o", "data=fallback")}


def data_path(mount, key=KEY):
    return mount.path / "shm" / str(key) / "data"


@pytest.fixture(params=sorted(MODES))
def any_mount(request, mount_ipcfs):
    """The mount in each data mode (auto: passthrough here; fallback)."""
    return mount_ipcfs(*MODES[request.param])


def fill(att, byte):
    att.write(0, bytes([byte]) * att.size)


def assert_size_intact(att, path):
    """The segment has its size everywhere one can look: shm_segsz, the
    file's st_size, a fresh shmat's mapping and the shmem file itself."""
    assert raw.shm_size(att.shmid) == SIZE
    assert os.stat(path).st_size == SIZE
    with raw.Attached(att.shmid) as fresh:
        assert fresh.mapped_length() == ROUNDED
        assert fresh.file_size() == SIZE


# ---------------------------------------------------------------- read/write


def test_size_and_read(any_mount, seg):
    path = data_path(any_mount)
    seg.write(0, b"hello")
    seg.write(SIZE - 5, b"tail!")
    assert os.stat(path).st_size == SIZE
    with open(path, "rb") as f:
        assert f.read() == seg.read()
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.pread(fd, 5, 0) == b"hello"
        assert os.pread(fd, 5, SIZE - 5) == b"tail!"
        assert os.pread(fd, 100, SIZE - 5) == b"tail!"  # short at the end
        assert os.pread(fd, 10, SIZE) == b""            # at the end: EOF
        assert os.pread(fd, 10, SIZE + 12345) == b""    # past it: EOF
    finally:
        os.close(fd)


def test_write_and_pwrite_reach_the_segment(any_mount, seg):
    path = data_path(any_mount)
    fd = os.open(path, os.O_RDWR)
    try:
        assert os.write(fd, b"start") == 5
        assert os.pwrite(fd, b"middle", 2000) == 6
        assert os.pwrite(fd, b"end", SIZE - 3) == 3
        os.lseek(fd, raw.PAGE - 2, os.SEEK_SET)
        assert os.write(fd, b"span") == 4  # across a page boundary
    finally:
        os.close(fd)
    assert seg.read(0, 5) == b"start"
    assert seg.read(2000, 6) == b"middle"
    assert seg.read(SIZE - 3, 3) == b"end"
    assert seg.read(raw.PAGE - 2, 4) == b"span"


def test_coherent_both_ways_while_open(any_mount, seg):
    """No caching anywhere: every read sees the last store, each way."""
    fd = os.open(data_path(any_mount), os.O_RDWR)
    try:
        for i in range(200):
            off = (i * 977) % (SIZE - 8)
            stamp = b"%08d" % i
            seg.write(off, stamp)
            assert os.pread(fd, 8, off) == stamp
            stamp = stamp[::-1]
            assert os.pwrite(fd, stamp, off) == 8
            assert seg.read(off, 8) == stamp
    finally:
        os.close(fd)


def test_large_segment(any_mount):
    """Many requests per call (beyond max_write), compared byte for byte."""
    size = 8 << 20
    shmid = raw.create("shm", KEY, 0o600, size=size)
    data = os.urandom(size)
    path = data_path(any_mount)
    with raw.Attached(shmid) as att:
        with open(path, "r+b", buffering=0) as f:
            assert f.write(data) == size
        assert att.read() == data
        att.write(0, data[::-1])
        with open(path, "rb", buffering=0) as f:
            assert f.read() == data[::-1]


def test_large_writes_at_odd_offsets(any_mount):
    """Writes of a request or more (the daemon writes them into the
    segment's shmem file) at offsets inside pages, overlapping, the last
    across the end: each lands byte for byte, the one across the end is a
    short write of the part that fits, and the segment keeps its size."""
    size = 3 * (1 << 20) + 4321
    shmid = raw.create("shm", KEY, 0o600, size=size)
    path = data_path(any_mount)
    with raw.Attached(shmid) as att:
        expect = bytearray(os.urandom(size))
        att.write(0, bytes(expect))
        fd = os.open(path, os.O_RDWR)
        try:
            for off, n in ((1, 1 << 20), (12345, (1 << 20) + 7),
                           (2 * (1 << 20) + 999, 3333),
                           (size - 100001, 1 << 20)):
                chunk = os.urandom(n)
                fits = min(n, size - off)
                assert os.pwrite(fd, chunk, off) == fits
                expect[off:off + fits] = chunk[:fits]
                assert att.read() == expect
            with pytest.raises(OSError) as e:
                os.pwrite(fd, b"x" * (1 << 20), size)
            assert e.value.errno == errno.ENOSPC
        finally:
            os.close(fd)
        assert att.read() == expect
        assert raw.shm_size(shmid) == size
        with raw.Attached(shmid) as fresh:
            assert fresh.file_size() == size
            assert fresh.mapped_length() == -(-size // raw.PAGE) * raw.PAGE


def test_concurrent_writers_land_exactly(any_mount):
    """Threads writing disjoint odd-sized ranges through files of their
    own at once (several daemon threads writing the segment): every byte
    is the one its writer wrote."""
    import threading
    size = 4 << 20
    shmid = raw.create("shm", KEY, 0o600, size=size)
    path = data_path(any_mount)
    parts = 4
    span = size // parts
    data = [os.urandom(span) for _ in range(parts)]
    errors = []

    def writer(i):
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                pos, step = 0, 65536 + 4093 * (i + 1)
                while pos < span:
                    chunk = data[i][pos:pos + step]
                    assert os.pwrite(fd, chunk, i * span + pos) == len(chunk)
                    pos += step
            finally:
                os.close(fd)
        except (OSError, AssertionError) as e:
            errors.append(e)

    with raw.Attached(shmid) as att:
        threads = [threading.Thread(target=writer, args=(i,))
                   for i in range(parts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert att.read() == b"".join(data)


def test_removed_segment_written_through_an_open_file(any_mount):
    """An open data file of a removed segment still reads and writes it."""
    shmid = raw.create("shm", KEY, 0o600, size=SIZE)
    path = data_path(any_mount)
    with raw.Attached(shmid) as att:
        fd = os.open(path, os.O_RDWR)
        try:
            raw.remove("shm", shmid)
            assert os.pwrite(fd, b"after", SIZE - 5) == 5
            assert os.pwrite(fd, b"more!", SIZE - 3) == 3
            assert os.pread(fd, 5, SIZE - 5) == b"afmor"
        finally:
            os.close(fd)
        assert att.read(SIZE - 5, 5) == b"afmor"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_daemon_with_a_file_size_limit_writes_everywhere(mount_ipcfs, mode):
    """A daemon started under a file size limit (ulimit -f) writes the whole
    segment all the same: the limit is for files it makes, not for the
    segment (a write into the shmem file past it would fail with EFBIG,
    or kill the daemon with SIGXFSZ)."""
    import resource
    size = 4 << 20
    shmid = raw.create("shm", KEY, 0o600, size=size)
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, old[1]))
    try:
        mount = mount_ipcfs(*MODES[mode])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
    data = os.urandom(size)
    with raw.Attached(shmid) as att:
        with open(data_path(mount), "r+b", buffering=0) as f:
            assert f.write(data) == size
        assert att.read() == data


# ---------------------------------------------------------------- the end


def test_write_past_the_end_is_enospc(any_mount, seg):
    path = data_path(any_mount)
    fill(seg, 0x55)
    fd = os.open(path, os.O_RDWR)
    try:
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b"x", SIZE)
        assert e.value.errno == errno.ENOSPC
        with pytest.raises(OSError) as e:
            os.pwrite(fd, b"x" * 100, SIZE + 5000)
        assert e.value.errno == errno.ENOSPC
        # Across the end: the part that fits, as a short write the caller
        # sees (its retry of the rest gets ENOSPC): nothing silently lost.
        assert os.pwrite(fd, b"abcdefghij", SIZE - 3) == 3
        os.lseek(fd, SIZE - 2, os.SEEK_SET)
        assert os.writev(fd, [b"12", b"34"]) == 2
        with pytest.raises(OSError) as e:
            os.write(fd, b"34")
        assert e.value.errno == errno.ENOSPC
    finally:
        os.close(fd)
    assert seg.read(SIZE - 3, 3) == b"a12"
    assert seg.read(0, SIZE - 3) == b"\x55" * (SIZE - 3)
    assert_size_intact(seg, path)


def test_append_is_enospc(any_mount, seg):
    """O_APPEND writes start at the end: always ENOSPC, never growth."""
    path = data_path(any_mount)
    done = subprocess.run(["bash", "-c", "echo more >> '%s'" % path],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "No space left" in done.stderr
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        with pytest.raises(OSError) as e:
            os.write(fd, b"x")
        assert e.value.errno == errno.ENOSPC
    finally:
        os.close(fd)
    assert_size_intact(seg, path)


def test_cat_of_a_bigger_file_fills_then_fails(any_mount, seg, tmp_path):
    src = tmp_path / "big"
    src.write_bytes(b"B" * (SIZE + 4096))
    path = data_path(any_mount)
    done = subprocess.run(["dd", "if=%s" % src, "of=%s" % path, "bs=1000",
                           "conv=notrunc"], capture_output=True, text=True)
    assert done.returncode != 0
    assert "No space left" in done.stderr
    assert seg.read() == b"B" * SIZE
    assert_size_intact(seg, path)


def test_eof_growth_hazard(any_mount, seg, tmp_path):
    """Every way a write can reach the file past its end, with the file
    open for reading, for writing and mmapped at once (passthrough in auto
    mode): none may grow the segment's shmem file, which a later shmat()
    would map beyond shm_segsz."""
    path = data_path(any_mount)
    src = tmp_path / "src"
    src.write_bytes(b"S" * 8192)
    ro = os.open(path, os.O_RDONLY)
    rw = os.open(path, os.O_RDWR)
    sfd = os.open(src, os.O_RDONLY)
    m = None
    try:
        if any_mount.args == list(MODES["auto"]):
            m = mmap.mmap(rw, SIZE)
        for write in (
                lambda: os.pwrite(rw, b"x" * 10, SIZE),
                lambda: os.pwritev(rw, [b"x" * 4096] * 3, SIZE + 1),
                lambda: os.sendfile(rw, sfd, 0, 8192),  # at rw's offset
                lambda: os.copy_file_range(sfd, rw, 8192, 0, SIZE),
                lambda: os.posix_fallocate(rw, SIZE - 1, 8192) or 0,
                lambda: os.posix_fallocate(rw, 0, 2 * SIZE) or 0,
        ):
            os.lseek(rw, SIZE, os.SEEK_SET)
            try:
                n = write()
            except OSError as e:
                assert e.errno in (errno.ENOSPC, errno.EFBIG, errno.EINVAL,
                                   errno.EXDEV, errno.EOPNOTSUPP), e
            else:
                assert n == 0
            with raw.Attached(seg.shmid) as fresh:  # while still open
                assert fresh.file_size() == SIZE
                assert fresh.mapped_length() == ROUNDED
        with pytest.raises(OSError) as e:
            os.write(ro, b"x")  # a read-only (pure passthrough) open
        assert e.value.errno == errno.EBADF
    finally:
        if m is not None:
            m.close()
        for fd in (ro, rw, sfd):
            os.close(fd)
    assert_size_intact(seg, path)


# ---------------------------------------------------------------- truncation


def test_echo_truncates_by_zero_filling(any_mount, seg):
    path = data_path(any_mount)
    fill(seg, 0xff)
    done = subprocess.run(["sh", "-c", "echo hi > '%s'" % path],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert seg.read(0, 3) == b"hi\n"
    assert seg.read(3) == bytes(SIZE - 3)
    assert_size_intact(seg, path)
    with open(path, "rb") as f:
        assert f.read() == b"hi\n" + bytes(SIZE - 3)


@pytest.mark.parametrize("conv, rest", [
    (["conv=notrunc"], b"\xff"),  # in place
    ([], b"\0"),  # dd ftruncate()s to its seek offset: zero-filled after it
], ids=["notrunc", "without_notrunc"])
def test_dd_writes_after_its_seek(any_mount, seg, tmp_path, conv, rest):
    path = data_path(any_mount)
    fill(seg, 0xff)
    src = tmp_path / "a"
    src.write_bytes(b"A" * 100)
    done = subprocess.run(["dd", "if=%s" % src, "of=%s" % path, "bs=100",
                           "seek=5", *conv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert seg.read(0, 500) == b"\xff" * 500
    assert seg.read(500, 100) == b"A" * 100
    assert seg.read(600) == rest * (SIZE - 600)
    assert_size_intact(seg, path)


def test_truncate_command(any_mount, seg):
    path = data_path(any_mount)
    fill(seg, 0xff)

    def truncate(size):
        return subprocess.run(["truncate", "-s", str(size), str(path)],
                              capture_output=True, text=True)

    assert truncate(1000).returncode == 0
    assert seg.read(0, 1000) == b"\xff" * 1000
    assert seg.read(1000) == bytes(SIZE - 1000)
    assert_size_intact(seg, path)

    seg.write(1000, b"kept")
    assert truncate(SIZE).returncode == 0  # its own size: nothing changes
    assert seg.read(1000, 4) == b"kept"

    done = truncate(SIZE + 1)
    assert done.returncode != 0
    assert "File too large" in done.stderr
    with pytest.raises(OSError) as e:
        os.truncate(path, 2 * SIZE)
    assert e.value.errno == errno.EFBIG
    assert seg.read(1000, 4) == b"kept"  # a refused grow changes nothing

    assert truncate(0).returncode == 0
    assert seg.read() == bytes(SIZE)
    assert_size_intact(seg, path)


def test_ftruncate_on_an_open_file(any_mount, seg):
    path = data_path(any_mount)
    fill(seg, 0xff)
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, 10)
        assert seg.read(0, 11) == b"\xff" * 10 + b"\0"
        with pytest.raises(OSError) as e:
            os.ftruncate(fd, SIZE + 1)
        assert e.value.errno == errno.EFBIG
        assert os.fstat(fd).st_size == SIZE
    finally:
        os.close(fd)


# ---------------------------------------------------------------- made here


def test_segment_made_by_mkdir_with_a_size(ipcfs_mount):
    """mkdir shm/<key>:<size>: the data file is that segment, for shmat()
    users and through mmap."""
    os.mkdir(ipcfs_mount.path / "shm" / ("%d:%d" % (KEY, SIZE)), 0o640)
    shmid = raw.lookup("shm", KEY)
    assert raw.shm_size(shmid) == SIZE
    path = data_path(ipcfs_mount)
    assert os.stat(path).st_size == SIZE
    with raw.Attached(shmid) as att:
        assert att.read() == bytes(SIZE)
        with open(path, "r+b", buffering=0) as f:
            f.write(b"made here")
            m = mmap.mmap(f.fileno(), SIZE)
            try:
                att.write(SIZE - 2, b"ok")
                assert m[0:9] == b"made here"
                assert m[SIZE - 2:SIZE] == b"ok"
            finally:
                m.close()
        assert att.read(0, 9) == b"made here"


def test_segment_made_by_mkdir_with_the_mount_default(mount_ipcfs):
    mount = mount_ipcfs("-o", "shm_size=64K")
    os.mkdir(mount.path / "shm" / str(KEY))
    shmid = raw.lookup("shm", KEY)
    assert raw.shm_size(shmid) == 65536
    path = data_path(mount)
    assert os.stat(path).st_size == 65536
    with open(path, "r+b", buffering=0) as f:
        f.seek(65530)
        assert f.write(b"0123456789") == 6
    with raw.Attached(shmid) as att:
        assert att.read(65530, 6) == b"012345"


def test_private_segment_by_id_and_two_names_at_once(ipcfs_mount):
    """An IPC_PRIVATE segment is reached by id; a keyed one by key and by
    id at once (one inode: one backing file for both)."""
    private = raw.create("shm", raw.IPC_PRIVATE, 0o600, size=SIZE)
    keyed = raw.create("shm", KEY, 0o600, size=SIZE)
    by_id = ipcfs_mount.path / "shm" / "by-id"
    with open(by_id / str(private) / "data", "r+b", buffering=0) as f:
        f.write(b"private")
    with raw.Attached(private) as att:
        assert att.read(0, 7) == b"private"
    fd1 = os.open(data_path(ipcfs_mount), os.O_RDWR)
    fd2 = os.open(by_id / str(keyed) / "data", os.O_RDWR)
    try:
        m1 = mmap.mmap(fd1, SIZE)
        m2 = mmap.mmap(fd2, SIZE)
        m1[0:3] = b"one"
        assert m2[0:3] == b"one"
        m1.close()
        m2.close()
    finally:
        os.close(fd1)
        os.close(fd2)


# ---------------------------------------------------------------- stress


def test_opens_and_releases_race(ipcfs_mount, seg):
    """Threads opening, mapping and closing one file at once: a release
    that frees the backing file while the kernel still uses it, or a new
    one while the old is in use, would fail opens (EBUSY/EINVAL)."""
    import threading
    path = data_path(ipcfs_mount)
    errors = []

    def worker(flags, n):
        try:
            for i in range(n):
                fd = os.open(path, flags)
                try:
                    prot = mmap.PROT_READ
                    if flags & os.O_ACCMODE == os.O_RDWR:
                        prot |= mmap.PROT_WRITE
                    m = mmap.mmap(fd, SIZE, prot=prot)
                    m.close()
                    os.pread(fd, 1, i % SIZE)
                finally:
                    os.close(fd)
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(f, 150))
               for f in (os.O_RDONLY, os.O_RDWR, os.O_RDONLY, os.O_RDWR)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert wait_until(lambda: raw.shm_nattch(seg.shmid) == 1)


def test_many_segments_mapped_at_once(ipcfs_mount):
    segs = [raw.create("shm", KEY + i, 0o600, size=SIZE)
            for i in range(64)]
    fds, maps = [], []
    try:
        for i in range(64):
            fds.append(os.open(data_path(ipcfs_mount, KEY + i), os.O_RDWR))
            maps.append(mmap.mmap(fds[-1], SIZE))
            maps[-1][0:4] = b"%04d" % i
        for i, shmid in enumerate(segs):
            with raw.Attached(shmid) as att:
                assert att.read(0, 4) == b"%04d" % i
    finally:
        for m in maps:
            m.close()
        for fd in fds:
            os.close(fd)
    assert wait_until(lambda: all(raw.shm_nattch(s) == 0 for s in segs))
