"""Helpers shared by the benchmark programs beside this file (python.py,
fs.py, peek.py), which scripts/bench runs.

Benchmarks report; they never assert.  A target that is missed is printed
as "missed", and the scripts still exit 0 (non-zero only when a benchmark
could not run at all).
"""

import gc
import os
import shutil
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Set in the environment of the re-executed script once it runs in its own
# IPC namespace, so that it does not unshare again.
NS_ENV = "IPCFS_BENCH_PRIVATE_IPC"


def user_path(path):
    """A path the user gave on the command line, made absolute against the
    directory they were in: scripts/bench runs the parts from the project's
    top and says where that was in $IPCFS_BENCH_CWD."""
    return os.path.join(os.environ.get("IPCFS_BENCH_CWD", os.getcwd()),
                        path)


def build_dir():
    """$IPCFS_BUILD (default "build"), relative to the project's top."""
    return os.path.join(TOP, os.environ.get("IPCFS_BUILD", "build"))


def private_ipc(script, argv, extra=()):
    """Re-executes script in a private IPC namespace (and, with extra,
    e.g. ("--mount",), other namespaces) when we are root and not there yet.

    Returns a note for the report: where the objects live."""
    if os.environ.get(NS_ENV) == "1":
        return "private IPC namespace"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return ("current IPC namespace (not root: run under "
                "`unshare --ipc` for a private one)")
    env = dict(os.environ)
    env[NS_ENV] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    args = ["unshare", "--ipc", *extra, "--", sys.executable, script, *argv]
    os.execvpe("unshare", args, env)
    return None  # not reached


def machine():
    """One line on the machine, to judge the numbers' noise by: CPUs,
    kernel, and the load average (other work on a shared machine)."""
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return (f"machine: {os.cpu_count()} CPUs, kernel {os.uname().release}, "
            f"load average {load}")


def rss_kib_self():
    """Resident set size of this process in KiB (/proc/self/statm)."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") // 1024


def vmrss_kib(pid):
    """VmRSS of process pid in KiB (/proc/<pid>/status), None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# The clocks measure() can time with: "cpu" is the process's user + system
# time, which other programs on a busy machine do not inflate; "wall" is
# elapsed time.  raw-ipc's --clock takes the same names.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def measure(run, target=0.5, repeat=3, clock="wall"):
    """Times run(n), which does one operation n times, on clock (a name in
    CLOCKS).

    n grows until a run lasts target/20 seconds, is then scaled to last
    about target seconds, and the fastest of repeat runs is kept (the
    garbage collector is off while timing, as timeit does).  Returns
    (n, seconds)."""
    now = CLOCKS[clock]
    enabled = gc.isenabled()
    gc.disable()
    try:
        n = 1
        while True:
            t0 = now()
            run(n)
            t = now() - t0
            if t >= target / 20:
                break
            n *= int(target / 20 / t) + 2 if t > 0 else 16
        n = max(1, int(n * target / t))
        best = None
        for _ in range(repeat):
            t0 = now()
            run(n)
            t = now() - t0
            best = t if best is None else min(best, t)
        return n, best
    finally:
        if enabled:
            gc.enable()


def fmt_rate(ops_per_sec):
    """2.75e6 -> '2.75 M/s'."""
    if ops_per_sec is None:
        return "-"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if ops_per_sec >= scale:
            return f"{ops_per_sec / scale:.3g} {unit}/s"
    return f"{ops_per_sec:.3g} /s"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def status(ok):
    """'met', 'MISSED', or '' when there is no target or no number."""
    if ok is None:
        return ""
    return "met" if ok else "MISSED"


def table(headers, rows, out=sys.stdout):
    """Prints rows (lists of str) under headers, first column left-aligned,
    the others right-aligned except the last two (target, status)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    left = {0, len(headers) - 2, len(headers) - 1}

    def line(cells):
        parts = []
        for i, cell in enumerate(cells):
            parts.append(cell.ljust(widths[i]) if i in left
                         else cell.rjust(widths[i]))
        return "  ".join(parts).rstrip()

    print(line(headers), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line(row), file=out)


# ---------------------------------------------------------------- raw IPC
# Bare system calls through ctypes, so that fs.py (scripts/bench fs) can
# make and remove objects without depending on the module it does not
# measure: the project's one raw-IPC wrapper, tests/helpers/ipc_raw.py,
# which imports nothing of the test suite.

sys.path.insert(0, os.path.join(TOP, "tests", "helpers"))
from ipc_raw import (IPC_CREAT, IPC_EXCL, IPC_NOWAIT,  # noqa: E402,F401
                     IPC_RMID, MsgBuf, RawIpc, shm_fill)
