"""How bench/fs.py measures (dd, open+read+close, stat, ls) and the table
it reports in."""

import os
import re
import subprocess
import time

import benchlib  # beside this file: its directory is sys.path[0]

DD_RE = re.compile(r"^(\d+) bytes.* copied, ([0-9.e+-]+) s", re.M)


def dd(args):
    """Runs dd with args; returns MB/s (10^6 bytes per second)."""
    r = subprocess.run(["dd", *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"dd {' '.join(args)}: {r.stderr.strip()}")
    m = DD_RE.search(r.stderr)
    if not m:
        raise RuntimeError(f"cannot parse dd output: {r.stderr!r}")
    return int(m.group(1)) / float(m.group(2)) / 1e6


def dd_read(path):
    return dd([f"if={path}", "of=/dev/null", "bs=1M"])


def dd_write(path, mib):
    """Writes mib MiB of zeros over the start of path."""
    return dd(["if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}",
               "conv=notrunc"])


def open_read_close_us(path, target, repeat):
    def run(n):
        op, rd, cl, flags = os.open, os.read, os.close, os.O_RDONLY
        for _ in range(n):
            fd = op(path, flags)
            rd(fd, 4096)
            cl(fd)
    n, t = benchlib.measure(run, target, repeat)
    return t * 1e6 / n


def stat_us(path, target, repeat):
    def run(n):
        st = os.stat
        for _ in range(n):
            st(path)
    n, t = benchlib.measure(run, target, repeat)
    return t * 1e6 / n


def time_ls(path, flag):
    """Seconds of `ls flag path` (output discarded)."""
    t0 = time.perf_counter()
    subprocess.run(["ls", flag, path], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


class Report:
    """The table's rows (and their results for --json), errors, notes."""

    def __init__(self):
        self.rows = []
        self.results = []
        self.errors = []
        self.notes = []

    def add(self, what, fs, ref, ratio, target="", ok=None, **extra):
        self.rows.append([what, fs, ref, ratio, target, benchlib.status(ok)])
        self.results.append({"what": what, "fs": fs, "reference": ref,
                             "ratio": ratio, "target": target, "met": ok,
                             **extra})

    def error(self, what, e, target=""):
        text = f"{type(e).__name__}: {e}"
        self.errors.append(f"{what}: {text}")
        self.add(what, "error", "", "", target, False if target else None,
                 error=text)

    def print(self):
        benchlib.table(["measure", "ipcfs", "reference", "ratio", "target",
                        "status"], self.rows)
        for e in self.errors:
            print(f"error: {e}")
