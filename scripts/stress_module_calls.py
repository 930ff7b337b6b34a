"""The calls of scripts/stress.py's workers through the sysv_ipc module, on
the same objects as the ones through the mount: send/receive, semaphore
operations, shared memory through an attachment, attribute reads."""

import errno
import os

import sysv_ipc  # BUILD's: isolated, imported first, put it on sys.path
from stress_ledger import now
from stress_messages import log_msg_line, make_msg, parse_msg
from stress_objects import MQ_CHURN, MQ_KEEP, SEM_CHURN, SEM_KEEP, STRIPE


class Stop(Exception):
    """Raised by SIGUSR1 in a module caller still waiting once the run
    stops (the queues are then empty and nobody sends)."""


class ModuleCalls:
    """Mixed into stress_worker.Worker."""

    def mod_send(self):
        key = self.mq_key()
        try:
            q = sysv_ipc.MessageQueue(key)
        except sysv_ipc.ExistentialError:
            return self.count("mod.send", 1)
        block = self.rng.random() < 0.5
        mtype = self.rng.choice((1, 2, 3))
        msgid = "%d.%d" % (self.inc, self.seq + 1)
        msg = make_msg(msgid, q.id, mtype, self.rng.choice((0, 10, 300)))
        seq = self.begin("mod.send key %d qid %d block %s" % (key, q.id, block),
                         killable=True, wait=block)
        self.log("B %d send %s %d %d %d mod %s\n" % (seq, msgid, q.id, mtype,
                                                    len(msg), now()))
        res = "ok"
        try:
            q.send(msg, block=block, type=mtype)
            self.count("mod.send", 0)
        except sysv_ipc.BusyError:
            res = "EAGAIN"
            self.count("mod.send", 1)
        except sysv_ipc.ExistentialError:
            res = "EIDRM"
            self.count("mod.send", 1)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
            self.unexpected("mod.send", "send to qid %d" % q.id, e.errno)
        self.idle()
        self.log("E %d %s\n" % (seq, res))

    def mod_recv(self):
        key = self.mq_key()
        try:
            q = sysv_ipc.MessageQueue(key, max_message_size=4096)
            block = q.current_messages > 0 and self.rng.random() < 0.5
        except sysv_ipc.ExistentialError:
            return self.count("mod.recv", 1)
        mtype = self.rng.choice((0, 0, 1, 2, 3, -2))
        # Not killable: a receiver killed after its msgrcv() but before it
        # logs the message would lose it, which is not ipcfs' doing.
        seq = self.begin("mod.recv key %d qid %d block %s" % (key, q.id, block),
                         killable=False, wait=block)
        self.log("B %d recv %d %d %s\n" % (seq, q.id, mtype, now()))
        res = "ok"
        try:
            data, t = q.receive(block=block, type=mtype)
            self.log(log_msg_line("G", seq, data))
            p = parse_msg(data)
            if p and p[2] != t:
                self.unexpected("mod.recv", "message %s sent with type %d "
                                "received with type %d" % (p[0], p[2], t), 0)
            self.count("mod.recv", 0)
        except sysv_ipc.BusyError:
            res = "EAGAIN"
            self.count("mod.recv", 1)
        except sysv_ipc.ExistentialError:
            res = "EIDRM"
            self.count("mod.recv", 1)
        except Stop:
            res = "EINTR"
            self.count("mod.recv", 2)
        self.idle()
        self.log("E %d %s\n" % (seq, res))

    def mod_sem(self):
        key, elem = self.sem_pick()
        try:
            if key == 2001 or self.rng.random() < 0.3:
                s = sysv_ipc.SemaphoreSet(key, 0)
                op = "mod.semset.op"
            else:
                s = sysv_ipc.Semaphore(key)
                op = "mod.sem.op"
                elem = 0
            semid = s.id
        except sysv_ipc.ExistentialError:
            return self.count("mod.sem.op", 1)
        delta = self.rng.choice((-1, -1, -2, 1, 1, 2, 0))
        timeout = self.rng.choice((0, 0.01, 0.2, 1.0))
        seq = self.begin("%s semid %d elem %d delta %d timeout %s"
                         % (op, semid, elem, delta, timeout), killable=True)
        self.log("B %d sem %d %d %d mod %s\n" % (seq, semid, elem, delta,
                                                now()))
        res = "ok"
        try:
            if op == "mod.semset.op":
                s.operate([(elem, delta)], timeout=timeout)
            elif delta > 0:
                s.release(delta)
            elif delta < 0:
                s.acquire(timeout, -delta)
            else:
                s.Z(timeout)
            self.count(op, 0)
        except sysv_ipc.BusyError:
            res = "EAGAIN"
            self.count(op, 1)
        except sysv_ipc.ExistentialError:
            res = "EIDRM"
            self.count(op, 1)
        except (IndexError, ValueError) as e:
            res = "EINVAL"
            if key in SEM_CHURN and isinstance(e, IndexError):
                self.count(op, 1)  # element of a smaller set of that key
            elif isinstance(e, ValueError) and delta > 0:
                self.count(op, 1)  # ERANGE
            else:
                self.unexpected(op, "%s on semid %d: %r" % (op, semid, e), 0)
        self.idle()
        self.log("E %d %s\n" % (seq, res))

    def mod_shm(self):
        key = self.shm_key()
        try:
            seg = sysv_ipc.SharedMemory(key)
        except sysv_ipc.ExistentialError:
            return self.count("mod.shm", 1)
        self.begin("mod.shm key %d shmid %d" % (key, seg.id), killable=False)
        try:
            off = self.slot * STRIPE
            pattern = ((b"m%d.%d|" % (self.inc, self.seq)) * 100)[:STRIPE]
            seg.write(pattern, off)
            try:
                with open(self.p("shm", key, "data"), "rb") as f:
                    back = os.pread(f.fileno(), STRIPE, off)
                    ident = int(open(self.p("shm", key, "id")).read())
                if ident == seg.id and back != pattern and \
                        seg.read(STRIPE, off) == pattern:
                    self.unexpected("mod.shm", "shmid %d stripe %d: the data "
                                    "file reads %r after shmat wrote %r"
                                    % (seg.id, off, back[:40], pattern[:40]),
                                    0)
                    return
            except (OSError, ValueError):
                pass
            with memoryview(seg) as v:
                if bytes(v[off:off + STRIPE]) != pattern:
                    self.unexpected("mod.shm", "memoryview disagrees", 0)
                    return
            self.count("mod.shm", 0)
        finally:
            seg.detach()
            self.idle()

    def mod_attr(self):
        key = self.rng.choice(list(MQ_KEEP) + list(MQ_CHURN) + list(SEM_KEEP))
        try:
            if key in SEM_KEEP:
                s = sysv_ipc.Semaphore(key)
                (s.value, s.waiting_for_nonzero, s.mode, s.o_time)
            else:
                q = sysv_ipc.MessageQueue(key)
                (q.current_messages, q.max_size, q.last_send_pid, q.mode)
            self.count("mod.attr", 0)
        except sysv_ipc.ExistentialError:
            self.count("mod.attr", 1)
