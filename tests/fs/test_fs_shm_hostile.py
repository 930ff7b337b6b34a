"""shm/<key>/data against hostile or unlucky callers (issue 8).

No caller may kill or wedge the daemon, or starve other users of it:

- A SHM_HUGETLB|SHM_NORESERVE segment on a machine without free huge
  pages has no page behind it: a store into it would be SIGBUS.  Writes
  through data get ENOSPC, reads of the hole get zeros, truncation works
  (a hole is zero already), and the daemon lives on, in every data mode
  and in a daemon without CAP_SYS_ADMIN (which keeps an attachment).
- A NORESERVE segment larger than RAM and swap together is read, written
  and truncated without the daemon touching what it does not need.
- Data files cost the daemon one page of address space per segment, not
  the segment: a user holding files of segments bigger than the address
  space leaves root's reads working.
- Descriptors: one user may hold data files of at most 1024 segments at
  once (EMFILE beyond), others are not affected.  A daemon without
  CAP_SYS_ADMIN holds at most 1 TiB of attachments per user (ENOMEM).

Unprivileged callers run as nobody through an allow_other mount.
"""

import ctypes
import json
import os
import resource
import subprocess
import sys

import pytest

import ipc_raw as raw
from fs_paths import as_nobody
from hugepages import (NR_HUGEPAGES, NR_OVERCOMMIT_HUGEPAGES,
                       huge_pages_lock, meminfo, read_int, write_int)
from nobody_daemon import NobodyDaemon
from suite import FS_CHILDREN, Mount, wait_until

KEY = 4545
SHM_HUGETLB = 0o4000
SHM_NORESERVE = 0o10000
TIB = 1 << 40


def call(ops, user=True):
    """Runs ops in a caller process (as nobody if user); returns the list
    of results."""
    done = subprocess.run(
        [sys.executable, str(FS_CHILDREN / "caller.py"), json.dumps(ops)],
        capture_output=True, text=True, timeout=120,
        preexec_fn=as_nobody if user else None)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def finish(holder):
    """Ends a process that holds files until its stdin closes; kills it
    if it does not end."""
    holder.stdin.close()
    try:
        holder.wait(timeout=30)
    except subprocess.TimeoutExpired:
        holder.kill()
        holder.wait()
    holder.stdout.close()
    holder.stderr.close()


def data(mount_path, key):
    return str(mount_path / "shm" / str(key) / "data")


def alive(mount):
    """The daemon still runs and answers."""
    assert mount.proc.poll() is None, mount.output()
    os.listdir(mount.path / "shm")


def vm_size(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize")


def create(key, size, flags=0, mode=0o666):
    shmid = raw.libc.shmget(key, size, raw.IPC_CREAT | raw.IPC_EXCL | mode |
                            flags)
    if shmid < 0:
        err = ctypes.get_errno()
        raise OSError(err, "shmget: " + os.strerror(err))
    return shmid


def threads_state(pid):
    """Where each thread of pid is (for a failure message)."""
    lines = []
    for tid in sorted(os.listdir("/proc/%d/task" % pid)):
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                wchan = f.read()
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                syscall = f.read().split()[0]
        except OSError as e:
            wchan, syscall = str(e), "?"
        lines.append("%s: %s syscall %s" % (tid, wchan, syscall))
    return "\n".join(lines)


def stop(daemon):
    """Unmounts a NobodyDaemon and checks that it was alive, and exits 0
    and quietly."""
    assert daemon.proc.poll() is None, daemon.output()
    daemon.unmount()
    try:
        code = daemon.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the daemon did not exit after unmount:\n%s\n%s"
                    % (threads_state(daemon.proc.pid), daemon.output()))
    assert code == 0, daemon.output()
    assert "rror" not in daemon.output()


# ---------------------------------------------------------------- hugetlb


def _huge_page_size():
    return meminfo().get("Hugepagesize", 0) * 1024


@pytest.fixture
def no_huge_pages():
    """The machine with no huge page to give: nr_hugepages and
    nr_overcommit_hugepages 0 for the test, restored after it on every
    path.  Yields the huge page size; skips where the kernel cannot make
    SHM_HUGETLB|SHM_NORESERVE segments.  The pool is the machine's: the
    test holds the lock suites beside this one take turns on it with."""
    size = _huge_page_size()
    if size == 0 or not os.path.exists(NR_HUGEPAGES):
        pytest.skip("the kernel has no huge pages (no Hugepagesize)")
    with open("/proc/filesystems") as f:
        if "hugetlbfs" not in f.read():
            pytest.skip("the kernel has no hugetlbfs")
    with huge_pages_lock():
        saved = [(p, read_int(p))
                 for p in (NR_HUGEPAGES, NR_OVERCOMMIT_HUGEPAGES)
                 if os.path.exists(p)]
        try:
            for p, _ in saved:
                write_int(p, 0)
            try:
                probe = create(raw.IPC_PRIVATE, size,
                               SHM_HUGETLB | SHM_NORESERVE)
            except OSError as e:
                pytest.skip("cannot make a SHM_HUGETLB|SHM_NORESERVE "
                            "segment: %s" % e)
            raw.remove("shm", probe)
            yield size
        finally:
            for p, value in saved:
                write_int(p, value)


