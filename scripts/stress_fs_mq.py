"""The calls of scripts/stress.py's workers on message queues through the
mount: send and receive files, plain and type/<t>/, blocking and
O_NONBLOCK, poll, a too-small buffer, a second read after the message."""

import ctypes
import errno
import fcntl
import os
import select
import struct

from isolated import libc
from stress_caller import DAEMON_GONE
from stress_ledger import LAND, LANDING, now
from stress_messages import log_msg_line, make_msg
from stress_objects import MQ_CHURN


class FsQueueCalls:
    """Mixed into stress_worker.Worker."""

    def fs_send(self):
        r = self.rng.random()
        key = self.mq_key()
        stale = r < 0.1
        oversize = 0.1 <= r < 0.13
        nb = self.rng.random() < 0.4
        op = ("fs.send.stale" if stale else "fs.send.oversize" if oversize
              else "fs.send.nb" if nb else "fs.send")
        mtype = self.rng.choice((1, 1, 2, 3))
        name = ("send" if mtype == 1 and self.rng.random() < 0.5
                else "type/%d/send" % mtype)
        if name == "send":
            mtype = 1
        if stale and key in self.stale and self.stale[key][2] == "mq":
            fd, qid, _, mtype = self.stale[key]
            own = False
            nb = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
        else:
            dfd, qid = self.objdir("mq", key)
            flags = os.O_WRONLY | (os.O_NONBLOCK if nb else 0)
            fd = os.open(name, flags, dir_fd=dfd)
            own = True
            if stale:
                old = self.stale.pop(key, None)
                if old:
                    os.close(old[0])
                self.stale[key] = (fd, qid, "mq", mtype if name != "send"
                                   else 1)
                own = False
        closed = False
        try:
            n = (self.rng.randrange(600, 800) if oversize and key == 1001
                 else self.rng.choice((0, 5, 40, 200, 700)))
            msgid = "%d.%d" % (self.inc, self.seq + 1)
            msg = make_msg(msgid, qid, mtype, n)
            seq = self.begin("%s %s qid %d" % (op, name, qid), wait=not nb)
            self.log("B %d send %s %d %d %d fs %s\n"
                     % (seq, msgid, qid, mtype, len(msg), now()))
            if not nb:
                self.arm()
            # One open for writing is one message, sent at the close (the
            # FLUSH): ours is closed, a kept descriptor is flushed by the
            # close of a dup.  The close tells the send's outcome; after a
            # refused write it ends the refused message.
            k = libc.write(fd, msg, len(msg))
            err = ctypes.get_errno() if k < 0 else 0
            if own:
                c = libc.close(fd)
                own, closed = False, True
            else:
                c = libc.close(os.dup(fd))
            if err == 0 and c < 0:
                err = ctypes.get_errno()
                k = -1
            self.disarm()
            self.idle()
            self.log("E %d %s\n" % (seq, "ok" if k == len(msg) else
                                    errno.errorcode.get(err, err) if k < 0
                                    else "short%d" % k))
            expected = {errno.EAGAIN}
            if len(msg) > 512 or key in MQ_CHURN:
                expected.add(errno.EMSGSIZE)  # too long, or max_size 0
            desc = "write %d bytes to mq/%d/%s (qid %d)" % (len(msg), key,
                                                          name, qid)
            if 0 <= k < len(msg):
                self.unexpected(op, desc + ": short write %d" % k, 0)
            else:
                self.outcome(op, err, expected, desc)
            if err in DAEMON_GONE or err == errno.ENOENT:
                self.stale.pop(key, None)
                own = not closed
        finally:
            if own:
                os.close(fd)

    def fs_recv(self):
        key = self.mq_key()
        r = self.rng.random()
        nb = r < 0.35
        small = 0.35 <= r < 0.42
        poll = 0.42 <= r < 0.55
        op = ("fs.recv.small" if small else "fs.recv.poll" if poll
              else "fs.recv.nb" if nb else "fs.recv")
        mtype = self.rng.choice((0, 0, 0, 1, 2, 3, -2, -3))
        name = "receive" if mtype == 0 else "type/%d/receive" % mtype
        dfd, qid = self.objdir("mq", key)
        flags = os.O_RDONLY | (os.O_NONBLOCK if (nb or small or poll) else 0)
        fd = os.open(name, flags, dir_fd=dfd)
        try:
            if poll:
                self.begin("select mq/%d/%s" % (key, name), killable=False)
                try:
                    ready = select.select([fd], [], [],
                                          self.rng.choice((0, 0.01, 0.1)))[0]
                finally:
                    self.idle()
                if not ready:
                    self.count(op, 1)
                    return
            size = 8 if small else LAND
            mm = self.sh.mm
            lb = self.base + LANDING
            mm[lb + 16:lb + 16 + 2 * LAND] = bytes(2 * LAND)
            struct.pack_into("<q", mm, lb, self.seq + 1)
            # A small reader takes the message with its first read and
            # the rest in pieces (never blocking: O_NONBLOCK); it is not
            # killed in between, so what it took is always logged.
            seq = self.begin("%s mq/%d/%s qid %d" % (op, key, name, qid),
                             killable=not small, wait=not nb)
            self.log("B %d recv %d %d %s\n" % (seq, qid, mtype, now()))
            blocking = not (nb or small or poll)
            if blocking:
                self.arm()
            k = libc.read(fd, self.land_addr + 16, size)
            err = ctypes.get_errno() if k < 0 else 0
            while small and k > 0:
                piece = libc.read(fd, self.land_addr + 16 + k,
                                  min(size, 2 * LAND - k))
                if piece <= 0:
                    break
                k += piece
            self.disarm()
            self.idle()
            if k > 0:
                self.log(log_msg_line("G", seq, bytes(mm[lb + 16:lb + 16 + k])))
            self.log("E %d %s\n" % (seq, "ok%d" % k if k >= 0 else
                                    errno.errorcode.get(err, err)))
            desc = "read %d from mq/%d/%s (qid %d)" % (size, key, name, qid)
            if k == 0:
                self.unexpected(op, desc + ": end of file before a message",
                                0)
            else:
                self.outcome(op, err,
                             {errno.EAGAIN} if (nb or small or poll)
                             else set(), desc)
            if k > 0 and self.rng.random() < 0.3:
                # A second read on the same open: end of file, never a
                # second message.
                k2 = libc.read(fd, self.land_addr + 16 + LAND, LAND)
                if k2 > 0:
                    self.log(log_msg_line("G", seq, bytes(
                        mm[lb + 16 + LAND:lb + 16 + LAND + k2])))
                    self.unexpected(op, desc + ": a second read on one open "
                                    "returned %d bytes" % k2, 0)
        finally:
            os.close(fd)
