"""sysv_ipc: arguments that run code in the middle of a call.

An argument's __index__, a generator or a list that an item's conversion
mutates runs Python code while a method is converting its arguments; that
code may detach, remove or re-make the very handle the method works on.
Each case below once crashed or corrupted memory.  Every call must now
either work or raise a normal exception.  Each case runs in a child
process, so that a crash fails the one test instead of the suite.
"""

import textwrap

import pytest

import sysv_ipc
from fs_paths import NOBODY
from sysv_ipc_support import run_child

# In every child: an int-like object that runs f on conversion
# (children/reentry.py).
PRELUDE = "from reentry import CREX, Idx\n"


def survives(code, **kwargs):
    done = run_child(PRELUDE + textwrap.dedent(code) + "\nprint('ok')\n",
                     **kwargs)
    assert done.returncode == 0 and done.stdout.strip() == "ok", \
        "child exited with %d:\n%s" % (done.returncode, done.stderr)


def test_read_whose_count_detaches_raises_not_attached():
    # The attachment was taken before the conversion, and detach() freed
    # it: read() then copied from unmapped memory (SIGSEGV).
    survives("""
        shm = sysv_ipc.SharedMemory(None, CREX, size=1 << 20)
        try:
            shm.read(Idx(shm.detach, 1 << 20))
        except sysv_ipc.NotAttachedError:
            pass
        else:
            raise AssertionError("read() after detach() worked")
        shm.remove()
    """)


def test_write_whose_offset_detaches_raises_not_attached():
    survives("""
        shm = sysv_ipc.SharedMemory(None, CREX, size=1 << 20)
        try:
            shm.write(b"x" * 4096, Idx(shm.detach, 65536))
        except sysv_ipc.NotAttachedError:
            pass
        else:
            raise AssertionError("write() after detach() worked")
        shm.remove()
    """)


def test_read_whose_offset_remakes_the_handle_checks_the_new_segment():
    survives("""
        big = sysv_ipc.SharedMemory(None, CREX, size=1 << 20)
        small = sysv_ipc.SharedMemory(None, CREX, size=4096)
        def remake():
            big.__init__(small.key)
        try:
            big.read(16, Idx(remake, 500000))
        except ValueError:
            pass
        else:
            raise AssertionError("read past the new segment's end")
        assert big.id == small.id
        big.write(b"abc", Idx(remake, 10))
        assert small.read(3, 10) == b"abc"
        small.remove()
        sysv_ipc.remove_shared_memory(sysv_ipc.attach(small.id).id)
    """)


def test_operate_whose_index_clears_the_list_uses_what_was_given():
    # operate() read the list in place; __index__ emptied it under it
    # (NULL dereference).
    survives("""
        s = sysv_ipc.SemaphoreSet(None, 3, CREX, initial_values=1)
        ops = []
        ops += [(Idx(ops.clear, 0), -1), (1, -1)]
        s.operate(ops)
        assert s.values == (0, 0, 1), s.values
        item = [0, 1]
        item[0] = Idx(item.clear, 2)
        s.operate([item])
        assert s.values == (0, 0, 2), s.values
        s.remove()
    """)


def test_values_generator_that_remakes_the_handle_sets_no_stack_bytes():
    # SETALL was sized for the old set and run on the new, bigger one:
    # it read past the buffer and stored stack bytes in the set.
    survives("""
        s = sysv_ipc.SemaphoreSet(None, 3, CREX)
        big = sysv_ipc.SemaphoreSet(None, 200, CREX)
        def values():
            s.__init__(big.key, 0)
            yield from (7, 7, 7)
        try:
            s.values = values()
        except ValueError as e:
            # Not the kernel's ERANGE for stack bytes above 32767.
            assert "3 values given for a set of 200" in str(e), e
        else:
            raise AssertionError("3 values stored in a set of 200")
        assert big.values == (0,) * 200, big.values
        s.values = (5 for _ in range(200))
        assert big.values == (5,) * 200
        s.remove()
    """)


def test_initial_values_may_be_a_generator():
    # They were read twice (checked, then stored): the second time the
    # generator was empty.
    survives("""
        s = sysv_ipc.SemaphoreSet(None, 3, CREX,
                                  initial_values=(v for v in (1, 2, 3)))
        assert s.values == (1, 2, 3), s.values
        s.remove()
    """)


