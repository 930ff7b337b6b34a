"""sysv_ipc: no memory kept per call, on the hot paths and on the error
paths (a leaked object or buffer per call shows as growth of the memory
tracemalloc sees, or of the process's RSS).

The test_refs_* tests count references: under a debug interpreter
(python3-dbg, which has sys.gettotalrefcount) a reference leaked per call
shows as growth of the total, on every API path, success and error.  They
skip under a release interpreter; `scripts/test --refleaks` builds the
module for python3-dbg (build-dbg/) and runs them there."""

import errno
import gc
import sys
import tracemalloc

import pytest

import sysv_ipc
from sysv_ipc_support import run_child, under_asan

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


# ------------------------------------------------------------ references

needs_dbg = pytest.mark.skipif(
    not hasattr(sys, "gettotalrefcount"),
    reason="counting references needs a debug interpreter (python3-dbg: "
    "scripts/test --refleaks)")

REF_ROUNDS = 100


def refs_kept(step, rounds=REF_ROUNDS):
    """References still held after `rounds` more calls: the least of two
    runs, as a cache may fill during the first."""
    for _ in range(20):  # warm caches and free lists
        step()
    kept = []
    for _ in range(2):
        gc.collect()
        before = sys.gettotalrefcount()
        for _ in range(rounds):
            step()
        gc.collect()
        kept.append(sys.gettotalrefcount() - before)
    return min(kept)


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


class RaisingIndex:
    def __index__(self):
        raise RuntimeError("no")


def make_and_drop(make):
    def step():
        obj = make()
        try:
            obj.remove()
        except sysv_ipc.Error:
            pass
    return step


def shm_cycle(o):
    def step():
        shm = o[2]
        view = memoryview(shm)
        shm.detach()
        view.release()
        shm.attach(None, sysv_ipc.SHM_RDONLY)
        try:
            shm.write(b"x")
        except OSError:
            pass
        shm.detach()
        shm.attach()
    return step


def read_only_view(o):
    def step():
        shm = sysv_ipc.attach(o[2].id, None, sysv_ipc.SHM_RDONLY)
        with memoryview(shm) as v:
            v[:4].tobytes()
        try:
            memoryview(shm)[0] = 1
        except TypeError:
            pass
    return step


def mq_too_big(o):
    small = sysv_ipc.MessageQueue(o[3].key, max_message_size=8)

    def step():
        o[3].send(b"b" * 100)
        try:
            small.receive()
        except OSError as e:
            assert e.errno == errno.E2BIG
        o[3].receive()
    return step


with open("/proc/sys/kernel/msgmax") as f:
    MSGMAX = int(f.read())

