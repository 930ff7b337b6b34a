"""scripts/bench python — the sysv_ipc module against bare system calls.

Runs each operation with `import sysv_ipc` (from $IPCFS_BUILD/python,
default build/python) and the same operation in C (build/bench/raw-ipc),
and prints ops/s for both and the ratio module time / raw time, beside the
targets.  Then checks memory: RSS before and after --ops mixed operations.

Runs in a private IPC namespace (re-executes itself under `unshare --ipc`
when root); every object it makes is IPC_PRIVATE and removed.  Reports,
never asserts: exit status 0 unless something could not run.

usage: scripts/bench python [--quick] [--time S] [--repeat N] [--ops N]
                            [--module-dir DIR] [--json FILE] [NAME...]
"""

import argparse
import gc
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import benchlib  # beside this file: its directory is sys.path[0]

MIB = 1 << 20

# name, what the module does, name of the raw-ipc benchmark it compares to.
# The create rows compare with the calls the contract requires of the
# constructor (spec/python-api.md): SETVAL for Semaphore; shmat, the fill
# with init_character and the shmdt on deallocation for SharedMemory.
BENCHES = [
    ("sem_acquire_release", "sem acquire()+release()", "sem_acquire_release"),
    ("sem_value_get", "sem .value get", "sem_value_get"),
    ("sem_value_set", "sem .value = 1", "sem_value_set"),
    ("sem_create_remove", "Semaphore(PRIVATE, CREX).remove()",
     "sem_create_remove_full"),
    ("shm_create_remove", "SharedMemory(PRIVATE, CREX).remove()",
     "shm_create_remove_full"),
    ("mq_create_remove", "MessageQueue(PRIVATE, CREX).remove()",
     "mq_create_remove"),
    ("shm_write_read_64", "shm write+read 64 B", "shm_write_read_64"),
    ("shm_write_read_4k", "shm write+read 4 KiB", "shm_write_read_4k"),
    ("shm_write_read_1m", "shm write+read 1 MiB", "shm_write_read_1m"),
    ("shm_view_read_4k", "bytes(memoryview(shm)[:4096])", "shm_view_read_4k"),
    ("shm_view_once_read_4k", "bytes(view[:4096]), view made once",
     "shm_view_read_4k"),
    ("mq_send_receive_1", "mq send+receive 1 B", "mq_send_receive_1"),
    ("mq_send_receive_64", "mq send+receive 64 B", "mq_send_receive_64"),
    ("mq_send_receive_8k", "mq send+receive 8 KiB", "mq_send_receive_8k"),
]

# The bare get+IPC_RMID pairs, printed under the table.
BARE_CREATE = ["sem_create_remove", "shm_create_remove"]

# name -> (text, check(raw_ops, module_ops, ratio) -> bool)
TARGETS = {
    "sem_acquire_release": ("<= 1.10x raw", lambda r, m, x: x <= 1.10),
    "mq_send_receive_1": ("<= 1.10x raw", lambda r, m, x: x <= 1.10),
    "mq_send_receive_64": ("<= 1.10x raw", lambda r, m, x: x <= 1.10),
    "mq_send_receive_8k": ("<= 1.10x raw", lambda r, m, x: x <= 1.10),
    "shm_write_read_64": (">= 3.5 M/s", lambda r, m, x: m >= 3.5e6),
    "shm_write_read_4k": (">= 2 M/s", lambda r, m, x: m >= 2e6),
}

# RSS growth over the memory check that still counts as "no growth":
# allocator and page noise.  A leak of one byte per operation over the
# default 10 million operations would be ~10 MB.
GROWTH_TOLERANCE_KIB = 256


class Objects:
    """The module's objects the benchmarks use; removes them all."""

    def __init__(self, sysv_ipc):
        self.m = sysv_ipc
        self.made = []

    def _keep(self, obj):
        self.made.append(obj)
        return obj

    def sem(self):
        return self._keep(self.m.Semaphore(self.m.IPC_PRIVATE, self.m.IPC_CREX,
                                           initial_value=1))

    def shm(self, size=MIB):
        return self._keep(self.m.SharedMemory(self.m.IPC_PRIVATE,
                                              self.m.IPC_CREX, size=size))

    def mq(self):
        return self._keep(self.m.MessageQueue(self.m.IPC_PRIVATE,
                                              self.m.IPC_CREX,
                                              max_message_size=8192))

    def remove_all(self):
        for obj in reversed(self.made):
            try:
                obj.remove()
            except Exception:  # already removed, or never fully made
                pass
        self.made.clear()


