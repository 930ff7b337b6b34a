"""ipcfs: listings of many objects are complete and correct.

How fast they are (ls -l of 10,000 and 20,000 semaphores, and whether that
is linear) is measured by scripts/bench fs, beside tmpfs: timings are never
asserted in tests."""

import subprocess

import ipc_raw


def make_sems(keys):
    for key in keys:
        assert ipc_raw.create("sem", key, 0o600) >= 0


def ls_l(path):
    return subprocess.run(["ls", "-l", str(path)], stdout=subprocess.PIPE,
                          check=True).stdout.decode().splitlines()


def test_ls_l_of_10000_and_20000_semaphores_lists_every_one(ipcfs_mount):
    sem = ipcfs_mount.path / "sem"
    make_sems(range(1, 10001))                    # sem/ lists these 10,000
    make_sems([ipc_raw.IPC_PRIVATE] * 10000)      # by-id/ lists all 20,000

    lines = ls_l(sem)
    assert len(lines) == 1 + 10000 + 1  # total, the sets, by-id
    names = sorted(int(l.split()[-1]) for l in lines[1:]
                   if not l.endswith("by-id"))
    assert names == list(range(1, 10001))
    assert all(l.startswith("drw-------") or l.startswith("drwx------")
               for l in lines[1:] if not l.endswith("by-id"))

    by_id = ls_l(sem / "by-id")
    assert len(by_id) == 1 + 20000
    assert len({l.split()[-1] for l in by_id[1:]}) == 20000
