"""sysv_ipc.SemaphoreSet (an addition): creation and initial values,
per-element values, atomic operate(), per-element acquire/release/Z,
other processes and signals."""

import os
import time

import pytest

import sysv_ipc
from suite import wait_until
from sysv_ipc_support import blocked_child, interrupt, run_child

CREX = sysv_ipc.IPC_CREX
SS = sysv_ipc.SemaphoreSet


# ---------------------------------------------------------------- creation


def test_new_set(made):
    s = made.sem_set(4)
    assert s.nsems == len(s) == 4
    assert s.values == (0, 0, 0, 0)
    assert s.o_time == 0 and s.last_change_time > 0
    assert s.mode == 0o600 and s.block is True and s.undo is False
    assert 1 <= s.key <= 32767


def test_initial_values(made):
    assert made.sem_set(3, initial_values=[1, 2, 3]).values == (1, 2, 3)
    assert made.sem_set(3, initial_values=(4, 5, 6)).values == (4, 5, 6)
    assert made.sem_set(3, initial_values=7).values == (7, 7, 7)
    assert made.sem_set(2, initial_values=range(2)).values == (0, 1)


@pytest.mark.parametrize("bad,exc", [
    ([1, 2], ValueError), ([1, 2, 3, 4], ValueError), ([0, 0, -1], ValueError),
    ([0, 0, 32768], ValueError), (["1", 0, 0], TypeError), (1.5, TypeError),
    (-1, ValueError)])
def test_bad_initial_values_create_nothing(bad, exc):
    with pytest.raises(exc):
        SS(None, 3, CREX, initial_values=bad)
    assert open("/proc/sysvipc/sem").readlines()[1:] == []


def test_open_existing_with_nsems_zero_or_less(made):
    s = made.sem_set(5, initial_values=1)
    for n in (0, 3, 5):
        other = SS(s.key, n)
        assert other.id == s.id and other.nsems == 5
    with pytest.raises(ValueError):
        SS(s.key, 6)  # more than the set has


def test_initial_values_applied_when_given_only(made):
    s = made.sem_set(2, initial_values=[3, 4])
    SS(s.key, 0)
    SS(s.key, 2, sysv_ipc.IPC_CREAT)
    assert s.values == (3, 4)
    SS(s.key, 0, initial_values=[8, 9])
    assert s.values == (8, 9)
    with pytest.raises(ValueError):
        SS(s.key, 0, initial_values=[1, 2, 3])
    assert s.values == (8, 9)


def test_creation_errors(made):
    with pytest.raises(ValueError):
        SS(None, 3, sysv_ipc.IPC_CREAT)
    with pytest.raises(ValueError):
        SS(None, -1, CREX)
    with pytest.raises(ValueError):
        SS(None, 0, CREX)  # a new set needs at least one
    with pytest.raises(ValueError):
        SS(None, 100000, CREX)  # above SEMMSL
    with pytest.raises(TypeError):
        SS(None)
    s = made.sem_set(1)
    with pytest.raises(sysv_ipc.ExistentialError):
        SS(s.key, 1, CREX)
    s.remove()
    with pytest.raises(sysv_ipc.ExistentialError):
        SS(s.key, 0)


# ------------------------------------------------------------------ values


def test_indexing_and_get_set_value(made):
    s = made.sem_set(3)
    s[0] = 5
    s.set_value(1, 6)
    s.set_value(num=2, value=7)
    assert (s[0], s[1], s[2]) == (5, 6, 7)
    assert s[-1] == 7 and s[-3] == 5
    assert [s.get_value(i) for i in range(3)] == [5, 6, 7]
    s[-1] = 1
    assert s.values == (5, 6, 1)
    for bad in (3, -4, 100):
        with pytest.raises(IndexError):
            s[bad]
        with pytest.raises(IndexError):
            s[bad] = 1
    for bad in (3, -1):
        with pytest.raises(IndexError):
            s.get_value(bad)
        with pytest.raises(IndexError):
            s.set_value(bad, 1)
    with pytest.raises(TypeError):
        s["0"]
    with pytest.raises(TypeError):
        del s[0]
    with pytest.raises(ValueError):
        s[0] = 32768
    with pytest.raises(TypeError):
        s[0] = "1"
    assert s.values == (5, 6, 1)


def test_values_attribute(made):
    s = made.sem_set(3)
    s.values = [1, 2, 3]
    assert s.values == (1, 2, 3)
    s.values = 9
    assert s.values == (9, 9, 9)
    with pytest.raises(ValueError):
        s.values = [1, 2]
    with pytest.raises(TypeError):
        s.values = None
    with pytest.raises((TypeError, AttributeError)):
        del s.values
    assert s.values == (9, 9, 9)


def test_large_set_uses_the_heap_path(made):
    s = made.sem_set(200)
    s.values = list(range(200))
    assert s.values == tuple(range(200))
    s.operate([(i, 1) for i in range(200)])
    assert s.values == tuple(range(1, 201))


# ----------------------------------------------------------------- operate


def test_operate_is_atomic(made):
    s = made.sem_set(3, initial_values=[1, 0, 5])
    s.operate([(0, -1), (2, 2)])
    assert s.values == (0, 0, 7)
    # The second op cannot proceed, so neither happens.
    with pytest.raises(sysv_ipc.BusyError):
        s.operate([(2, -1), (1, -1)], block=False)
    assert s.values == (0, 0, 7)
    with pytest.raises(sysv_ipc.BusyError):
        s.operate([(2, -1), (1, -1)], timeout=0)
    assert s.values == (0, 0, 7)


