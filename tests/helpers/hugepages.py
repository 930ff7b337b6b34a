"""The machine's huge page pool, for the tests of huge page segments."""

import contextlib
import fcntl
import os

import pytest

NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
NR_OVERCOMMIT_HUGEPAGES = "/proc/sys/vm/nr_overcommit_hugepages"
# The huge page pool is the machine's, not the namespace's: suites running
# side by side (other worktrees, CI) take turns on it through this lock.
HUGE_PAGES_LOCK = "/run/lock/ipcfs-tests-huge-pages.lock"


def meminfo():
    """/proc/meminfo as {name: number} (kB where the kernel says kB)."""
    with open("/proc/meminfo") as f:
        return {line.split(":")[0]: int(line.split()[1]) for line in f}


@contextlib.contextmanager
def huge_pages_lock():
    """Holds the machine-wide lock on the huge page pool."""
    if not os.path.exists(NR_HUGEPAGES):
        pytest.skip("this kernel has no huge pages (no hugetlbfs)")
    os.makedirs(os.path.dirname(HUGE_PAGES_LOCK), exist_ok=True)
    fd = os.open(HUGE_PAGES_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_int(path):
    with open(path) as f:
        return int(f.read())


def write_int(path, value):
    with open(path, "w") as f:
        f.write("%d" % value)


@contextlib.contextmanager
def reserve_huge_pages(count):
    """Adds count free huge pages to the pool for the block and gives the
    pool back as it was, on every path.  Skips, saying why, where the kernel
    has no huge pages or cannot find the memory for them now (it may not,
    on a machine short of memory or with it fragmented)."""
    with huge_pages_lock():
        before = read_int(NR_HUGEPAGES)
        try:
            try:
                write_int(NR_HUGEPAGES, before + count)
            except OSError as e:
                pytest.skip("cannot add huge pages: %s" % e)
            free = meminfo()["HugePages_Free"] - meminfo()["HugePages_Rsvd"]
            if free < count:
                pytest.skip("the kernel found memory for %d of %d huge "
                            "pages" % (max(free, 0), count))
            yield
        finally:
            write_int(NR_HUGEPAGES, before)
