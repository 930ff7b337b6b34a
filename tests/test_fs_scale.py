"""ipcfs: listings stay fast and linear with many objects (ls -l of 10,000
semaphores in under a second)."""

import ctypes
import subprocess
import time

import ipc_raw

libc = ipc_raw.libc


def make_sems(first, count):
    for key in range(first, first + count):
        assert libc.semget(key, 1, ipc_raw.IPC_CREAT | 0o600) >= 0, \
            ctypes.get_errno()


def best_of(runs, argv):
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.PIPE, check=True)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    return best, r.stdout


def test_ls_l_of_10000_semaphores_is_fast_and_linear(ipcfs_mount, ipcfs_bin):
    # An ASan+UBSan daemon is several times slower: the bound is for the
    # real build; the instrumented one is held to linearity.
    limit = 3.0 if b"__asan_init" in ipcfs_bin.read_bytes() else 1.0
    sem = str(ipcfs_mount.path / "sem")
    make_sems(1, 10000)
    t1, out = best_of(5, ["ls", "-l", sem])
    lines = out.decode().splitlines()
    assert len(lines) == 1 + 10000 + 1  # total, the sets, by-id
    assert all(l.startswith("drw-------") or l.startswith("drwx------")
               for l in lines[1:] if not l.endswith("by-id"))
    assert t1 < limit, "ls -l of 10,000 took %.2f s" % t1

    make_sems(10001, 10000)
    t2, out = best_of(5, ["ls", "-l", sem])
    assert len(out.splitlines()) == 1 + 20000 + 1
    # Twice the objects, about twice the time: clearly less than the four
    # times of anything quadratic (with room for a noisy machine).
    assert t2 < 3.5 * t1 + 0.1, "10k: %.3f s, 20k: %.3f s" % (t1, t2)

    t3, out = best_of(3, ["ls", sem + "/by-id"])
    assert len(out.splitlines()) == 20000
    assert t3 < 0.5 * limit
