"""The operations bench/python.py times on a sysv_ipc module, in a process
of their own.

Both modules compared, ours and upstream 1.1.0, are named sysv_ipc: each
is imported in its own process, which runs this file with --module-dir,

    python3 bench/module_ops.py --module-dir DIR --time S --clock C

(with --shm-detach for upstream: see module_benches) prints one JSON
line on the module it imported ({"module": path,
"version": v}, or {"error": why}), then reads benchmark names from stdin,
one a line ("NAME", timed for about --time seconds, or "NAME N", exactly
N operations), and answers each with one JSON line as it is measured
({"name", "n", "seconds", "ops_per_sec"}, or {"name", "error"}), keeping
its objects between them, until end of file; then it removes them.

With --run NAME N it runs benchmark NAME N times, untimed, and exits: what
bench/instructions.py counts under callgrind.

With --memory OPS it runs the memory check alone instead, in a fresh
process (so that neither the speed runs nor anything they leaked colour
it), and prints its results as one JSON line.

Only what both modules offer is used: the benchmarks run unchanged on
either.  Started by bench/python.py inside its private IPC namespace.
"""

import argparse
import gc
import itertools
import json
import os
import signal
import sys
import time

import benchlib  # beside this file: its directory is sys.path[0]

MIB = 1 << 20


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


def module_benches(sysv_ipc, objs, shm_detach=False):
    """name -> run(n) for every module benchmark.  With shm_detach, the
    SharedMemory create row also calls detach(), which upstream needs (its
    segments stay attached until then, and the namespace runs out of ids):
    the same system calls as ours, which detaches on deallocation."""
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

    def shm_creator_detaching(n):
        c, key, flags = m.SharedMemory, m.IPC_PRIVATE, m.IPC_CREX
        for _ in rep(None, n):
            s = c(key, flags)
            s.remove()
            s.detach()

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

    def mq_current_messages(n):
        q = mq
        for _ in rep(None, n):
            q.current_messages

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
    runs["shm_create_remove"] = (shm_creator_detaching if shm_detach
                                 else creator(m.SharedMemory))
    runs["mq_create_remove"] = creator(m.MessageQueue)
    runs["shm_write_read_64"] = shm_write_read(64)
    runs["shm_write_read_4k"] = shm_write_read(4096)
    runs["shm_write_read_1m"] = shm_write_read(MIB)
    runs["shm_view_read_4k"] = shm_view_read_4k
    runs["shm_view_once_read_4k"] = shm_view_once_read_4k
    runs["mq_current_messages"] = mq_current_messages
    runs["mq_send_receive_1"] = mq_send_receive(1)
    runs["mq_send_receive_64"] = mq_send_receive(64)
    runs["mq_send_receive_8k"] = mq_send_receive(8192)
    return runs


def memory_check(objs, ops):
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
    """--memory: the memory check alone; prints its results as JSON."""
    objs = Objects(sysv_ipc)
    try:
        try:
            mem = memory_check(objs, ops)
        except Exception as e:
            mem = {"error": f"{type(e).__name__}: {e}"}
    finally:
        objs.remove_all()
    print(json.dumps(mem))
    return 0


def import_module(module_dir):
    """Imports sysv_ipc from module_dir and nowhere else; returns (module,
    where it was found) or (None, why not)."""
    sys.path.insert(0, module_dir)
    try:
        import sysv_ipc
    except ImportError as e:
        return None, str(e)
    where = os.path.realpath(getattr(sysv_ipc, "__file__", "") or "")
    if not where.startswith(os.path.realpath(module_dir) + os.sep):
        return None, f"sysv_ipc found at {where}, not in {module_dir}"
    return sysv_ipc, where


def time_fixed(run, n, clock):
    """Seconds of run(n) on clock, the garbage collector off (as
    benchlib.measure() times)."""
    now = benchlib.CLOCKS[clock]
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = now()
        run(n)
        return now() - t0
    finally:
        if enabled:
            gc.enable()


def say(obj):
    print(json.dumps(obj), flush=True)


def serve(sysv_ipc, args):
    """Answers benchmark names from stdin until end of file."""
    objs = Objects(sysv_ipc)
    try:
        try:
            runs = module_benches(sysv_ipc, objs, args.shm_detach)
            failed = None
        except Exception as e:  # every answer says so
            runs, failed = {}, f"setting up: {type(e).__name__}: {e}"
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            name = words[0]
            fixed = int(words[1]) if len(words) > 1 else None
            run = runs.get(name)
            if run is None:
                say({"name": name, "error": failed or "unknown benchmark"})
                continue
            try:
                if fixed:
                    n, t = fixed, time_fixed(run, fixed, args.clock)
                else:
                    n, t = benchlib.measure(run, args.time, 1, args.clock)
                say({"name": name, "n": n, "seconds": t,
                     "ops_per_sec": n / t})
            except Exception as e:  # reported in the row; the rest go on
                say({"name": name, "error": f"{type(e).__name__}: {e}"})
    finally:
        objs.remove_all()
    return 0


def run_once(sysv_ipc, name, n, shm_detach):
    """--run: benchmark name n times, untimed; 0, or 1 if it failed."""
    objs = Objects(sysv_ipc)
    try:
        module_benches(sysv_ipc, objs, shm_detach)[name](n)
        return 0
    except Exception as e:
        print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        objs.remove_all()


def main():
    ap = argparse.ArgumentParser(
        description="Time a sysv_ipc module's operations (for "
                    "bench/python.py).")
    ap.add_argument("--module-dir", required=True)
    ap.add_argument("--time", type=float, default=0.5)
    ap.add_argument("--clock", choices=sorted(benchlib.CLOCKS), default="cpu")
    ap.add_argument("--memory", type=int, metavar="OPS", default=None)
    ap.add_argument("--run", nargs=2, metavar=("NAME", "N"))
    ap.add_argument("--shm-detach", action="store_true",
                    help="the SharedMemory create row calls detach() too "
                         "(for upstream)")
    args = ap.parse_args()
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that finally blocks remove
    # every object.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    sysv_ipc, where = import_module(args.module_dir)
    if args.memory is not None:
        if sysv_ipc is None:
            say({"error": where})
            return 1
        return memory_child(sysv_ipc, args.memory)
    if sysv_ipc is None:
        say({"error": where})
        return 1
    if args.run:
        return run_once(sysv_ipc, args.run[0], int(args.run[1]),
                        args.shm_detach)
    say({"module": where, "version": getattr(sysv_ipc, "VERSION", "?")})
    return serve(sysv_ipc, args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