REF_CASES = dict(CASES, **ERROR_CASES, **{
    "make sem": lambda o: make_and_drop(
        lambda: sysv_ipc.Semaphore(None, CREX, initial_value=2)),
    "make set": lambda o: make_and_drop(
        lambda: sysv_ipc.SemaphoreSet(None, 3, CREX,
                                      initial_values=iter([1, 2, 3]))),
    "make shm": lambda o: make_and_drop(
        lambda: sysv_ipc.SharedMemory(None, CREX, size=100)),
    "make mq": lambda o: make_and_drop(
        lambda: sysv_ipc.MessageQueue(None, CREX, max_message_size=100)),
    "open by key": lambda o: lambda: (
        sysv_ipc.Semaphore(o[0].key), sysv_ipc.SemaphoreSet(o[1].key, 0),
        sysv_ipc.SharedMemory(o[2].key), sysv_ipc.MessageQueue(o[3].key)),
    "re-init": lambda o: lambda: (
        o[0].__init__(o[0].key), o[1].__init__(o[1].key, 0),
        o[2].__init__(o[2].key), o[3].__init__(o[3].key, 0, 0o600, 8192)),
    "bad key": lambda o: expect_error(
        lambda: sysv_ipc.SharedMemory(2**40), ValueError),
    "exists": lambda o: expect_error(
        lambda: sysv_ipc.MessageQueue(o[3].key, CREX),
        sysv_ipc.ExistentialError),
    "bad set values": lambda o: expect_error(
        lambda: sysv_ipc.SemaphoreSet(None, 3, CREX, initial_values=[1, 2]),
        ValueError),
    "attach function": lambda o: lambda: sysv_ipc.attach(o[2].id).detach(),
    "attach missing": lambda o: expect_error(
        lambda: sysv_ipc.attach(-5), sysv_ipc.ExistentialError),
    "ftok": lambda o: lambda: sysv_ipc.ftok("/", 7, silence_warning=True),
    "remove missing": lambda o: lambda: [
        expect_error(lambda: f(987654), sysv_ipc.ExistentialError)()
        for f in (sysv_ipc.remove_semaphore, sysv_ipc.remove_shared_memory,
                  sysv_ipc.remove_message_queue)],
    "sem P V Z": lambda o: lambda: (o[0].P(), o[0].V(2), o[0].acquire(),
                                    expect_error(lambda: o[0].Z(0),
                                                 sysv_ipc.BusyError)()),
    "sem flags": lambda o: lambda: (
        setattr(o[0], "block", o[0].block), setattr(o[0], "undo", False),
        o[0].waiting_for_zero, o[0].waiting_for_nonzero, o[0].key, o[0].id,
        o[0].cuid, o[0].cgid, o[0].gid),
    "perm set": lambda o: lambda: [setattr(x, "mode", 0o600) for x in o],
    "perm errors": lambda o: lambda: (
        expect_error(lambda: setattr(o[0], "uid", "x"), TypeError)(),
        expect_error(lambda: setattr(o[1], "mode", -1), ValueError)(),
        expect_error(lambda: delattr(o[2], "gid"), AttributeError)(),
        expect_error(lambda: setattr(o[3], "id", 1), AttributeError)()),
    "sem release range": lambda o: expect_error(
        lambda: o[0].release(32767), ValueError),
    "sem delta index": lambda o: lambda: (o[0].acquire(None, Index(1)),
                                          o[0].release(Index(1))),
    "raising index": lambda o: lambda: [
        expect_error(f, RuntimeError)() for f in (
            lambda: o[0].release(RaisingIndex()),
            lambda: o[1][RaisingIndex()],
            lambda: o[2].read(RaisingIndex()),
            lambda: o[3].send(b"x", True, RaisingIndex()))],
    "set methods": lambda o: lambda: (
        o[1].get_value(0), o[1].set_value(1, 1), o[1].get_last_pid(2),
        o[1].get_waiting_for_nonzero(0), o[1].get_waiting_for_zero(1),
        o[1].acquire(0), o[1].release(0), o[1].nsems, len(o[1]), str(o[1]),
        repr(o[1]), o[1].o_time, o[1].last_change_time),
    "set operate list": lambda o: lambda: o[1].operate(
        [[Index(0), -1, 0], (1, 1)]) or o[1].operate(
        iter([(0, 1), (1, -1)]), None, True, False),
    "set operate errors": lambda o: lambda: (
        expect_error(lambda: o[1].operate([]), ValueError)(),
        expect_error(lambda: o[1].operate([(0, 1, 99)]), ValueError)(),
        expect_error(lambda: o[1].operate([(9, 1)]), IndexError)(),
        expect_error(lambda: o[1].operate(5), TypeError)(),
        expect_error(lambda: o[1].operate([(0, -5)], 0),
                     sysv_ipc.BusyError)()),
    "set values generator": lambda o: lambda: setattr(
        o[1], "values", (v for v in (1, 1, 1, 1))),
    "set values errors": lambda o: lambda: (
        expect_error(lambda: setattr(o[1], "values", [1] * 3), ValueError)(),
        expect_error(lambda: setattr(o[1], "values", [1, 2, "x", 3]),
                     TypeError)(),
        expect_error(lambda: setattr(o[1], "values", None), TypeError)()),
    "shm detach views": shm_cycle,
    "shm read-only views": read_only_view,
    "shm not attached": lambda o: lambda: (
        sysv_ipc.attach(o[2].id).detach(),
        [expect_error(f, sysv_ipc.NotAttachedError)() for f in (
            lambda: bare_shm(o).read(), lambda: bare_shm(o).write(b"x"),
            lambda: memoryview(bare_shm(o)), lambda: bare_shm(o).detach())]),
    "shm stat": lambda o: lambda: (
        o[2].last_attach_time, o[2].last_detach_time, o[2].creator_pid,
        o[2].last_pid, o[2].last_change_time, o[2].key, str(o[2]),
        repr(o[2])),
    "mq stat": lambda o: lambda: (
        o[3].current_messages, o[3].max_size, o[3].last_send_time,
        o[3].last_receive_time, o[3].last_send_pid, o[3].last_receive_pid,
        o[3].last_change_time, setattr(o[3], "max_size", o[3].max_size),
        str(o[3]), repr(o[3])),
    "mq too big to receive": mq_too_big,
    "mq send errors": lambda o: lambda: (
        expect_error(lambda: o[3].send(b"x", type=0), ValueError)(),
        expect_error(lambda: o[3].send(5), TypeError)(),
        expect_error(lambda: o[3].receive(type=2**70), OverflowError)()),
    "mq past msgmax": lambda o: expect_error(
        lambda: big_queue(o).send(b"m" * (MSGMAX + 1)), OSError),
    "mq memoryview": lambda o: lambda: (o[3].send(memoryview(b"v" * 50)),
                                        o[3].receive(block=False)),
})

_bare = {}


def bare_shm(o):
    if "shm" not in _bare:
        shm = sysv_ipc.SharedMemory(o[2].key)
        shm.detach()
        _bare["shm"] = shm
    return _bare["shm"]


def big_queue(o):
    if "mq" not in _bare or _bare["mq"].key != o[3].key:
        _bare["mq"] = sysv_ipc.MessageQueue(o[3].key,
                                            max_message_size=2 * MSGMAX)
    return _bare["mq"]


@needs_dbg
@pytest.mark.parametrize("case", list(REF_CASES))
def test_refs_every_path_keeps_none(objs, case):
    _bare.clear()
    try:
        assert refs_kept(REF_CASES[case](objs)) < REF_ROUNDS // 4
    finally:
        _bare.clear()
