"""ipcfs: directory offsets.  A directory offset is a cursor that names an
entry (listing.h): any offset the kernel can be handed (lseek, seekdir, an
entry's d_off, from this open or another) gives real entries or a clean end,
never EIO or made-up entries; a listing read in small pieces while objects
come and go lists each object that lived throughout once, and none twice;
and an open directory costs the daemon no memory.

getdents64(2) is called directly (Python has none) to see d_ino, d_off
and d_type; telldir/seekdir through libc's DIR."""

import collections
import ctypes
import errno
import os
import random
import struct

import pytest

import ipc_raw

libc = ctypes.CDLL(None, use_errno=True)

SYS_GETDENTS64 = {"x86_64": 217, "aarch64": 61, "riscv64": 61}.get(
    os.uname().machine)
libc.syscall.restype = ctypes.c_long

Dirent = collections.namedtuple("Dirent", "ino off type name")
DT_DIR, DT_REG = 4, 8


def getdents(fd, size=32768):
    """One getdents64(2) of at most size bytes: a list of Dirent."""
    if SYS_GETDENTS64 is None:
        pytest.skip("getdents64 number unknown on " + os.uname().machine)
    buf = ctypes.create_string_buffer(size)
    n = libc.syscall(ctypes.c_long(SYS_GETDENTS64), ctypes.c_int(fd), buf,
                     ctypes.c_size_t(size))
    if n < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    raw, out, pos = buf.raw[:n], [], 0
    while pos < n:
        ino, off, reclen, typ = struct.unpack_from("=QqHB", raw, pos)
        assert reclen > 0, "zero-length record"
        name = raw[pos + 19:pos + reclen].split(b"\0", 1)[0].decode()
        out.append(Dirent(ino, off, typ, name))
        pos += reclen
    return out


def read_to_end(fd, size=32768, limit=100000):
    """getdents64 until it answers nothing; every entry on the way."""
    out = []
    for _ in range(limit):
        got = getdents(fd, size)
        if not got:
            return out
        out += got
    raise AssertionError("the listing does not end")