def module_benches(sysv_ipc, objs):
    """name -> run(n) for every module benchmark."""
    m = sysv_ipc
    sem = objs.sem()
    shm = objs.shm()
    mq = objs.mq()
    rep = itertools.repeat
    runs = {}

    def sem_acquire_release(n):
        acq, rel = sem.acquire, sem.release
        for _ in rep(None, n):
            acq()
            rel()

    def sem_value_get(n):
        s = sem
        for _ in rep(None, n):
            s.value

    def sem_value_set(n):
        s = sem
        for _ in rep(None, n):
            s.value = 1

    def creator(cls):
        def run(n):
            c, key, flags = cls, m.IPC_PRIVATE, m.IPC_CREX
            for _ in rep(None, n):
                c(key, flags).remove()
        return run

    def shm_write_read(size):
        data = b"x" * size

        def run(n):
            w, r = shm.write, shm.read
            for _ in rep(None, n):
                w(data)
                r(size)
        return run

    def shm_view_read_4k(n):
        s, mv = shm, memoryview
        for _ in rep(None, n):
            bytes(mv(s)[:4096])

    def shm_view_once_read_4k(n):
        view = memoryview(shm)
        try:
            for _ in rep(None, n):
                bytes(view[:4096])
        finally:
            view.release()

    def mq_send_receive(size):
        data = b"m" * size

        def run(n):
            snd, rcv = mq.send, mq.receive
            for _ in rep(None, n):
                snd(data)
                rcv()
        return run

    runs["sem_acquire_release"] = sem_acquire_release
    runs["sem_value_get"] = sem_value_get
    runs["sem_value_set"] = sem_value_set
    runs["sem_create_remove"] = creator(m.Semaphore)
    runs["shm_create_remove"] = creator(m.SharedMemory)
    runs["mq_create_remove"] = creator(m.MessageQueue)
    runs["shm_write_read_64"] = shm_write_read(64)
    runs["shm_write_read_4k"] = shm_write_read(4096)
    runs["shm_write_read_1m"] = shm_write_read(MIB)
    runs["shm_view_read_4k"] = shm_view_read_4k
    runs["shm_view_once_read_4k"] = shm_view_once_read_4k
    runs["mq_send_receive_1"] = mq_send_receive(1)
    runs["mq_send_receive_64"] = mq_send_receive(64)
    runs["mq_send_receive_8k"] = mq_send_receive(8192)
    return runs


def loop_overhead(target, repeat, clock):
    """ns per iteration of the bare loop every module benchmark pays."""
    def run(n):
        for _ in itertools.repeat(None, n):
            pass
    n, t = benchlib.measure(run, target, repeat, clock)
    return t * 1e9 / n


def call_floor(target, repeat, clock):
    """ns per iteration of a loop making two calls of a builtin C method
    that does nothing (METH_NOARGS): the least that acquire()+release() or
    send()+receive() can cost beyond their system calls."""
    f = (0).bit_length

    def run(n):
        for _ in itertools.repeat(None, n):
            f()
            f()
    n, t = benchlib.measure(run, target, repeat, clock)
    return t * 1e9 / n


def run_raw(raw, names, args):
    """Runs raw-ipc for names; returns name -> result dict."""
    cmd = [raw, "--time", str(args.time), "--repeat", str(args.repeat),
           "--clock", args.clock, *names]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    results = {}
    for line in out.splitlines():
        if line.strip():
            r = json.loads(line)
            results[r["name"]] = r
    return results