MODES = {"auto": (), "fallback": ("-o", "data=fallback"),
         "passthrough": ("-o", "data=passthrough")}


def hole_ops(path, size):
    """A write into the hole, reads of it, every zero-fill, and a write
    at the end: the caller's view of a segment with no page to give."""
    return [
        ["open", "f", path, "O_RDWR"],
        ["pwrite", "f", "x", 0],
        ["pwrite", "f", "y" * 100, size - 100],
        ["pread", "f", 16, 0],
        ["pread", "f", 8, size - 8],
        ["close", "f"],
        ["truncate", path, 0],
        ["truncate", path, 4096 + 1],
        ["echo", path, "hi\n"],
        ["stat", path],
    ]


def assert_hole_results(got, size):
    assert got == ["ok", "ENOSPC", "ENOSPC", "00" * 16, "00" * 8, "ok",
                   "ok", "ok", "ENOSPC", size], got


def exercise_huge_hole(mount, size, shmid):
    """The hole, as nobody and as root; then, with a huge page to give,
    the same file writes and zero-fills it."""
    path = data(mount.path, KEY)
    assert_hole_results(call(hole_ops(path, size)), size)
    assert_hole_results(call(hole_ops(path, size), user=False), size)
    alive(mount)

    write_int(NR_HUGEPAGES, 1)  # one page: now there is one to give
    if read_int(NR_HUGEPAGES) != 1:
        pytest.skip("the kernel could not make a huge page now")
    got = call([["open", "f", path, "O_RDWR"],
                ["pwrite", "f", "huge", size - 4],
                ["pread", "f", 4, size - 4],
                ["pwrite", "f", "abc", 0],
                ["close", "f"],
                ["truncate", path, 1],
                ["open", "r", path, "O_RDONLY"],
                ["pread", "r", 4, 0],
                ["pread", "r", 4, size - 4],
                ["close", "r"]])
    assert got == ["ok", 4, b"huge".hex(), 3, "ok", "ok", "ok",
                   b"a\0\0\0".hex(), "00" * 4, "ok"], got
    with raw.Attached(shmid) as att:  # the page exists: safe to load
        assert att.read(0, 4) == b"a\0\0\0"
        assert att.read(size - 4, 4) == bytes(4)
    alive(mount)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_huge_page_hole_cannot_kill_the_daemon(mount_ipcfs, no_huge_pages,
                                               mode):
    """One byte written by an unprivileged user killed the daemon with
    SIGBUS; now it is ENOSPC, reads of the hole are zeros, truncation works
    (a hole is zero already), and the daemon lives on.  Then, with a huge
    page to give, the same file writes and zero-fills it."""
    size = no_huge_pages
    mount = mount_ipcfs("-o", "allow_other", *MODES[mode])
    shmid = create(KEY, size, SHM_HUGETLB | SHM_NORESERVE)
    try:
        exercise_huge_hole(mount, size, shmid)
    finally:
        raw.remove("shm", shmid)


def test_huge_page_hole_in_a_daemon_without_cap_sys_admin(ipcfs_bin,
                                                          no_huge_pages):
    """A daemon that cannot open the segment's file keeps an attachment;
    its loads and stores are guarded the same way: ENOSPC, zeros, no
    SIGBUS."""
    size = no_huge_pages
    shmid = create(KEY, size, SHM_HUGETLB | SHM_NORESERVE)
    daemon = NobodyDaemon(ipcfs_bin)
    try:
        path = os.path.join(daemon.path, "shm", str(KEY), "data")
        assert wait_until(lambda: os.path.exists(path))
        assert_hole_results(call(hole_ops(path, size)), size)
        stop(daemon)
    finally:
        daemon.close()
        raw.remove("shm", shmid)


# ---------------------------------------------------------------- NORESERVE


def ram_and_swap():
    info = meminfo()
    return (info["MemTotal"] + info["SwapTotal"]) * 1024