def listing(path):
    """The whole listing of path, read from offset 0 in one open."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return read_to_end(fd)
    finally:
        os.close(fd)


def check_real(got, full, where):
    """Every entry of got is one of full: a name that exists, with its inode
    number and type."""
    by_name = {e.name: e for e in full}
    for e in got:
        assert e.name, "%s: an entry with an empty name" % where
        real = by_name.get(e.name)
        assert real is not None, "%s: %r is no entry of %s" % (
            where, e.name, sorted(by_name))
        assert (e.ino, e.type) == (real.ino, real.type), \
            "%s: %r has inode %#x type %d, the listing %#x type %d" % (
                where, e.name, e.ino, e.type, real.ino, real.type)


def after(full, off):
    """The entries a read at off must give: those whose cursor is at or
    after off, i.e. whose d_off (the cursor of the next) is beyond it."""
    return [e for e in full if e.off > off]


@pytest.fixture
def tree(ipcfs_mount):
    """A mount with objects of every kind, and the directories to list."""
    m = ipcfs_mount.path
    for key in range(1, 31):
        ipc_raw.create("sem", key)
    for _ in range(5):
        ipc_raw.create("sem")
    ipc_raw.create("sem", 77, size=3)
    ipc_raw.create("sem", -8)
    ipc_raw.create("shm", 40)
    ipc_raw.create("shm")
    ipc_raw.create("mq", 50)
    ipc_raw.create("mq")
    return m, ["", "sem", "sem/by-id", "sem/77", "sem/77/1", "sem/1",
               "shm", "shm/by-id", "shm/40", "mq", "mq/by-id", "mq/50",
               "mq/50/type", "mq/50/type/5", "mq/50/type/-2"]


# ---------------------------------------------------------------- offsets


def test_full_listings_are_real_and_cursors_grow(tree):
    m, dirs = tree
    for d in dirs:
        full = listing(m / d)
        names = [e.name for e in full]
        assert names[:2] == [".", ".."], d
        assert len(set(names)) == len(names), d
        assert all(e.name for e in full), d
        offs = [e.off for e in full]
        assert offs == sorted(set(offs)) and offs[0] > 0, (d, offs)
        for e in full[2:]:
            st = os.stat(m / d / e.name)
            assert e.ino == st.st_ino, (d, e.name)
            assert e.type == (DT_DIR if e.name in ("by-id", "type") or
                              os.path.isdir(m / d / e.name) else DT_REG)


def test_lseek_to_every_offset_gives_real_entries_or_the_end(tree):
    # Offsets that are no entry's d_off included: today's cursors are not
    # byte positions, but a kernel may be handed any number.
    m, dirs = tree
    for d in dirs:
        full = listing(m / d)
        # Beyond the last cursor, and beyond the bytes of the whole
        # listing had offsets been byte positions in it.
        top = max(max(e.off for e in full),
                  sum((24 + len(e.name) + 7) & ~7 for e in full)) + 16
        fd = os.open(m / d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for off in range(top + 1):
                assert os.lseek(fd, off, os.SEEK_SET) == off
                try:
                    got = read_to_end(fd)
                except OSError as e:
                    pytest.fail("%s at offset %d: %s" % (d, off, e))
                where = "%s at offset %d" % (d, off)
                check_real(got, full, where)
                assert got == after(full, off), where
        finally:
            os.close(fd)


@pytest.mark.parametrize("off", [2**31 - 1, 2**31, 2**31 + 3, 2**32,
                                 2**32 + 4, 2**40 + 1, 2**62, 2**63 - 2,
                                 2**63 - 1])
def test_huge_offsets_end_cleanly(tree, off):
    m, dirs = tree
    for d in dirs:
        full = listing(m / d)
        fd = os.open(m / d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.lseek(fd, off, os.SEEK_SET)
            got = read_to_end(fd)
            check_real(got, full, "%s at %d" % (d, off))
            assert got == after(full, off)
        finally:
            os.close(fd)


@pytest.mark.parametrize("off", [-1, -3, -2**31, -2**63])
def test_negative_offsets_are_refused_and_change_nothing(tree, off):
    # The kernel refuses them (lseek: EINVAL) before the daemon sees them;
    # the position stays where it was.
    m, dirs = tree
    for d in dirs:
        full = listing(m / d)
        fd = os.open(m / d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            first = getdents(fd, 24)  # "." alone: its record is 24 bytes
            assert [e.name for e in first] == ["."]
            with pytest.raises(OSError) as e:
                os.lseek(fd, off, os.SEEK_SET)
            assert e.value.errno == errno.EINVAL
            got = read_to_end(fd)
            check_real(got, full, "%s after lseek %d" % (d, off))
            assert got == full[1:]
        finally:
            os.close(fd)


def test_random_offsets_in_other_opens(tree):
    # Nothing is kept per open: an offset means the same in a new open,
    # read first at that offset.
    m, dirs = tree
    rng = random.Random(8)
    for d in dirs:
        full = listing(m / d)
        top = max(e.off for e in full)
        for off in [e.off for e in full] + [rng.randrange(top + 64)
                                            for _ in range(20)]:
            fd = os.open(m / d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.lseek(fd, off, os.SEEK_SET)
                got = read_to_end(fd)
            finally:
                os.close(fd)
            check_real(got, full, "%s at %d, new open" % (d, off))
            assert got == after(full, off), (d, off)


# ---------------------------------------------------------------- telldir


class _Dirent(ctypes.Structure):
    # glibc's struct dirent on 64-bit Linux.
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]


libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.POINTER(_Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.restype = None
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]


class Dir:
    """libc's DIR: opendir, readdir, telldir, seekdir."""

    def __init__(self, path):
        self.d = libc.opendir(os.fsencode(path))
        if not self.d:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))

    def read(self):
        """The next name, or None at the end."""
        ctypes.set_errno(0)
        p = libc.readdir(self.d)
        if not p:
            err = ctypes.get_errno()
            if err:
                raise OSError(err, os.strerror(err))
            return None
        return p.contents.d_name.decode()

    def tell(self):
        return libc.telldir(self.d)

    def seek(self, pos):
        libc.seekdir(self.d, pos)

    def close(self):
        libc.closedir(self.d)


def test_seekdir_to_telldir_round_trips(tree):
    m, dirs = tree
    rng = random.Random(10)
    for d in dirs:
        a = Dir(m / d)
        try:
            positions, names = [a.tell()], []
            while (name := a.read()) is not None:
                names.append(name)
                positions.append(a.tell())
            assert names == [e.name for e in listing(m / d)]
            order = list(range(len(positions)))
            rng.shuffle(order)
            for i in order:
                a.seek(positions[i])
                assert a.tell() == positions[i]
                assert a.read() == (names[i] if i < len(names) else None), \
                    (d, i)
        finally:
            a.close()
        # A position from one open is good in another, fresh one.
        for i in order:
            b = Dir(m / d)
            try:
                b.seek(positions[i])
                rest = []
                while (name := b.read()) is not None:
                    rest.append(name)
                assert rest == names[i:], (d, i)
            finally:
                b.close()


# ---------------------------------------------------------------- churn


