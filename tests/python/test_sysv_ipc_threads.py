"""sysv_ipc: one handle shared by many threads.

Threads detach, remove and re-make (call __init__ again on) a handle while
others read, write, acquire, receive and hold memoryviews of it.  Whatever
the interleaving, every call either works or raises a normal exception;
nothing crashes, and no call raises SystemError.  The GIL is switched as
often as CPython allows, and each thread makes a fixed number of random
calls (no timing is asserted).  Each kind runs in a child process, so
that a crash fails its test alone.
"""

import textwrap

import pytest

from sysv_ipc_support import run_child, under_asan

# Calls per thread; the ASan build is about 3 times slower.
ROUNDS = 1000 if under_asan() else 3000

# The threads and the check, in every child (children/threads_harness.py).
HARNESS = "from threads_harness import CREX, arg, run\n"


def hammered(code):
    done = run_child(HARNESS + textwrap.dedent(code), timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", \
        "child exited with %d:\n%s" % (done.returncode, done.stderr)


def test_shared_memory_under_threads():
    hammered("""
        sizes = [4096, 65536, 1 << 20]
        segs = [sysv_ipc.SharedMemory(None, CREX, size=n) for n in sizes]
        shm = sysv_ipc.SharedMemory(segs[0].key)
        views = []
        def read(rng):
            shm.read(arg(rng, rng.randrange(0, 1 << 20)),
                     arg(rng, rng.randrange(0, 4096)))
        def write(rng):
            shm.write(b"w" * rng.randrange(0, 70000),
                      arg(rng, rng.randrange(0, 4096)))
        def view(rng):
            with memoryview(shm) as v:
                v[arg(rng, rng.randrange(len(v)))] = 1
                bytes(v[-100:])
        def keep_view(rng):
            views.append(memoryview(shm))
            if len(views) > 8:
                views.pop(rng.randrange(len(views))).release()
        def use_kept_view(rng):
            if views:
                v = views[rng.randrange(len(views))]
                v[len(v) - 1] = 2
                v[0]
        def detach(rng):
            shm.detach()
        def attach(rng):
            shm.attach()
        def remake(rng):
            shm.__init__(rng.choice(segs).key)
        def remove(rng):
            shm.remove()
        def properties(rng):
            shm.attached, shm.address, shm.size, shm.number_attached
        def drop(rng):
            sysv_ipc.attach(rng.choice(segs).id).read(1)
        actions = [read, write, view, keep_view, use_kept_view, detach,
                   attach, remake, remove, properties, drop,
                   read, write, read, write]
        run(actions, 6, %d)
        for v in views:
            v.release()
    """ % ROUNDS)


def test_semaphores_under_threads():
    hammered("""
        sems = [sysv_ipc.Semaphore(None, CREX, initial_value=3)
                for _ in range(3)]
        sem = sysv_ipc.Semaphore(sems[0].key)
        sets = [sysv_ipc.SemaphoreSet(None, n, CREX, initial_values=3)
                for n in (1, 4, 100)]
        sset = sysv_ipc.SemaphoreSet(sets[0].key, 0)
        def acquire(rng):
            sem.acquire(rng.choice([0, 0.001]))
        def release(rng):
            sem.release(arg(rng, 1))
        def value(rng):
            sem.value = rng.randrange(0, 5)
            sem.value
        def remake(rng):
            sem.__init__(rng.choice(sems).key)
        def with_(rng):
            sem.block = False
            with sem:
                pass
        def set_operate(rng):
            n = len(sset)
            ops = [(arg(rng, rng.randrange(n + 1)), arg(rng, -1)),
                   (arg(rng, 0), 1)]
            sset.operate(ops if rng.random() < 0.5 else iter(ops), 0.001)
        def set_values(rng):
            sset.values = [1] * len(sset)
            # A generator runs code: the handle may change meanwhile.
            sset.values = (v for v in [2] * len(sset))
            sset.values
        def set_item(rng):
            sset[arg(rng, rng.randrange(-3, 3))] = 2
            sset[arg(rng, rng.randrange(-3, 3))]
        def set_remake(rng):
            sset.__init__(rng.choice(sets).key, 0)
        def set_acquire(rng):
            sset.acquire(arg(rng, rng.randrange(3)), 0, arg(rng, 1))
            sset.release(arg(rng, 0))
        def remove(rng):
            rng.choice([sem, sset]).remove()
        actions = [acquire, release, value, remake, with_, set_operate,
                   set_values, set_item, set_remake, set_acquire, remove,
                   acquire, release, set_operate, set_values]
        run(actions, 6, %d)
    """ % ROUNDS)


def test_message_queue_under_threads():
    # A thread may wait in a blocking receive() for a message another
    # took: the main thread sends to every queue until all are done.
    hammered("""
        queues = [sysv_ipc.MessageQueue(None, CREX, max_message_size=n)
                  for n in (16, 8192, 100000)]
        mq = sysv_ipc.MessageQueue(queues[0].key)
        def send(rng):
            mq.send(b"s" * rng.choice([1, 10, 100, 5000, 9000]),
                    block=False, type=arg(rng, rng.randrange(1, 4)))
        def receive(rng):
            mq.receive(False, arg(rng, rng.randrange(-3, 4)))
        def receive_wait(rng):
            mq.send(b"r" * rng.choice([1, 5000]), block=False)
            mq.receive(True)
        def remake(rng):
            mq.__init__(rng.choice(queues).key,
                        max_message_size=rng.choice([1, 16, 8192, 100000]))
        def remove(rng):
            mq.remove()
        def properties(rng):
            mq.current_messages, mq.max_size
        actions = [send, receive, receive_wait, remake, remove, properties,
                   send, receive, send, receive]
        def nudge():
            for q in queues:
                try:
                    q.send(b"wake", block=False)
                except sysv_ipc.Error:
                    pass
        run(actions, 6, %d, nudge)
    """ % ROUNDS)
