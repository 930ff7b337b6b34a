"""sysv_ipc: no memory kept per call, on the hot paths and on the error
paths (a leaked object or buffer per call shows as growth of the memory
tracemalloc sees, or of the process's RSS)."""

import gc
import tracemalloc

import pytest

import sysv_ipc
from test_sysv_ipc_support import (  # noqa: F401 (fixture)
    made, run_child, under_asan)

CREX = sysv_ipc.IPC_CREX
ROUNDS = 3000


def growth(step, rounds=ROUNDS):
    """Bytes of traced memory still held after `rounds` more calls."""
    for _ in range(200):  # warm caches and free lists
        step()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(rounds):
            step()
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            step()
        gc.collect()
        second = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return second - first


def expect_error(call, exc):
    def step():
        try:
            call()
        except exc:
            pass
        else:
            raise AssertionError("no %s" % exc.__name__)
    return step


@pytest.fixture
def objs(made):
    sem = made.sem(initial_value=1)
    sset = made.sem_set(4, initial_values=1)
    shm = made.shm(size=8192)
    mq = made.mq(None, CREX, max_message_size=8192)
    return sem, sset, shm, mq


CASES = {
    "sem acquire release": lambda o: lambda: (o[0].acquire(), o[0].release()),
    "sem acquire timeout": lambda o: lambda: (o[0].acquire(1.5, 1),
                                              o[0].release(delta=1)),
    "sem value": lambda o: lambda: setattr(o[0], "value", o[0].value),
    "sem attributes": lambda o: lambda: (o[0].mode, o[0].o_time,
                                         o[0].last_pid, o[0].uid, str(o[0]),
                                         repr(o[0])),
    "sem with": lambda o: lambda: o[0].__enter__() and o[0].__exit__(),
    "set operate": lambda o: lambda: o[1].operate([(0, -1), (1, 1)]) or
    o[1].operate([(0, 1), (1, -1)]),
    "set values": lambda o: lambda: setattr(o[1], "values", o[1].values),
    "set index": lambda o: lambda: o[1].__setitem__(2, o[1][2]),
    "shm write read": lambda o: lambda: (o[2].write(b"x" * 64, 8),
                                         o[2].read(64, 8)),
    "shm write str": lambda o: lambda: o[2].write("ünï"),
    "shm write bytearray": lambda o: lambda: o[2].write(bytearray(100)),
    "shm memoryview": lambda o: lambda: bytes(memoryview(o[2])[:16]),
    "shm attributes": lambda o: lambda: (o[2].size, o[2].number_attached,
                                         o[2].address, o[2].attached),
    "mq small": lambda o: lambda: (o[3].send(b"m" * 64), o[3].receive()),
    "mq long": lambda o: lambda: (o[3].send(b"L" * 8192), o[3].receive()),
    "mq mixed": lambda o: lambda: (o[3].send(b"L" * 6000),
                                   o[3].send(b"s", type=2),
                                   o[3].receive(), o[3].receive()),
    "mq kept": lambda o: lambda: [o[3].send(b"k" * 5000) for _ in range(2)]
    and [o[3].receive() for _ in range(2)],
    "mq str": lambda o: lambda: (o[3].send("é" * 10, type=3),
                                 o[3].receive(type=3)),
}

ERROR_CASES = {
    "busy acquire": lambda o: expect_error(lambda: o[0].acquire(0, 2),
                                           sysv_ipc.BusyError),
    "busy receive": lambda o: expect_error(lambda: o[3].receive(False, 9),
                                           sysv_ipc.BusyError),
    "value error": lambda o: expect_error(
        lambda: setattr(o[0], "value", -1), ValueError),
    "type error": lambda o: expect_error(lambda: o[0].acquire("x"),
                                         TypeError),
    "bad keyword": lambda o: expect_error(lambda: o[2].read(nope=1),
                                          TypeError),
    "read past end": lambda o: expect_error(lambda: o[2].read(1, 10**6),
                                            ValueError),
    "write past end": lambda o: expect_error(
        lambda: o[2].write(b"x" * 9000), ValueError),
    "long message": lambda o: expect_error(
        lambda: o[3].send(b"x" * 9000), ValueError),
    "missing key": lambda o: expect_error(
        lambda: sysv_ipc.Semaphore(31999), sysv_ipc.ExistentialError),
    "bad index": lambda o: expect_error(lambda: o[1][9], IndexError),
    "oserror": lambda o: expect_error(
        lambda: sysv_ipc.ftok("/no/such", 1, True), OSError),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hot_paths_keep_nothing(objs, case):
    assert growth(CASES[case](objs)) < 4096


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_error_paths_keep_nothing(objs, case):
    assert growth(ERROR_CASES[case](objs)) < 4096


def test_objects_made_and_dropped_keep_nothing(made):
    def step():
        for cls in (sysv_ipc.Semaphore, sysv_ipc.SharedMemory,
                    sysv_ipc.MessageQueue):
            cls(None, CREX).remove()
        sysv_ipc.SemaphoreSet(None, 3, CREX, initial_values=[1, 2, 3]).remove()
    assert growth(step, 300) < 4096


@pytest.mark.skipif(under_asan(), reason="ASan's quarantine holds freed "
                    "memory, so RSS grows")
def test_rss_stays_flat_over_many_calls():
    # Memory that tracemalloc cannot see (the C library's, the kernel's
    # mappings): RSS after 200,000 more mixed calls.
    done = run_child("""
        import resource
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * resource.getpagesize()
        sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, initial_value=1)
        shm = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096)
        mq = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX,
                                   max_message_size=8192)
        try:
            def rounds(n):
                for i in range(n):
                    sem.acquire(); sem.release()
                    shm.write(b"y" * 64); shm.read(64)
                    mq.send(b"z" * (64 if i % 2 else 6000)); mq.receive()
                    bytes(memoryview(shm)[:8])
                    sysv_ipc.SharedMemory(shm.key).read(1)
            rounds(20000)
            before = rss()
            rounds(50000)
            print(rss() - before)
        finally:
            sem.remove(); shm.remove(); mq.remove()
    """, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 512 * 1024
