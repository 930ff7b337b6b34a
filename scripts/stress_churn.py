"""The churner of scripts/stress.py: it creates and removes objects
(mkdir/rmdir and the module) all the time, so that kernel ids are reused
while other workers hold descriptors to them.  Before removing a queue it
sets its max_size to 0 and drains it, so that every message is accounted
for."""

import errno
import os

import sysv_ipc  # BUILD's: isolated, imported first, put it on sys.path
from stress_ledger import now
from stress_messages import log_msg_line
from stress_objects import MQ_CHURN, SEM_CHURN, SHM_CHURN


class ChurnCalls:
    """Mixed into stress_worker.Worker."""

    def churn(self):
        kind = self.rng.choice(("mq", "mq", "sem", "shm", "private"))
        if kind == "private":
            return self.churn_private()
        key = self.rng.choice({"mq": MQ_CHURN, "sem": SEM_CHURN,
                               "shm": SHM_CHURN}[kind])
        cls = {"mq": sysv_ipc.MessageQueue, "sem": sysv_ipc.Semaphore,
               "shm": sysv_ipc.SharedMemory}[kind]
        try:
            obj = cls(key) if kind != "sem" else sysv_ipc.SemaphoreSet(key, 0)
        except sysv_ipc.ExistentialError:
            obj = None
        if obj is None:
            self.create(kind, key)
        elif self.rng.random() < 0.6:
            self.remove(kind, key, obj)
        if kind == "shm" and obj is not None:
            obj.detach()

    def create(self, kind, key):
        spec = {"mq": "%d", "sem": self.rng.choice(("%d", "%d:3", "%d:1")),
                "shm": self.rng.choice(("%d", "%d:8K", "%d:4096"))}[kind]
        name = spec % key
        if self.rng.random() < 0.6:
            path = self.p(kind, name)
            self.fs("fs.mkdir", "mkdir " + path,
                    lambda: os.mkdir(path, 0o666), expected={errno.EEXIST})
        else:
            try:
                if kind == "mq":
                    sysv_ipc.MessageQueue(key, sysv_ipc.IPC_CREX, 0o666)
                elif kind == "sem":
                    sysv_ipc.SemaphoreSet(key, 3 if ":3" in spec else 1,
                                          sysv_ipc.IPC_CREX, 0o666)
                else:
                    sysv_ipc.SharedMemory(key, sysv_ipc.IPC_CREX, 0o666,
                                          8192).detach()
                self.count("mod.create", 0)
            except sysv_ipc.ExistentialError:
                self.count("mod.create", 1)
        if kind == "mq" and self.rng.random() < 0.5:
            path = self.p("mq", key, "max_size")

            def w():
                with open(path, "wb", buffering=0) as f:
                    f.write(b"512\n")
            self.fs("fs.attr.write", "write 512 to " + path, w)

    def remove(self, kind, key, obj):
        ident = obj.id
        if kind == "mq":
            # Nothing can be sent once max_size is 0 (msgsnd waits, and a
            # write to send is EMSGSIZE): the drain then gets everything.
            try:
                if self.rng.random() < 0.5:
                    obj.max_size = 0
                else:
                    with open(self.p("mq", key, "max_size"), "wb",
                              buffering=0) as f:
                        f.write(b"0")
            except (OSError, sysv_ipc.Error):
                try:
                    obj.max_size = 0
                except sysv_ipc.ExistentialError:
                    return
            q = sysv_ipc.MessageQueue(key, max_message_size=8192)
            if q.id != ident:
                return
            while True:
                self.seq += 1
                try:
                    data, _ = q.receive(block=False)
                except (sysv_ipc.BusyError, sysv_ipc.ExistentialError):
                    break
                self.log(log_msg_line("D", self.seq, data))
                self.count("drain", 0)
        if self.rng.random() < 0.5:
            path = self.p(kind, key)
            done = self.fs("fs.rmdir", "rmdir " + path,
                           lambda: os.rmdir(path) or True)
        else:
            done = None
        if not done:
            try:
                obj.remove()
                self.count("mod.remove", 0)
            except sysv_ipc.ExistentialError:
                self.count("mod.remove", 1)
        self.log("X %s %d %s\n" % (kind, ident, now()))

    def churn_private(self):
        if self.rng.random() < 0.5:
            s = sysv_ipc.Semaphore(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX,
                                   0o666)
            self.privates = getattr(self, "privates", []) + [("sem", s.id)]
        else:
            s = sysv_ipc.SharedMemory(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX,
                                      0o666, 4096)
            s.detach()
            self.privates = getattr(self, "privates", []) + [("shm", s.id)]
        self.count("mod.create", 0)
        while len(self.privates) > 4:
            kind, ident = self.privates.pop(0)
            try:
                if kind == "sem":
                    sysv_ipc.remove_semaphore(ident)
                else:
                    sysv_ipc.remove_shared_memory(ident)
                self.log("X %s %d %s\n" % (kind, ident, now()))
                self.count("mod.remove", 0)
            except sysv_ipc.ExistentialError:
                self.count("mod.remove", 1)