def test_failed_reinit_leaves_the_set_handle_as_it_was(made):
    # The id changed before the IPC_STAT that gives nsems failed, so the
    # handle paired the new set's id with the old set's size: SETALL then
    # read past its buffer.  Here the second set is write-only for
    # nobody, whose IPC_STAT fails.
    mine = made.sem_set(3, None, 3, sysv_ipc.IPC_CREX, 0o666)
    theirs = made.sem_set(200, None, 200, sysv_ipc.IPC_CREX, 0o222)
    survives("""
        s = sysv_ipc.SemaphoreSet(%d, 0)
        try:
            s.__init__(%d, 0, 0, 0o200)  # asks for write only
        except sysv_ipc.PermissionsError:
            pass
        else:
            raise AssertionError("IPC_STAT allowed")
        assert (s.id, len(s)) == (%d, 3), (s.id, len(s))
        s.values = (4, 4, 4)
    """ % (mine.key, theirs.key, mine.id), user=NOBODY)
    assert mine.values == (4, 4, 4)
    assert theirs.values == (0,) * 200


def test_every_method_survives_arguments_that_detach_remove_or_remake():
    # The audit: each method and setter that converts an int argument,
    # given one whose __index__ detaches, removes or re-makes the handle.
    survives("""
        import itertools
        def objects():
            shm = sysv_ipc.SharedMemory(None, CREX, size=65536)
            sem = sysv_ipc.Semaphore(None, CREX, initial_value=5)
            s = sysv_ipc.SemaphoreSet(None, 4, CREX, initial_values=5)
            mq = sysv_ipc.MessageQueue(None, CREX, max_message_size=4096)
            sem.block = s.block = False  # a re-made handle keeps them
            return shm, sem, s, mq
        def hostile(obj, value):
            other = type(obj)(None, CREX) if not isinstance(
                obj, sysv_ipc.SemaphoreSet) else sysv_ipc.SemaphoreSet(
                    None, 1, CREX)
            actions = [obj.remove, lambda: obj.__init__(other.key, 0)
                       if isinstance(obj, sysv_ipc.SemaphoreSet)
                       else obj.__init__(other.key)]
            if isinstance(obj, sysv_ipc.SharedMemory):
                actions.append(obj.detach)
            return [Idx(a, value) for a in actions], other
        calls = [
            (0, lambda o, x: o.read(x), 1),
            (0, lambda o, x: o.read(8, x), 4),
            (0, lambda o, x: o.write(b"z" * 100, x), 8),
            (0, lambda o, x: o.attach(None, x), 0),
            (0, lambda o, x: memoryview(o)[x], 3),
            (1, lambda o, x: o.acquire(None, x), 1),
            (1, lambda o, x: o.release(x), 1),
            (1, lambda o, x: setattr(o, "value", x), 1),
            (1, lambda o, x: o.acquire(x), 0),
            (2, lambda o, x: o.acquire(x, 0), 1),
            (2, lambda o, x: o.release(0, x), 1),
            (2, lambda o, x: o.operate([(x, -1), (1, 1)], 0), 0),
            (2, lambda o, x: o.__setitem__(x, 3), 0),
            (2, lambda o, x: o.set_value(0, x), 0),
            (2, lambda o, x: o[x], 0),
            (2, lambda o, x: o.get_value(x), 0),
            (3, lambda o, x: o.send(b"m" * 3000, True, x), 1),
            (3, lambda o, x: o.send(b"m" * 10, x, 1), 1),
            (3, lambda o, x: o.receive(False, x), 0),
            (3, lambda o, x: setattr(o, "max_size", 16384), 0),
        ]
        for which, call, value in calls:
            for k in range(3):
                objs = objects()
                obj = objs[which]
                args, other = hostile(obj, value)
                if k >= len(args):
                    continue
                if which == 3:
                    obj.send(b"q" * 100)
                try:
                    call(obj, args[k])
                except (sysv_ipc.Error, ValueError, IndexError, OSError,
                        TypeError):
                    pass
                for o in objs + (other,):
                    try:
                        o.remove()
                    except sysv_ipc.Error:
                        pass
    """, timeout=60)


def test_send_longer_than_msgmax_is_oserror_not_existential(made):
    # msgsnd() answers EINVAL for a message longer than MSGMAX; on a live
    # queue that is not "the queue no longer exists" but what 1.1.0
    # raises there: OSError(EINVAL).
    import errno
    with open("/proc/sys/kernel/msgmax") as f:
        msgmax = int(f.read())
    mq = made.mq(None, sysv_ipc.IPC_CREX, max_message_size=2 * msgmax + 8)
    for message in (b"x" * (msgmax + 1), bytearray(2 * msgmax),
                    "é" * (msgmax // 2 + 1)):
        with pytest.raises(OSError) as info:
            mq.send(message)
        assert info.value.errno == errno.EINVAL
        assert "MSGMAX" in str(info.value)
    mq.send(b"x" * msgmax)
    assert mq.current_messages == 1
    # Longer than the queue's own limit: it cannot fit now (the limit may
    # be raised later, so a blocking send would wait).
    mq.max_size = 100
    with pytest.raises(sysv_ipc.BusyError):
        mq.send(b"y" * 101, block=False)
    mq.remove()
    with pytest.raises(sysv_ipc.ExistentialError):
        mq.send(b"x" * (msgmax + 1))