def churn_pass(path, kind, doomed, made, size, make=40):
    """Reads path with getdents buffers of size bytes; between two reads
    makes one object (into made; make of them in all: new objects may land
    ahead of the reader, which would never end if they came as fast as it
    reads) and removes one of doomed.  Returns the entries read."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    got, key = [], 30000
    try:
        for _ in range(100000):
            part = getdents(fd, size)
            if not part:
                return got
            got += part
            if len(made) < make:
                key += 1
                made.append((key, ipc_raw.create(kind, key)))
            if doomed:
                ipc_raw.remove(kind, doomed.pop(len(doomed) // 2)[1])
        raise AssertionError("the listing does not end")
    finally:
        os.close(fd)


@pytest.mark.parametrize("by_id", [False, True], ids=["key", "by-id"])
@pytest.mark.parametrize("kind", ["sem", "mq"])
@pytest.mark.parametrize("size", [32, 40, 64, 200])
def test_listing_read_in_pieces_while_objects_come_and_go(ipcfs_mount, kind,
                                                           size, by_id):
    # 32 bytes hold one entry of any name here (a record is 19 bytes and
    # the name's, rounded up to 8).
    d = ipcfs_mount.path / kind
    if by_id:
        d = d / "by-id"
    stable, doomed, made = [], [], []
    for i in range(120):
        key = 1000 + i
        (stable if i % 2 else doomed).append((key, ipc_raw.create(kind, key)))
    private = [ipc_raw.create(kind) for _ in range(10)]
    everything = stable + doomed

    got = churn_pass(d, kind, doomed, made, size)
    everything += made
    name = (lambda k, i: str(i)) if by_id else (lambda k, i: str(k))
    names = [e.name for e in got]
    assert all(names), "an empty name"
    dup = [n for n, c in collections.Counter(names).items() if c > 1]
    assert not dup, "listed twice: %s" % dup
    assert names[:2] == [".", ".."]
    allowed = {".", ".."} | {name(k, i) for k, i in everything}
    allowed |= {str(i) for i in private} if by_id else {"by-id"}
    assert set(names) <= allowed, set(names) - allowed
    for key, ident in stable:
        assert name(key, ident) in names, "%s missing" % name(key, ident)
    if by_id:
        assert {str(i) for i in private} <= set(names)
    else:
        assert "by-id" in names
    # Inode numbers and types are those of the objects themselves.
    for e in got:
        assert e.type == DT_DIR, e.name
        if e.name not in (".", "..") and os.path.lexists(d / e.name):
            assert e.ino == os.stat(d / e.name).st_ino, e.name


def test_objects_removed_before_the_read_reaches_them_are_not_listed(
        ipcfs_mount):
    m = ipcfs_mount.path / "sem"
    gone = [ipc_raw.create("sem", 500 + i) for i in range(50)]
    kept = ipc_raw.create("sem", 999)
    for d in (m, m / "by-id"):
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            assert [e.name for e in getdents(fd, 24)] == ["."]
            if d == m:
                for ident in gone:
                    ipc_raw.remove("sem", ident)
            rest = [e.name for e in read_to_end(fd)]
        finally:
            os.close(fd)
        if d == m:
            assert rest == ["..", "by-id", "999"]
        else:
            assert rest == ["..", str(kept)]


def test_removed_object_directory_reads_enoent_or_real_entries(ipcfs_mount):
    d = ipcfs_mount.path / "sem" / "61"
    ident = ipc_raw.create("sem", 61, size=4)
    full = listing(d)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = getdents(fd, 24)
        ipc_raw.remove("sem", ident)
        ipc_raw.create("sem", 61, size=4)  # another object takes the key
        try:
            rest = read_to_end(fd)
        except OSError as e:
            assert e.errno == errno.ENOENT  # as a removed directory is
        else:
            check_real(first + rest, full, "removed sem/61")
    finally:
        os.close(fd)


# ---------------------------------------------------------------- memory


def test_open_directories_cost_the_daemon_no_memory(ipcfs_mount):
    # Each of these opens has read one entry of a listing of 10,000: a
    # daemon that kept the listing per open would hold 400 copies of it
    # (over 100 MiB).
    m = ipcfs_mount.path / "sem"
    for key in range(1, 10001):
        ipc_raw.create("sem", key)
    fds = []
    try:
        fd = os.open(m, os.O_RDONLY | os.O_DIRECTORY)
        fds.append(fd)
        getdents(fd, 24)
        before = ipc_raw.proc_status(ipcfs_mount.proc.pid, "VmRSS")
        for _ in range(400):
            fd = os.open(m, os.O_RDONLY | os.O_DIRECTORY)
            fds.append(fd)
            assert [e.name for e in getdents(fd, 24)] == ["."]
        grown = ipc_raw.proc_status(ipcfs_mount.proc.pid, "VmRSS") - before
        assert grown < 32 * 1024, "the daemon grew by %d KiB" % grown
        # And each still reads the whole listing.
        names = {e.name for e in read_to_end(fds[-1])}
        assert len(names) == 10000 + 2
    finally:
        for fd in fds:
            os.close(fd)
