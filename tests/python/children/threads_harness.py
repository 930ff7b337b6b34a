"""What every child of tests/python/test_sysv_ipc_threads.py imports: threads
that make random calls on one handle, and the check that none raised
anything but a normal exception.  The child's own script (the test's)
defines the actions and calls run(), which prints "ok"."""

import random
import sys
import threading

import sysv_ipc

# The GIL switched as often as CPython allows.
sys.setswitchinterval(1e-6)
CREX = sysv_ipc.IPC_CREX
# What a call may raise, whatever the interleaving.
EXPECTED = (sysv_ipc.Error, ValueError, OSError, IndexError, TypeError,
            BufferError)
unexpected = []


class N:
    # An int whose conversion runs Python code, where the GIL may pass to
    # another thread in the middle of a call.
    def __init__(self, value):
        self.value = value
    def __index__(self):
        for _ in range(20):  # a wider window for the switch
            pass
        return self.value


def arg(rng, value):
    return N(value) if rng.random() < 0.5 else value


def hammer(actions, seed, rounds):
    rng = random.Random(seed)
    for _ in range(rounds):
        try:
            rng.choice(actions)(rng)
        except EXPECTED:
            pass
        except BaseException as e:  # SystemError and the like
            unexpected.append(repr(e))


def run(actions, threads, rounds, nudge=lambda: None):
    # nudge() wakes threads that wait (here: for a message) until all end.
    ts = [threading.Thread(target=hammer, args=(actions, seed, rounds))
          for seed in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        while t.is_alive():
            nudge()
            t.join(0.05)
    assert not unexpected, unexpected[:5]
    print("ok")
