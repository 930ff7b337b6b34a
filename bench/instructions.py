"""scripts/bench instr — user-space instructions per operation of the
sysv_ipc module and of upstream sysv_ipc, counted by callgrind.

On a loaded machine clocks wander by several percent; instruction counts
do not.  Each operation of bench/module_ops.py runs LOW and HIGH times
under `valgrind --tool=callgrind` (in a process of its own, with a fixed
hash seed so that start-up costs the same both times), and the difference
of the two totals over HIGH - LOW is the cost of one operation: the
interpreter's loop and call, the module's code, libc's system call
wrappers.  Not the kernel's side, which callgrind does not see: both
modules make the same system calls for each of these (strace them to
check).  Upstream is built as for scripts/bench python (--upstream PATH).

Runs in a private IPC namespace (re-executes itself under `unshare --ipc`
when root).  Slow (valgrind): about 10 s an operation and module.  Reports,
never asserts.

usage: scripts/bench instr [--module-dir DIR] [--upstream PATH]
                           [--no-upstream] [--low N] [--high N] [NAME...]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import benchlib  # beside this file: its directory is sys.path[0]
import upstream

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_OPS = os.path.join(HERE, "module_ops.py")

# The operations counted by default: those upstream ran faster (issue 10)
# and, for scale, the two pairs of calls.
DEFAULT = ["sem_value_get", "sem_value_set", "sem_create_remove",
           "mq_create_remove", "mq_current_messages", "shm_view_read_4k",
           "shm_view_once_read_4k", "sem_acquire_release",
           "mq_send_receive_1"]


def instructions(module_dir, name, n, extra, tmp):
    """Total instructions callgrind counts for a process running name n
    times, or None (and why) if it failed."""
    out = os.path.join(tmp, "callgrind.out")
    env = dict(os.environ, PYTHONHASHSEED="0")
    env[benchlib.NS_ENV] = "1"
    r = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         sys.executable, MODULE_OPS, "--module-dir", module_dir,
         "--run", name, str(n), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=env)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1:] or ["failed"]
    with open(out) as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1]), None
    return None, ["no summary in callgrind's output"]


def per_op(module_dir, name, low, high, extra, tmp):
    a, why = instructions(module_dir, name, low, extra, tmp)
    if a is None:
        return None, why
    b, why = instructions(module_dir, name, high, extra, tmp)
    if b is None:
        return None, why
    return (b - a) / (high - low), None


def main():
    ap = argparse.ArgumentParser(
        prog="scripts/bench instr",
        description="Instructions per operation, module and upstream, "
                    "counted by callgrind.")
    ap.add_argument("--module-dir", default=None,
                    help="where to import sysv_ipc from "
                         "(default $IPCFS_BUILD/python)")
    ap.add_argument("--upstream", metavar="PATH", default=None,
                    help="upstream's source (default "
                         "../shared/upstream/sysv_ipc-1.1.0)")
    ap.add_argument("--no-upstream", action="store_true")
    ap.add_argument("--low", type=int, default=5000)
    ap.add_argument("--high", type=int, default=25000)
    ap.add_argument("--quick", action="store_true",
                    help="fewer runs of each (1000 and 3000)")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="operations of bench/module_ops.py (default: "
                         + ", ".join(DEFAULT) + ")")
    args = ap.parse_args()
    if args.quick:
        args.low, args.high = 1000, 3000
    where_ns = benchlib.private_ipc(os.path.abspath(__file__), sys.argv[1:])
    if not shutil.which("valgrind"):
        print("bench instr: valgrind not found (apt-get install valgrind)",
              file=sys.stderr)
        return 1
    module_dir = (benchlib.user_path(args.module_dir) if args.module_dir
                  else os.path.join(benchlib.build_dir(), "python"))
    source = None
    if not args.no_upstream:
        source = (benchlib.user_path(args.upstream) if args.upstream
                  else os.path.normpath(upstream.DEFAULT_SOURCE))
    names = args.names or DEFAULT
    print("== instructions per operation (callgrind, user space) ==")
    print(f"objects: {where_ns}; module: {module_dir}; runs of "
          f"{args.low:,} and {args.high:,}")
    rows, failed = [], False
    with upstream.Build(source, sys.executable) as up, \
            tempfile.TemporaryDirectory(prefix="ipcfs-bench-instr-") as tmp:
        if up.module_dir:
            print(f"upstream: sysv_ipc {up.version} built from {up.source}")
        else:
            print(f"upstream: ABSENT, its column says so: {up.absent}")
        print()
        for name in names:
            print(f"  {name} ...", file=sys.stderr, flush=True)
            ours, why = per_op(module_dir, name, args.low, args.high, [],
                               tmp)
            if ours is None:
                failed = True
                print(f"error: {name}: {' '.join(why)}")
            theirs = None
            if up.module_dir:
                theirs, why = per_op(up.module_dir, name, args.low,
                                     args.high, ["--shm-detach"], tmp)
                if theirs is None:
                    print(f"error: {name} (upstream): {' '.join(why)}")
            both = ours is not None and theirs is not None
            rows.append([name,
                         "error" if ours is None else f"{ours:.0f}",
                         ("absent" if not up.module_dir else "error"
                          if theirs is None else f"{theirs:.0f}"),
                         (f"{ours - theirs:+.0f}" if both else "-"),
                         benchlib.fmt_ratio(ours / theirs if both else None)])
    benchlib.table(["operation", "module", "upstream", "difference",
                    "module/upstream"], rows)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench instr: interrupted", file=sys.stderr)
        sys.exit(130)