def test_operate_wait_for_zero(made):
    s = made.sem_set(2, initial_values=[0, 1])
    s.operate([(0, 0), (1, -1)])
    assert s.values == (0, 0)
    s[0] = 1
    with pytest.raises(sysv_ipc.BusyError):
        s.operate([(0, 0)], timeout=0.1)


def test_operate_timeout(made):
    s = made.sem_set(1)
    start = time.monotonic()
    with pytest.raises(sysv_ipc.BusyError):
        s.operate([(0, -1)], timeout=0.3)
    assert 0.28 <= time.monotonic() - start < 1.5


def test_operate_per_op_flags(made):
    s = made.sem_set(2, initial_values=[0, 1])
    with pytest.raises(sysv_ipc.BusyError):
        s.operate([(1, -1), (0, -1, sysv_ipc.IPC_NOWAIT)])
    assert s.values == (0, 1)
    with pytest.raises(ValueError):
        s.operate([(0, 1, 0x8000)])


def test_operate_argument_errors(made):
    s = made.sem_set(2)
    for bad in ([], [(0,)], [(0, 1, 0, 0)], [5], [(2, 1)], [(-1, 1)],
                [(0, 40000)], None, [(0, "1")]):
        with pytest.raises((TypeError, ValueError, IndexError,
                            OverflowError)):
            s.operate(bad)
    assert s.values == (0, 0)


def test_operate_too_many_operations_is_oserror(made):
    s = made.sem_set(1)
    with pytest.raises(OSError) as info:
        s.operate([(0, 1)] * 1000)
    assert info.value.errno == 7
    assert s.values == (0,)


def test_operate_range_error(made):
    s = made.sem_set(1, initial_values=32767)
    with pytest.raises(ValueError):
        s.operate([(0, 1)])


def test_operate_undo(made):
    s = made.sem_set(2, initial_values=[1, 1])
    done = run_child("""
        s = sysv_ipc.SemaphoreSet(%d, 0)
        s.operate([(0, -1), (1, 1)], undo=True)
        print(s.values)
    """ % s.key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(0, 2)"
    assert s.values == (1, 1)


# -------------------------------------------------- per-element operations


def test_acquire_release_z(made):
    s = made.sem_set(3, initial_values=[2, 0, 0])
    s.acquire(0)
    s.acquire(0, None, -1)
    s.release(1, 3)
    s.release(num=2)
    assert s.values == (0, 3, 1)
    with pytest.raises(sysv_ipc.BusyError):
        s.acquire(0, 0)
    with pytest.raises(sysv_ipc.BusyError):
        s.Z(1, timeout=0.05)
    s.Z(0)
    with pytest.raises(ValueError):
        s.acquire(0, delta=0)
    with pytest.raises(IndexError):
        s.release(3)
    with pytest.raises(TypeError):
        s.acquire()
    s.block = False
    with pytest.raises(sysv_ipc.BusyError):
        s.acquire(0)
    assert s.get_last_pid(0) == os.getpid()
    assert s.o_time > 0


def wait_for_a_waiter(s):
    """Until one process waits for element 0 of set s to be nonzero."""
    assert wait_until(lambda: s.get_waiting_for_nonzero(0) == 1, 10.0)


def test_counts_and_pids_per_element(made, child):
    s = made.sem_set(2, initial_values=[0, 1])
    c = child("""
        s = sysv_ipc.SemaphoreSet(%d, 0)
        s.operate([(0, -1)])
        print("got")
    """ % s.key)
    wait_for_a_waiter(s)
    assert s.get_waiting_for_nonzero(1) == 0
    assert s.get_waiting_for_zero(0) == 0
    s.release(0)
    c.expect("got")
    assert c.wait()[0] == 0
    assert s.get_last_pid(0) == c.proc.pid


def test_other_process_waits_for_all_of_an_operation(made, child):
    s = made.sem_set(2)
    c = child("""
        s = sysv_ipc.SemaphoreSet(%d, 0)
        s.operate([(0, -1), (1, -1)])
        print("both")
    """ % s.key)
    wait_for_a_waiter(s)
    s.release(0)
    time.sleep(0.2)
    assert c.proc.poll() is None and s.values == (1, 0)
    s.release(1)
    c.expect("both")
    assert c.wait()[0] == 0
    assert s.values == (0, 0)


def test_sigint_in_operate(made, child):
    s = made.sem_set(1)
    c = blocked_child(child, "s = sysv_ipc.SemaphoreSet(%d, 0)\n" % s.key,
                      "s.operate([(0, -1)], timeout=60)", "KeyboardInterrupt")
    wait_for_a_waiter(s)
    interrupt(c, 0)


def test_removed_set(made):
    s = made.sem_set(2)
    s.remove()
    for call in (lambda: s.values, lambda: s[0], lambda: s.release(0),
                 lambda: s.operate([(0, 1)]), s.remove,
                 lambda: s.get_value(0)):
        with pytest.raises(sysv_ipc.ExistentialError):
            call()
    assert len(s) == 2
