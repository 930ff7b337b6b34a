"""The ipcfs daemon under scripts/stress.py: starting it with random
settings, killing it (SIGKILL, lazy unmount) and starting another, its
figures (RSS, descriptors, threads) and how far they may move, the final
unmount and what it printed."""

import collections
import os
import re
import subprocess
import time

from isolated import IPCFS, is_mounted, set_pdeathsig
from stress_ledger import FALLBACK, GEN, now


def proc_figures(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return {"rss_kib": rss, "fds": len(os.listdir("/proc/%d/fd" % pid)),
            "threads": len(os.listdir("/proc/%d/task" % pid))}


class DaemonControl:
    """Mixed into stress_coordinator.Coordinator."""

    def start_daemon(self):
        mode = self.drng.choice(("auto", "auto", "fallback"))
        self.sh.set_flag(FALLBACK, 1 if mode == "fallback" else 0)
        self.sh.set_flag(GEN, (self.sh.flag(GEN) + 1) % 256)
        n = len(self.daemon_logs)
        path = os.path.join(self.logdir, "daemon%d.log" % n)
        self.daemon_log = open(path, "w+")
        self.daemon_logs.append((path, mode))
        threads = self.drng.choice(self.args.threading)
        self.max_threads = {"s": 1, "clone_fd": 10}.get(
            threads, int(threads.split("=")[1]) if "=" in threads else 10)
        self.daemon_threading = threads
        extra = (["-s"] if threads == "s" else [] if threads == "default"
                 else ["-o", threads])
        cmd = self.prefix + [str(IPCFS), "-f"] + extra + [
            "-o", "allow_other,data=%s" % mode, self.mnt]
        self.daemon = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=self.daemon_log,
                                       stderr=subprocess.STDOUT,
                                       preexec_fn=set_pdeathsig,
                                       start_new_session=True)
        print("stress: daemon %d: %s" % (n, " ".join(cmd[len(self.prefix):])),
              flush=True)
        deadline = now() + (300 if self.prefix else 30)
        while not is_mounted(self.mnt):
            if self.daemon.poll() is not None or now() > deadline:
                raise SystemExit("stress: ipcfs did not mount (%s):\n%s"
                                 % (self.daemon.returncode, open(path).read()))
            time.sleep(0.01)
        self.daemon_mode = mode

    def kill_daemon(self):
        self.daemon.kill()
        self.daemon.wait()
        self.unmount(lazy=True)

    def unmount(self, lazy=False):
        for _ in range(100):
            if not is_mounted(self.mnt):
                return True
            subprocess.run(["fusermount3", "-u"] + (["-z"] if lazy else [])
                           + [self.mnt], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        return not is_mounted(self.mnt)

    def restart_daemon(self):
        self.restarts += 1
        self.kill_daemon()
        time.sleep(self.drng.random() * 0.3)  # callers meet the empty dir
        self.start_daemon()

    def daemon_threads(self):
        out = collections.Counter()
        try:
            for t in os.listdir("/proc/%d/task" % self.daemon.pid):
                with open("/proc/%d/task/%s/wchan" % (self.daemon.pid, t)) as f:
                    out[f.read()] += 1
        except OSError:
            pass
        return ", ".join("%d in %s" % (n, w) for w, n in out.items())


    def quiet_figures(self, baseline=None):
        """The daemon's figures once quiet: at the end, polled until they
        are within the slack (idle libfuse workers take a while to go)."""
        time.sleep(1.0)
        fig = proc_figures(self.daemon.pid)
        if baseline is None:
            return fig
        deadline = now() + 15
        while not self.within(fig, baseline) and now() < deadline:
            time.sleep(0.5)
            fig = proc_figures(self.daemon.pid)
        return fig

    def within(self, fig, base):
        return (fig["rss_kib"] <= base["rss_kib"] + self.args.rss_slack_kib
                and fig["fds"] <= self.fd_ceiling(base)
                and fig["threads"] <= self.thread_ceiling(base))

    def thread_ceiling(self, base):
        """libfuse keeps the workers it started (up to max_threads, 10 by
        default) for good, so a busy run may end with more than a quiet
        warm-up had: the main thread, the waiters' reaper, the poll
        watcher (fs/waiter.c, fs/mq_poll.c) and max_threads workers.
        Waiter threads (one per waiting call) must all be gone."""
        return max(base["threads"], 3 + self.max_threads)

    def fd_ceiling(self, base):
        """With clone_fd each libfuse worker has a descriptor of its own."""
        if self.daemon_threading != "clone_fd":
            return base["fds"]
        return base["fds"] + max(0, self.thread_ceiling(base) -
                                 base["threads"])

    def final_unmount(self):
        ok = self.unmount()
        try:
            code = self.daemon.wait(timeout=300 if self.prefix else 30)
        except subprocess.TimeoutExpired:
            code = None
            self.violations.add("ipcfs did not exit after the unmount")
            self.daemon.kill()
            self.daemon.wait()
        if not ok:
            self.violations.add("fusermount3 -u failed at the end")
        if code != 0:
            self.violations.add("ipcfs exited with %s at the end" % code,
                                "(under --daemon-prefix, the wrapper's own "
                                "error exit code counts: see its output)"
                                if self.prefix else "")
        self.daemon_exit = code


    def check_daemon_output(self):
        complaints = re.compile(r"error|warning|sanitizer|leak|abort|"
                                r"could not|assert", re.IGNORECASE)
        for path, mode in self.daemon_logs:
            text = open(path).read()
            if self.prefix:
                # The wrapper prints its own things (e.g. valgrind's
                # summary); those of the last daemon, which was unmounted
                # cleanly, are the ones that count.
                if path == self.daemon_logs[-1][0]:
                    print("stress: the last daemon's wrapper printed:\n"
                          + "\n".join(text.splitlines()[-40:]))
                continue
            if text.strip():
                (self.violations.add if complaints.search(text) else
                 lambda *a: None)("the daemon printed complaints",
                                  "%s (data=%s):\n%s" % (
                                      os.path.basename(path), mode,
                                      text[-3000:]))
                print("stress: %s printed:\n%s" % (os.path.basename(path),
                                                   text[-3000:]))