def memory_check(sysv_ipc, objs, ops):
    """RSS before and after ops mixed operations; one operation is a pair
    (acquire+release, write+read 64 B, send+receive 64 B), taken in turn."""
    sem, shm, mq = objs.sem(), objs.shm(4096), objs.mq()
    acq, rel = sem.acquire, sem.release
    w, r = shm.write, shm.read
    snd, rcv = mq.send, mq.receive
    data = b"y" * 64
    rep = itertools.repeat

    def rounds(k):
        for _ in rep(None, k):
            acq()
            rel()
            w(data)
            r(64)
            snd(data)
            rcv()

    warm = min(100_000, max(1, ops // 10)) // 3 + 1
    rss_start = benchlib.rss_kib_self()
    rounds(warm)
    gc.collect()
    rss0 = benchlib.rss_kib_self()
    total_rounds = max(1, -(-ops // 3))
    samples = []
    steps = 4
    done = 0
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        k = total_rounds * i // steps - done
        rounds(k)
        done += k
        samples.append((done * 3, benchlib.rss_kib_self()))
    elapsed = time.perf_counter() - t0
    gc.collect()
    rss1 = benchlib.rss_kib_self()
    return {
        "ops": done * 3,
        "seconds": elapsed,
        "rss_at_start_kib": rss_start,
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "growth_kib": rss1 - rss0,
        "samples": samples,
        "warmup_ops": warm * 3,
    }


def memory_child(sysv_ipc, ops):
    """--memory-child: the memory check alone, in a fresh process (so that
    neither the speed runs nor anything they leaked colour it); prints its
    results as JSON."""
    objs = Objects(sysv_ipc)
    try:
        try:
            mem = memory_check(sysv_ipc, objs, ops)
        except Exception as e:
            mem = {"error": f"{type(e).__name__}: {e}"}
    finally:
        objs.remove_all()
    print(json.dumps(mem))
    return 0


def run_memory(module_dir, ops):
    """Runs the memory check in a child process; returns its results.  It
    runs before the speed runs, so that nothing they leak can disturb it."""
    env = dict(os.environ)
    env[benchlib.NS_ENV] = "1"  # the child stays in our namespace
    r = subprocess.run([sys.executable, os.path.abspath(__file__),
                        "--memory-child", "--ops", str(ops),
                        "--module-dir", module_dir],
                       stdout=subprocess.PIPE, text=True, env=env)
    try:
        mem = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        mem = {"error": f"the child exited {r.returncode} with no result"}
    return mem


def print_memory(mem, ops):
    """Prints the memory report; sets mem["met"]."""
    print(f"== memory: RSS over {ops:,} mixed operations "
          "(sem acquire/release, shm write/read, mq send/receive) ==")
    if "error" in mem:
        print(f"error: {mem['error']}  target: no growth  "
              f"{benchlib.status(False)}")
        mem["met"] = False
        return
    mem["met"] = mem["growth_kib"] <= GROWTH_TOLERANCE_KIB
    trend = ", ".join(f"{o:,}: {k} KiB" for o, k in mem["samples"])
    print(f"RSS at start {mem['rss_at_start_kib']} KiB, after "
          f"{mem['warmup_ops']:,} warm-up ops {mem['rss_before_kib']} KiB, "
          f"after {mem['ops']:,} ops {mem['rss_after_kib']} KiB "
          f"({mem['seconds']:.1f} s)")
    print(f"samples (ops: RSS): {trend}")
    print(f"growth: {mem['growth_kib']} KiB  target: no growth "
          f"(<= {GROWTH_TOLERANCE_KIB} KiB noise)  "
          f"{benchlib.status(mem['met'])}")


def import_module(module_dir):
    sys.path.insert(0, module_dir)
    try:
        import sysv_ipc
    except ImportError as e:
        return None, str(e)
    where = os.path.realpath(getattr(sysv_ipc, "__file__", "") or "")
    if not where.startswith(os.path.realpath(module_dir) + os.sep):
        return None, f"sysv_ipc found at {where}, not in {module_dir}"
    return sysv_ipc, where


def main():
    ap = argparse.ArgumentParser(
        prog="scripts/bench python",
        description="Compare the sysv_ipc module with bare system calls.")
    ap.add_argument("--quick", action="store_true",
                    help="short runs (0.05 s, 1 repeat, 300k memory ops)")
    ap.add_argument("--time", type=float, default=None,
                    help="seconds per timed run (default 0.5)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per benchmark, fastest kept (default 3)")
    ap.add_argument("--clock", choices=sorted(benchlib.CLOCKS), default="cpu",
                    help="time runs in the process's CPU time (default: "
                         "robust on a busy machine) or in wall time")
    ap.add_argument("--ops", type=int, default=None,
                    help="operations in the memory check (default 10000000)")
    ap.add_argument("--module-dir", default=None,
                    help="where to import sysv_ipc from "
                         "(default $IPCFS_BUILD/python)")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the results as JSON to FILE")
    ap.add_argument("--memory-child", action="store_true",
                    help=argparse.SUPPRESS)
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="benchmarks to run (default all): "
                         + ", ".join(b[0] for b in BENCHES))
    args = ap.parse_args()
    if args.time is None:
        args.time = 0.05 if args.quick else 0.5
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.ops is None:
        args.ops = 300_000 if args.quick else 10_000_000
    known = {b[0] for b in BENCHES}
    for n in args.names:
        if n not in known:
            ap.error(f"unknown benchmark {n!r}")
    benches = [b for b in BENCHES if not args.names or b[0] in args.names]

    where_ns = benchlib.private_ipc(os.path.abspath(__file__), sys.argv[1:])
    # SIGINT, SIGTERM and SIGHUP unwind like Ctrl-C, so that finally blocks
    # remove every object.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)

    build = benchlib.build_dir()
    raw = os.path.join(build, "bench", "raw-ipc")
    module_dir = args.module_dir or os.path.join(build, "python")
    if not os.access(raw, os.X_OK):
        print(f"bench python: {raw} not found: build first "
              f"(meson setup {build} && ninja -C {build})", file=sys.stderr)
        return 1
    sysv_ipc, where = import_module(module_dir)
    if args.memory_child:
        return memory_child(sysv_ipc, args.ops) if sysv_ipc else 1

    print("== sysv_ipc module vs raw system calls ==")
    print(f"objects: {where_ns}; raw: {raw}")
    print(benchlib.machine())
    if sysv_ipc is None:
        print(f"module: NOT AVAILABLE ({where}); raw numbers only")
    else:
        print(f"module: {where} (version {getattr(sysv_ipc, 'VERSION', '?')})")
    print(f"runs of ~{args.time} s of {args.clock} time, fastest of "
          f"{args.repeat} interleaved rounds; ratio = module time / raw time")
    print()

    results = {"benchmarks": [], "memory": None, "namespace": where_ns,
               "module": where if sysv_ipc else None}
    objs = Objects(sysv_ipc) if sysv_ipc else None
    rows = []
    errors = []
    try:
        if sysv_ipc:
            print(f"  memory check, {args.ops:,} ops ...", file=sys.stderr,
                  flush=True)
            mem = run_memory(module_dir, args.ops)
        runs = module_benches(sysv_ipc, objs) if sysv_ipc else {}
        # Rounds: each round times every raw operation (one raw-ipc
        # process), then every module operation, once; the fastest of
        # --repeat rounds is kept.  Interleaving spreads both sides over the
        # same stretch of time on a noisy machine.  A raw round that fails
        # (a module that leaks can exhaust the namespace's ids) keeps the
        # earlier rounds' numbers.
        raw_names = sorted({b[2] for b in benches} | set(BARE_CREATE))
        raw_best, mod_best, mod_error = {}, {}, {}
        once = argparse.Namespace(time=args.time, repeat=1, clock=args.clock)
        for rnd in range(args.repeat):
            print(f"  round {rnd + 1}/{args.repeat}", file=sys.stderr,
                  flush=True)
            try:
                for k, r in run_raw(raw, raw_names, once).items():
                    raw_best[k] = max(raw_best.get(k, 0), r["ops_per_sec"])
            except subprocess.CalledProcessError:
                if not raw_best:
                    raise
            for name, _, _ in benches:
                if not sysv_ipc or name in mod_error:
                    continue
                try:
                    n, t = benchlib.measure(runs[name], args.time, 1,
                                            args.clock)
                    mod_best[name] = max(mod_best.get(name, 0), n / t)
                except Exception as e:  # report it in the row, go on
                    mod_error[name] = f"{type(e).__name__}: {e}"
        for name, what, raw_name in benches:
            raw_ops = raw_best[raw_name]
            mod_ops = mod_best.get(name)
            error = mod_error.get(name)
            ratio = raw_ops / mod_ops if mod_ops and not error else None
            target, check = TARGETS.get(name, ("", None))
            ok = None
            if check and mod_ops is not None:
                ok = bool(check(raw_ops, mod_ops, ratio))
            if error:
                ok = False if check else None
                errors.append(f"{what}: {error}")
            rows.append([what, benchlib.fmt_rate(raw_ops),
                         "error" if error else benchlib.fmt_rate(mod_ops),
                         benchlib.fmt_ratio(ratio), target,
                         benchlib.status(ok)])
            results["benchmarks"].append({
                "name": name, "what": what, "raw": raw_name,
                "raw_ops_per_sec": raw_ops, "module_ops_per_sec": mod_ops,
                "ratio": ratio, "target": target, "met": ok,
                "error": error})
        benchlib.table(["operation", "raw", "module", "ratio", "target",
                        "status"], rows)
        for e in errors:
            print(f"error: {e}")
        print()
        print("create rows compare with the calls the constructor must "
              "make; the bare get+IPC_RMID pair: "
              + ", ".join(f"{k.split('_')[0]} "
                          + benchlib.fmt_rate(raw_best[k])
                          for k in BARE_CREATE))
        if sysv_ipc:
            ns = loop_overhead(args.time, args.repeat, args.clock)
            if mem.get("error"):
                errors.append(f"memory check: {mem['error']}")
            print(f"the Python loop itself costs {ns:.1f} ns per iteration "
                  "(included in the module's numbers)")
            floor = call_floor(args.time, args.repeat, args.clock)
            results["two_call_floor_ns"] = floor
            pairs = [(what, raw_best[raw_name]) for name, what, raw_name
                     in benches if name in TARGETS
                     and TARGETS[name][0].endswith("x raw")]
            if pairs:
                print(f"a loop of two do-nothing C method calls costs "
                      f"{floor:.1f} ns per iteration: the best ratio a "
                      "module can reach is then "
                      + ", ".join(f"{1 + floor * r / 1e9:.2f}x ({w})"
                                  for w, r in pairs))
            results["loop_overhead_ns"] = ns
            print()
            print_memory(mem, args.ops)
            results["memory"] = mem
        print(f"at the end, {benchlib.machine()}")
    finally:
        if objs:
            objs.remove_all()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench python: interrupted", file=sys.stderr)
        sys.exit(130)
