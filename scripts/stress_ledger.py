"""The page shared by the coordinator and every worker of scripts/stress.py
(an anonymous shared mapping made before the workers fork): control flags,
then one slot per worker with its status (what call it is in, since when,
whether it may be killed), its landing page (where a receiver reads a
message, so that the coordinator still has it if the receiver is killed
right after the read) and its counters (per operation and outcome).
"""

import mmap
import struct
import time

OPS = ("fs.send", "fs.send.nb", "fs.send.stale", "fs.send.oversize",
       "fs.recv", "fs.recv.nb", "fs.recv.poll", "fs.recv.small",
       "fs.sem.op", "fs.sem.op.nb", "fs.sem.stale", "fs.sem.invalid",
       "fs.value.read", "fs.value.write", "fs.value.invalid",
       "fs.attr.read", "fs.attr.write", "fs.ls", "fs.open", "fs.chmod",
       "fs.chown", "fs.shm.rw", "fs.shm.mmap", "fs.shm.trunc",
       "fs.shm.past_end", "fs.shm.read", "fs.mkdir", "fs.rmdir",
       "mod.send", "mod.recv", "mod.sem.op", "mod.semset.op", "mod.shm",
       "mod.attr", "mod.create", "mod.remove", "drain")
OPI = {name: i for i, name in enumerate(OPS)}
OUTCOMES = ("ok", "expected-fail", "interrupted", "unexpected")
CTRL = 64
SLOT = 16384
ST_DESC, LANDING, COUNTERS = 32, 1024, 8192
ST_IDLE, ST_CALL, ST_WAIT, ST_PAUSED, ST_DONE = 0, 1, 2, 3, 4
LAND = 2040          # receive buffer in the landing page (2 halves)


def now():
    return time.monotonic()


class Shared:
    """The page shared by the coordinator and every worker: control bytes,
    then per worker slot: status, landing page, counters."""

    def __init__(self, nslots):
        self.mm = mmap.mmap(-1, CTRL + nslots * SLOT)

    def flag(self, i):
        return self.mm[i]

    def set_flag(self, i, v):
        self.mm[i] = v

    def base(self, slot):
        return CTRL + slot * SLOT

    def status(self, slot):
        b = self.base(slot)
        state, killable = self.mm[b], self.mm[b + 1]
        t0, inc, pid = struct.unpack_from("<dii", self.mm, b + 8)
        desc = bytes(self.mm[b + ST_DESC:b + LANDING]).split(b"\0")[0]
        return state, killable, t0, inc, pid, desc.decode(errors="replace")

    def count(self, slot, op, outcome):
        off = self.base(slot) + COUNTERS + (OPI[op] * 4 + outcome) * 8
        struct.pack_into("<Q", self.mm, off,
                         struct.unpack_from("<Q", self.mm, off)[0] + 1)

    def counters(self, slot):
        b = self.base(slot) + COUNTERS
        return struct.unpack_from("<%dQ" % (len(OPS) * 4), self.mm, b)


# The control bytes at the start of the page.
STOP, PAUSE, FALLBACK, GEN = 0, 1, 2, 8
