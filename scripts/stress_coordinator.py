"""The coordinator of scripts/stress.py: it makes the long-lived objects,
starts the daemon and the workers (respawning those that die), kills
callers inside their calls, restarts the daemon, pauses the workers to
measure the daemon while quiet, watches for hung calls, and stops
everything at the end (drains, waiters, final values).  The daemon's side
is in stress_daemon.py, the accounting and the report in
stress_accounting.py."""

import collections
import os
import random
import shlex
import signal
import struct
import time
import traceback

from isolated import IPCFS, set_pdeathsig
import sysv_ipc  # BUILD's: isolated, imported first, put it on sys.path
from stress_accounting import Accounting
from stress_daemon import DaemonControl
from stress_ledger import (LAND, LANDING, PAUSE, ST_CALL, ST_IDLE, ST_PAUSED,
                           ST_WAIT, STOP, Shared, now)
from stress_messages import log_msg_line
from stress_module_calls import Stop
from stress_objects import (MQ_CHURN, MQ_KEEP, SEM_INIT, SEM_KEEP, SHM_CHAOS,
                            SHM_KEEP)
from stress_worker import KILLABLE, WORKERS, Worker


class Violations(list):
    def add(self, what, evidence=""):
        self.append((what, evidence))


class Coordinator(DaemonControl, Accounting):
    """One run, for args (see stress.py's docstring for what it does and
    checks)."""

    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        # Separate generators, so that the daemon settings and the restart
        # times of a seed do not depend on how many kill ticks ran.
        self.rng = random.Random("%d-kills" % self.seed)
        self.drng = random.Random("%d-daemon" % self.seed)
        self.scratch = args.scratch
        self.mnt = os.path.join(self.scratch, "mnt")
        self.logdir = os.path.join(self.scratch, "log")
        self.sh = Shared(len(WORKERS))
        self.workers = {}       # slot -> (pid, inc)
        self.incs = {}          # inc -> (slot, role)
        self.next_inc = 1
        self.daemon = None
        self.daemon_log = None
        self.daemon_logs = []
        self.restarts = 0
        self.kills = collections.Counter()
        self.harvest = []
        self.violations = Violations()
        self.hung = set()
        self.figures = {}
        self.prefix = shlex.split(args.daemon_prefix or "")
        self.clog = None
        self.fail_errnos = collections.defaultdict(collections.Counter)
        self.longest_v = (0.0, "", "", "")

    # -------------------------------------------------------------- workers
    def spawn(self, slot, role):
        inc = self.next_inc
        self.next_inc += 1
        b = self.sh.base(slot)
        self.sh.mm[b] = ST_IDLE
        self.sh.mm[b + 1] = 0
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                set_pdeathsig()
                if os.getppid() != parent:
                    os._exit(0)
                self.sh.mm[b + 2] = 0
                w = Worker(self.sh, slot, inc, role, self.seed, self.mnt,
                           self.logdir)
                if role.startswith("mod"):
                    def stop(*a):
                        if self.sh.flag(STOP):
                            raise Stop()
                    signal.signal(signal.SIGUSR1, stop)
                w.run()
            except Stop:
                code = 0
            except BaseException:
                code = 70
                try:
                    with open(os.path.join(self.logdir, "w%d.log" % inc),
                              "a") as f:
                        f.write("T " + traceback.format_exc().replace(
                            "\n", "\\n") + "\n")
                except BaseException:
                    pass
            os._exit(code)
        self.workers[slot] = (pid, inc)
        self.incs[inc] = (slot, role)

    def reap(self, respawn=True):
        for slot, (pid, inc) in list(self.workers.items()):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                got, status = pid, 0
            if got == 0:
                continue
            del self.workers[slot]
            self.collect_landing(slot, inc)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) not in (0,):
                self.violations.add("worker %d (%s) exited with %d"
                                    % (inc, self.incs[inc][1],
                                       os.WEXITSTATUS(status)),
                                    "see its traceback below")
            if respawn and not self.sh.flag(STOP):
                self.spawn(slot, self.incs[inc][1])

    def collect_landing(self, slot, inc):
        lb = self.sh.base(slot) + LANDING
        seq = struct.unpack_from("<q", self.sh.mm, lb)[0]
        for half in (0, 1):
            start = lb + 16 + half * LAND
            data = bytes(self.sh.mm[start:start + LAND]).rstrip(b"\0")
            if data:
                self.harvest.append((inc, seq, data))

    def killer(self):
        cands = []
        for slot, (pid, inc) in self.workers.items():
            state, killable, t0, _, _, _ = self.sh.status(slot)
            if killable and state in (ST_CALL, ST_WAIT) and \
                    self.incs[inc][1] in KILLABLE:
                cands.append((slot, pid, state, now() - t0))
        # Prefer callers that have been waiting a while: blocked ones.
        blocked = [c for c in cands if c[2] == ST_WAIT and c[3] > 0.02]
        pool = blocked or cands
        if not pool:
            return
        slot, pid, _, _ = self.rng.choice(pool)
        sig = self.rng.choice((signal.SIGKILL, signal.SIGINT))
        try:
            os.kill(pid, sig)
            self.kills[signal.Signals(sig).name] += 1
        except ProcessLookupError:
            pass

    def watchdog(self):
        bound = self.args.hang_bound
        for slot, (pid, inc) in self.workers.items():
            state, killable, t0, _, _, desc = self.sh.status(slot)
            role = self.incs[inc][1]
            waits_for_peer = role.startswith("mod") and state == ST_WAIT
            if state in (ST_CALL, ST_WAIT) and not waits_for_peer and \
                    now() - t0 > bound and (inc, t0) not in self.hung:
                self.hung.add((inc, t0))
                self.violations.add(
                    "a call hung for more than %d s" % bound,
                    "worker %d (%s, pid %d): %s\n%s\ndaemon (%s) threads: %s"
                    % (inc, role, pid, desc, self.stack_of(pid),
                       self.daemon_threading, self.daemon_threads()))

    @staticmethod
    def stack_of(pid):
        try:
            with open("/proc/%d/stack" % pid) as f:
                k = f.read()
            with open("/proc/%d/wchan" % pid) as f:
                return "wchan %s; kernel stack:\n%s" % (f.read(), k)
        except OSError as e:
            return "(no stack: %s)" % e

    def pause_all(self, timeout=20):
        """Pause: every fs worker idle (module callers may be waiting in
        the kernel, which costs the daemon nothing)."""
        self.sh.set_flag(PAUSE, 1)
        deadline = now() + timeout
        while now() < deadline:
            self.reap()
            busy = [s for s, (pid, inc) in self.workers.items()
                    if self.incs[inc][1].startswith("fs")
                    and self.sh.status(s)[0] != ST_PAUSED]
            if not busy:
                return True
            self.watchdog()
            time.sleep(0.02)
        return False

    # -------------------------------------------------------------- objects
    def create_objects(self):
        for key, qbytes in MQ_KEEP.items():
            q = sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREX, 0o666)
            if qbytes:
                q.max_size = qbytes
        for key, nsems in SEM_KEEP.items():
            s = sysv_ipc.SemaphoreSet(key, nsems, sysv_ipc.IPC_CREX, 0o666,
                                      initial_values=SEM_INIT)
            for e in range(nsems):
                self.clog.write("I %d %d %d\n" % (s.id, e, SEM_INIT))
        for key, size in SHM_KEEP.items():
            sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, 0o666,
                                  size).detach()
        sysv_ipc.SharedMemory(SHM_CHAOS, sysv_ipc.IPC_CREX, 0o666,
                              8192).detach()
        self.clog.flush()

    def drain_all(self, tag):
        n = 0
        for key in list(MQ_KEEP) + list(MQ_CHURN):
            try:
                q = sysv_ipc.MessageQueue(key, max_message_size=8192)
            except sysv_ipc.ExistentialError:
                continue
            while True:
                try:
                    data, _ = q.receive(block=False)
                except (sysv_ipc.BusyError, sysv_ipc.ExistentialError):
                    break
                n += 1
                self.clog.write(log_msg_line(tag, n, data))
        self.clog.flush()
        return n

    # -------------------------------------------------------------- run
    def run(self):
        a = self.args
        print("stress: seed %d, %d s, %d workers, daemon %s%s"
              % (self.seed, a.seconds, len(WORKERS), IPCFS,
                 (" under " + a.daemon_prefix) if self.prefix else ""),
              flush=True)
        os.mkdir(self.mnt)
        os.mkdir(self.logdir)
        self.clog = open(os.path.join(self.logdir, "coord.log"), "w")
        self.create_objects()
        self.start_daemon()
        for slot, role in enumerate(WORKERS):
            self.spawn(slot, role)

        start = now()
        end = start + a.seconds
        # Restarts in the first 60% of the run; the baseline comes after
        # the last one, after a warm-up, so that the rest of the run is
        # measured on one daemon.
        times = sorted(start + a.seconds * self.drng.uniform(0.1, 0.6)
                       for _ in range(a.restarts))
        baseline_at = (times[-1] if times else start) + min(
            5.0, a.seconds * 0.1)
        baseline = None
        while now() < end:
            self.reap()
            self.watchdog()
            if self.rng.random() < a.kill_rate:
                self.killer()
            if times and now() >= times[0]:
                times.pop(0)
                self.restart_daemon()
            if baseline is None and not times and now() >= baseline_at:
                if not self.pause_all():
                    self.violations.add("workers did not pause within 20 s")
                baseline = self.quiet_figures()
                self.figures["baseline"] = baseline
                print("stress: baseline after warm-up: %s" % baseline,
                      flush=True)
                self.sh.set_flag(PAUSE, 0)
            time.sleep(0.02)
        self.finish(baseline)

    def finish(self, baseline):
        # Stop: workers end their current call (blocking ones are cut by
        # their alarms within 2 s) and exit.
        self.sh.set_flag(STOP, 1)
        deadline = now() + self.args.hang_bound
        while now() < deadline:
            self.reap(respawn=False)
            self.watchdog()
            left = [s for s, (pid, inc) in self.workers.items()
                    if not (self.incs[inc][1].startswith("mod")
                            and self.sh.status(s)[0] == ST_WAIT)]
            if not left:
                break
            self.drain_all("L")    # lets blocked module senders finish
            time.sleep(0.05)
        time.sleep(0.5)            # late give-backs of killed receivers
        left_in_queues = self.drain_all("L")
        # Module receivers still waiting: queues are empty and nobody sends,
        # so nothing can be lost by interrupting them now.
        for slot, (pid, inc) in list(self.workers.items()):
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        deadline = now() + 10
        while self.workers and now() < deadline:
            self.reap(respawn=False)
            time.sleep(0.02)
        for slot, (pid, inc) in list(self.workers.items()):
            self.violations.add("worker %d (%s) did not stop" % (
                inc, self.incs[inc][1]), self.sh.status(slot)[5] + "\n"
                + self.stack_of(pid))
            os.kill(pid, signal.SIGKILL)
        while self.workers:
            self.reap(respawn=False)
            time.sleep(0.01)
        left_in_queues += self.drain_all("L")
        self.figures["left_in_queues"] = left_in_queues

        self.check_waiters()
        # Semaphore values at the end.
        for key in SEM_KEEP:
            s = sysv_ipc.SemaphoreSet(key, 0)
            for e in range(s.nsems):
                self.clog.write("F %d %d %d\n" % (s.id, e, s.get_value(e)))
        self.clog.flush()
        if baseline is not None:
            self.figures["end"] = self.quiet_figures(baseline)
        self.final_unmount()

    def check_waiters(self):
        """No daemon waiter may outlive its caller: GETNCNT/GETZCNT are 0,
        and a probe message put in each queue stays there."""
        for key in SEM_KEEP:
            s = sysv_ipc.SemaphoreSet(key, 0)
            for e in range(s.nsems):
                n, z = (s.get_waiting_for_nonzero(e),
                        s.get_waiting_for_zero(e))
                if n or z:
                    self.violations.add(
                        "waiters left on a semaphore once every caller is "
                        "gone", "sem %d element %d: ncnt %d zcnt %d"
                        % (key, e, n, z))
        qs = []
        for key in MQ_KEEP:
            q = sysv_ipc.MessageQueue(key, max_message_size=8192)
            for t in (1, 2, 3):
                q.send(b"probe", type=t)
            qs.append((key, q))
        time.sleep(0.5)
        for key, q in qs:
            if q.current_messages != 3:
                self.violations.add(
                    "a waiter was left in the daemon after its caller was "
                    "gone", "queue %d: 3 probe messages sent with no caller "
                    "left, %d still queued" % (key, q.current_messages))
            for _ in range(3):
                try:
                    q.receive(block=False)
                except sysv_ipc.BusyError:
                    break

    def cleanup(self):
        """On every path: workers, daemon, mount (the IPC objects and the
        scratch tmpfs go with the namespaces)."""
        for pid, inc in list(self.workers.values()):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.daemon and self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        if os.path.isdir(self.mnt):
            self.unmount(lazy=True)
