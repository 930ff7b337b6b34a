"""A worker process of scripts/stress.py: its role picks its mix of
operations (the calls are in stress_fs_*.py, stress_module_calls.py and
stress_churn.py; the plumbing in stress_caller.py), which it runs until
the coordinator stops it, idle while it pauses."""

import os
import signal
import time

import sysv_ipc  # BUILD's: isolated, imported first, put it on sys.path
from stress_caller import Caller, close_kept
from stress_churn import ChurnCalls
from stress_fs_attrs import FsAttrCalls
from stress_fs_mq import FsQueueCalls
from stress_fs_sem import FsSemCalls
from stress_fs_shm import FsShmCalls
from stress_ledger import PAUSE, ST_DONE, ST_PAUSED, STOP
from stress_module_calls import ModuleCalls


class Worker(FsQueueCalls, FsSemCalls, FsAttrCalls, FsShmCalls, ModuleCalls,
             ChurnCalls, Caller):
    """One worker process; role picks its mix of operations."""

    def run(self):
        os.umask(0)
        signal.signal(signal.SIGALRM, lambda *a: None)
        if self.role.startswith("fs") and self.rng.random() < 0.5:
            # Ctrl-C that the caller survives: EINTR.
            signal.signal(signal.SIGINT, lambda *a: None)
        else:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        ops = ROLES[self.role]
        names = [n for n, _ in ops]
        weights = [w for _, w in ops]
        while not self.sh.flag(STOP):
            if self.sh.flag(PAUSE):
                for dfd, _ in self.cache.values():
                    close_kept(dfd)
                self.cache.clear()
                for fd, _, _, _ in self.stale.values():
                    close_kept(fd)
                self.stale.clear()
                self.idle(ST_PAUSED)
                time.sleep(0.02)
                continue
            name = self.rng.choices(names, weights)[0]
            try:
                getattr(self, name)()
            except OSError as e:
                # Failures of setup calls (opening the object directory,
                # reading its id) are counted under fs.open.
                self.outcome("fs.open", e.errno, (), "%s setup" % name)
                self.idle()
            except sysv_ipc.ExistentialError:
                self.count("mod.attr", 1)
                self.idle()
            if self.role == "churn":
                time.sleep(self.rng.random() * 0.05)
        self.idle(ST_DONE)


ROLES = {
    "fs-mq": [("fs_send", 5), ("fs_recv", 5), ("fs_attr", 1), ("fs_ls", 1)],
    "fs-sem": [("fs_semop", 10), ("fs_sem_invalid", 1), ("fs_value", 2),
               ("fs_attr", 1), ("fs_ls", 1)],
    "fs-shm": [("fs_shm", 10), ("fs_attr", 1), ("fs_ls", 1)],
    "fs-misc": [("fs_attr", 4), ("fs_ls", 3), ("fs_chmod", 1),
                ("fs_attr_write", 1), ("fs_value", 1), ("fs_recv", 1),
                ("fs_send", 1)],
    "mod-mq": [("mod_send", 5), ("mod_recv", 5), ("mod_attr", 1)],
    "mod-misc": [("mod_sem", 6), ("mod_shm", 3), ("mod_attr", 1)],
    "churn": [("churn", 1)],
}
WORKERS = ["fs-mq", "fs-mq", "fs-mq", "fs-sem", "fs-sem", "fs-shm",
           "fs-misc", "mod-mq", "mod-misc", "churn"]
KILLABLE = {"fs-mq", "fs-sem", "fs-misc", "mod-mq", "mod-misc"}