def test_noreserve_segment_larger_than_memory(mount_ipcfs):
    """A NORESERVE segment twice the size of RAM and swap: reads of its
    holes, writes at both ends, truncations and O_TRUNC all work without
    allocating the holes (zero-filling them would run the machine out of
    memory long before the end): the segment keeps no more pages than
    were written."""
    size = 2 * ram_and_swap() // raw.PAGE * raw.PAGE
    mount = mount_ipcfs("-o", "allow_other")
    shmid = create(KEY, size, SHM_NORESERVE)
    try:
        path = data(mount.path, KEY)
        got = call([["open", "f", path, "O_RDWR"],
                    ["pwrite", "f", "first", 0],
                    ["pwrite", "f", "last!", size - 5],
                    ["pread", "f", 5, size - 5],
                    ["pread", "f", 16, size // 2],
                    ["stat", path],
                    ["truncate", path, size - 2],
                    ["pread", "f", 5, size - 5],
                    ["echo", path, "hi"],
                    ["pread", "f", 5, 0],
                    ["pread", "f", 5, size - 5]])
        assert got == ["ok", 5, 5, b"last!".hex(), "00" * 16, size, "ok",
                       b"las\0\0".hex(), 2, b"hi\0\0\0".hex(), "00" * 5
                       ], got
        with open("/proc/sysvipc/shm") as f:  # rss column: nothing left
            row = [r.split() for r in f if r.split()[1] == str(shmid)][0]
        assert int(row[14]) <= 2 * raw.PAGE
        alive(mount)
    finally:
        raw.remove("shm", shmid)


# ---------------------------------------------------------------- starving


def test_open_files_take_one_page_of_address_space(mount_ipcfs):
    """A user holding data files of segments bigger than the daemon's
    whole address space (8 x 32 TiB > 128 TiB) open: root's 4 KiB read of
    another segment still works, and the daemon's address space stays
    small."""
    mount = mount_ipcfs("-o", "allow_other")
    big = [create(KEY + 1 + i, 32 * TIB, SHM_NORESERVE) for i in range(8)]
    small = create(KEY, raw.PAGE, mode=0o600)
    raw.shm_write(small, b"root's data")
    holder = None
    try:
        holder = subprocess.Popen(
            [sys.executable, str(FS_CHILDREN / "holder.py"), "O_RDWR",
             *[data(mount.path, KEY + 1 + i) for i in range(8)]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, preexec_fn=as_nobody)
        assert holder.stdout.readline().strip() == "8", holder.stderr.read()
        assert vm_size(mount.proc.pid) < 32 * TIB
        # still one attachment each (what keeps a segment while open)
        assert [raw.shm_nattch(s) for s in big] == [1] * 8
        with open(data(mount.path, KEY), "rb") as f:
            assert f.read(4096)[:11] == b"root's data"
        alive(mount)
    finally:
        if holder is not None:
            finish(holder)
        for shmid in big + [small]:
            raw.remove("shm", shmid)


SEGS_PER_USER = 1024


def test_segments_per_user_are_capped(mount_ipcfs):
    """One user may hold data files of 1024 segments at once: the next
    segment is EMFILE (a second file of one it holds is not), root is not
    affected, and a close makes room again."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < SEGS_PER_USER + 64:
        pytest.skip("RLIMIT_NOFILE hard limit %d is too low" % hard)
    mount = mount_ipcfs("-o", "allow_other")
    ids = [create(KEY + i, raw.PAGE) for i in range(SEGS_PER_USER + 1)]
    try:
        ops = [["open", i, data(mount.path, KEY + i), "O_RDONLY"]
               for i in range(SEGS_PER_USER + 1)]
        last = data(mount.path, KEY + SEGS_PER_USER)
        ops += [["open", "again", data(mount.path, KEY), "O_RDWR"],
                ["close", 0],
                ["open", "still", last, "O_RDONLY"],  # "again" holds it
                ["close", "again"],
                ["open_after_release", "retry", last, "O_RDONLY"]]
        got = call(ops)
        assert got[:SEGS_PER_USER] == ["ok"] * SEGS_PER_USER
        assert got[SEGS_PER_USER:] == ["EMFILE", "ok", "ok", "EMFILE", "ok",
                                       "ok"], got[SEGS_PER_USER:]
        # A holder that keeps them open while root opens the same ones.
        holder = subprocess.Popen(
            [sys.executable, str(FS_CHILDREN / "holder.py"), "O_RDONLY",
             *[data(mount.path, KEY + i) for i in range(SEGS_PER_USER)]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: (resource.setrlimit(resource.RLIMIT_NOFILE,
                                                   (hard, hard)),
                                as_nobody()))
        try:
            assert holder.stdout.readline().strip() == str(SEGS_PER_USER), \
                holder.stderr.read()
            assert call([["open", "x", last, "O_RDONLY"]]) == ["EMFILE"]
            assert call([["open", "x", last, "O_RDONLY"],
                         ["open", "y", data(mount.path, KEY), "O_RDONLY"]],
                        user=False) == ["ok", "ok"]
        finally:
            finish(holder)
        alive(mount)
    finally:
        for shmid in ids:
            raw.remove("shm", shmid)


def test_attached_bytes_per_user_are_capped(ipcfs_bin):
    """A daemon without CAP_SYS_ADMIN attaches segments (it cannot open
    their files): one user's attachments are capped at 1 TiB, ENOMEM
    beyond; another user (root) still gets its own."""
    seg_a = create(KEY, 768 << 30, SHM_NORESERVE)
    seg_b = create(KEY + 1, 768 << 30, SHM_NORESERVE)
    daemon = NobodyDaemon(ipcfs_bin)
    try:
        a = os.path.join(daemon.path, "shm", str(KEY), "data")
        b = os.path.join(daemon.path, "shm", str(KEY + 1), "data")
        assert wait_until(lambda: os.path.exists(a))
        got = call([["open", "a", a, "O_RDWR"],
                    ["open", "b", b, "O_RDWR"],
                    ["pwrite", "a", "ok", 0],
                    ["open", "a2", a, "O_RDONLY"],
                    ["close", "a"],
                    ["open", "b", b, "O_RDWR"]])
        assert got == ["ok", "ENOMEM", 2, "ok", "ok", "ENOMEM"], got
        assert call([["open", "b", b, "O_RDWR"], ["pwrite", "b", "root", 0]],
                    user=False) == ["ok", 4]
        stop(daemon)
    finally:
        daemon.close()
        raw.remove("shm", seg_a)
        raw.remove("shm", seg_b)


# ---------------------------------------------------------------- windows

CAP_SYS_PTRACE = 19
CAP_SYS_RESOURCE = 24


def limited_daemon(ipcfs_bin, args, caps, fsize=None):
    """A Mount of ipcfs run as root without the capabilities caps (their
    numbers) and with a hard file size limit fsize it then cannot raise
    (children/limited_daemon.py); unmount() it."""
    return Mount(FS_CHILDREN / "limited_daemon.py",
                 [",".join(map(str, caps)),
                  "none" if fsize is None else str(fsize),
                  str(ipcfs_bin), *args])


def test_huge_page_zero_fill_without_userfaultfd(ipcfs_bin,
                                                 no_huge_pages):
    """A daemon that may not use userfaultfd for telling holes from pages
    (no CAP_SYS_PTRACE, vm.unprivileged_userfaultfd 0) zero-fills a huge
    page segment by reading it: the same results, nothing allocated."""
    with open("/proc/sys/vm/unprivileged_userfaultfd") as f:
        if f.read().strip() != "0":
            pytest.skip("vm.unprivileged_userfaultfd lets anyone use it")
    size = no_huge_pages
    shmid = create(KEY, size, SHM_HUGETLB | SHM_NORESERVE)
    mount = limited_daemon(ipcfs_bin, ["-o", "allow_other"],
                           [CAP_SYS_PTRACE])
    try:
        exercise_huge_hole(mount, size, shmid)
    finally:
        mount.unmount()
        raw.remove("shm", shmid)


def test_daemon_with_a_hard_file_size_limit_writes_through_windows(
        ipcfs_bin):
    """A daemon that may not pwrite() past 1 MiB (a hard RLIMIT_FSIZE it
    cannot raise; pwrite past it would be EFBIG and SIGXFSZ) writes and
    zero-fills a 4 MiB segment through mappings of its pages, and a write
    where no page can be had is still an error, not a signal."""
    size = 4 << 20
    shmid = create(KEY, size, mode=0o600)
    mount = limited_daemon(ipcfs_bin, [], [CAP_SYS_RESOURCE],
                           fsize=1 << 20)
    try:
        with open("/proc/%d/limits" % mount.proc.pid) as f:
            assert any(line.startswith("Max file size") and
                       line.split()[3] == str(1 << 20) for line in f)
        payload = os.urandom(size)
        path = data(mount.path, KEY)
        with open(path, "r+b", buffering=0) as f:
            assert f.write(payload) == size
        with raw.Attached(shmid) as att:
            assert att.read() == payload
            os.truncate(path, 3 << 20)
            assert att.read(0, 3 << 20) == payload[:3 << 20]
            assert att.read(3 << 20) == bytes(1 << 20)
        alive(mount)
    finally:
        mount.unmount()
        raw.remove("shm", shmid)
