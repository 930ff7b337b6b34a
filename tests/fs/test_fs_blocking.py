"""The calls that wait, through the mount as a user makes them: receive on
an empty queue, send on a full one, P and Z on a semaphore; O_NONBLOCK,
interrupts, and that nothing is ever lost or taken for a caller who is
gone (fs/blocking.h: fs/waiter.c, sem_wait.c, mq_wait.c).  Poll:
test_fs_blocking_poll.py; many callers, kill races and the daemon's stop:
test_fs_blocking_many.py."""

import errno
import os
import signal
import subprocess

import pytest

import ipc_raw as raw
from children import (READER, WRITER, next_line, outcome, still_blocked,
                      wait_all_blocked, wait_blocked)
from fs_paths import op_path, receive_path, send_path
from suite import wait_until

KEY = 4242
SEMKEY = 4343


# ---------------------------------------------------------------- receive

def test_cat_receive_blocks_until_another_process_sends(mount, msq, children):
    cat = children.cat(receive_path(mount, KEY))
    assert wait_blocked(cat)
    # `echo` in another process, through the mount.
    subprocess.run(["sh", "-c", "printf 'hello there' > %s"
                    % send_path(mount, KEY)], check=True, timeout=10)
    out, err = cat.communicate(timeout=10)
    assert cat.returncode == 0, err
    assert out == b"hello there"
    assert raw.msg_drain(msq) == []


def test_receive_gets_a_message_sent_by_a_program(mount, msq, children):
    cat = children.cat(receive_path(mount, KEY))
    assert wait_blocked(cat)
    raw.msg_send(msq, b"\x00binary\xff", mtype=7)
    out, _ = cat.communicate(timeout=10)
    assert out == b"\x00binary\xff"


def test_receive_nonblock_is_eagain_and_takes_nothing(mount, msq):
    fd = os.open(receive_path(mount, KEY), os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError):
            os.read(fd, 4096)
        raw.msg_send(msq, b"now")
        assert os.read(fd, 4096) == b"now"
    finally:
        os.close(fd)


def test_one_message_per_open(mount, msq):
    raw.msg_send(msq, b"first")
    raw.msg_send(msq, b"second")
    with open(receive_path(mount, KEY), "rb", buffering=0) as f:
        assert f.read(4096) == b"first"
        assert f.read(4096) == b""
        assert f.read(4096) == b""
    assert raw.msg_drain(msq) == [(1, b"second")]


def test_short_reads_get_the_message_in_pieces(mount, msq):
    """Issue 9: a read smaller than the message takes it whole and returns
    it in pieces (it was EMSGSIZE, the message left queued)."""
    raw.msg_send(msq, b"x" * 60 + b"y" * 40, mtype=3)
    raw.msg_send(msq, b"next")
    fd = os.open(receive_path(mount, KEY), os.O_RDONLY)
    try:
        assert os.read(fd, 10) == b"x" * 10
        assert raw.msq_counts(msq)[0] == 1  # taken whole
        assert os.read(fd, 50) == b"x" * 50
        assert os.read(fd, 100) == b"y" * 40
        assert os.read(fd, 100) == b""
    finally:
        os.close(fd)
    assert raw.msg_drain(msq) == [(1, b"next")]


def test_short_read_while_waiting_gets_the_first_piece(mount, msq,
                                                       children):
    reader = children.python(READER, receive_path(mount, KEY), 10)
    assert wait_blocked(reader)
    raw.msg_send(msq, b"y" * 50)
    assert outcome(reader, timeout=10) == ["DATA", (b"y" * 10).hex()]
    assert raw.msg_drain(msq) == []  # the rest went with the reader's close


def test_zero_length_message(mount, msq):
    raw.msg_send(msq, b"")
    raw.msg_send(msq, b"after")
    with open(receive_path(mount, KEY), "rb", buffering=0) as f:
        assert f.read(100) == b""
    assert raw.msg_drain(msq) == [(1, b"after")]


def test_typed_receive_follows_msgrcv_rules(mount, msq):
    for t, text in ((3, b"three"), (1, b"one"), (2, b"two"), (5, b"five")):
        raw.msg_send(msq, text, mtype=t)
    assert receive_path(mount, KEY, mtype=2).read_bytes() == b"two"
    # Negative: the lowest type up to |t|.
    assert receive_path(mount, KEY, mtype=-4).read_bytes() == b"one"
    # 0 (the plain receive file): the oldest of any type.
    assert receive_path(mount, KEY).read_bytes() == b"three"
    assert raw.msg_drain(msq) == [(5, b"five")]


def test_typed_receive_waits_for_its_type(mount, msq, children):
    cat = children.cat(receive_path(mount, KEY, mtype=9))
    assert wait_blocked(cat)
    raw.msg_send(msq, b"not for you", mtype=8)
    assert still_blocked(cat)
    raw.msg_send(msq, b"for you", mtype=9)
    out, _ = cat.communicate(timeout=10)
    assert out == b"for you"
    assert raw.msg_drain(msq) == [(8, b"not for you")]


def test_typed_send(mount, msq):
    with open(send_path(mount, KEY, mtype=12), "wb", buffering=0) as f:
        f.write(b"typed")
    assert raw.msg_drain(msq) == [(12, b"typed")]


def test_removed_queue_ends_the_wait_with_enoent(mount, msq, children):
    reader = children.python(READER, receive_path(mount, KEY), 4096)
    assert wait_blocked(reader)
    raw.remove("mq", msq)
    assert outcome(reader, timeout=10) == ["ERR", "ENOENT"]


# ---------------------------------------------------------------- interrupts

def test_signal_ends_a_blocked_receive_with_eintr(mount, msq, children):
    reader = children.python(READER, receive_path(mount, KEY), 4096)
    assert wait_blocked(reader)
    reader.send_signal(signal.SIGUSR1)
    # A wait the signal does not end fails here, at the timeout.
    assert outcome(reader, timeout=30) == ["ERR", "EINTR"]
    raw.msg_send(msq, b"kept")
    assert raw.msg_drain(msq) == [(1, b"kept")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killed_reader_takes_nothing(mount, msq, children, sig):
    cats = [children.cat(receive_path(mount, KEY)) for _ in range(5)]
    wait_all_blocked(cats)
    for cat in cats:
        cat.send_signal(sig)
    for cat in cats:  # a kill the wait holds up fails here
        cat.wait(timeout=30)
        assert cat.returncode == -sig
    for i in range(5):
        raw.msg_send(msq, b"m%d" % i)
    assert raw.msg_drain(msq) == [(1, b"m%d" % i) for i in range(5)]


def test_kill_cycles_lose_nothing(mount, msq, semid, children):
    """Blocked readers and P-ers killed (SIGKILL, SIGINT, alternately),
    cycle after cycle: every message sent afterwards is still there and the
    semaphore's value is intact."""
    cycles, per = 40, 8
    raw.sem_set_value(semid, 0)
    for cycle in range(cycles):
        sig = signal.SIGKILL if cycle % 2 else signal.SIGINT
        procs = [children.cat(receive_path(mount, KEY)) for _ in range(per)]
        procs += [children.shell("echo -1 > %s" % op_path(mount, SEMKEY))
                  for _ in range(per)]
        assert wait_until(
            lambda: raw.sem_waiting_for_nonzero(semid) == per, 10), \
            "P-ers not waiting: %d" % raw.sem_waiting_for_nonzero(semid)
        wait_all_blocked(procs)
        for proc in procs:
            proc.send_signal(sig)
        for proc in procs:
            proc.wait(timeout=10)
            assert proc.returncode == -sig
        children.kill_all()
        assert raw.sem_waiting_for_nonzero(semid) == 0
        sent = [(cycle % 5 + 1, b"c%d-%d" % (cycle, i)) for i in range(3)]
        for t, text in sent:
            raw.msg_send(msq, text, mtype=t)
        assert raw.msg_drain(msq) == sent, "cycle %d" % cycle
        raw.sem_op(semid, 3)
        assert raw.sem_get_value(semid) == 3, "cycle %d" % cycle
        raw.sem_set_value(semid, 0)


# ---------------------------------------------------------------- send

def test_send_on_a_full_queue_blocks_then_goes(mount, msq, children):
    """The message goes at close (issue 9): the write is buffered at once,
    the close waits for room (O_NONBLOCK: EAGAIN, nothing sent)."""
    raw.msq_set_qbytes(msq, 16)
    raw.msg_send(msq, b"0123456789")
    fd = os.open(send_path(mount, KEY), os.O_WRONLY | os.O_NONBLOCK)
    assert os.write(fd, b"abcdefgh") == 8
    with pytest.raises(BlockingIOError):
        os.close(fd)
    assert raw.msq_counts(msq)[0] == 1
    writer = children.python(WRITER, send_path(mount, KEY), "abcdefgh", "close")
    assert next_line(writer) == ["WROTE", "8"]
    assert wait_blocked(writer)
    assert raw.msg_receive(msq) == (1, b"0123456789")
    assert outcome(writer, timeout=10) == ["CLOSED"]
    assert raw.msg_drain(msq) == [(1, b"abcdefgh")]


def test_blocked_send_interrupted_sends_nothing(mount, msq, children):
    raw.msq_set_qbytes(msq, 8)
    raw.msg_send(msq, b"full....")
    writer = children.python(WRITER, send_path(mount, KEY), "late", "close")
    assert next_line(writer) == ["WROTE", "4"]
    assert wait_blocked(writer)
    writer.send_signal(signal.SIGUSR1)
    assert outcome(writer, timeout=10) == ["ERR", "EINTR"]
    assert raw.msg_drain(msq) == [(1, b"full....")]


def test_send_longer_than_the_queue_is_emsgsize(mount, msq):
    """EMSGSIZE at the write that makes the message too long (it was
    EINVAL when each write was a message); nothing is sent."""
    raw.msq_set_qbytes(msq, 16)
    raw.msg_send(msq, b"x")  # not empty: the kernel alone would wait
    f = open(send_path(mount, KEY), "wb", buffering=0)
    f.write(b"y" * 10)
    with pytest.raises(OSError) as exc:
        f.write(b"y" * 7)
    assert exc.value.errno == errno.EMSGSIZE
    with pytest.raises(OSError) as exc:
        f.close()  # the message is spoiled: its close says so too
    assert exc.value.errno == errno.EMSGSIZE
    assert raw.msg_drain(msq) == [(1, b"x")]


def test_send_longer_than_msgmax_is_emsgsize(mount, msq):
    with open(send_path(mount, KEY), "wb", buffering=0) as f:
        with pytest.raises(OSError) as exc:
            f.write(b"z" * (raw.msgmax() + 1))
        assert exc.value.errno == errno.EMSGSIZE
        with pytest.raises(OSError):
            f.flush()
            os.close(os.dup(f.fileno()))  # the spoiled message's close
        f.write(b"z" * raw.msgmax())  # the next message of the open
    (t, text), = raw.msg_drain(msq)
    assert text == b"z" * raw.msgmax()


def test_send_to_a_removed_queue_is_enoent(mount, msq):
    with open(send_path(mount, KEY), "wb", buffering=0) as f:
        raw.remove("mq", msq)
        with pytest.raises(OSError) as exc:
            f.write(b"gone")
        assert exc.value.errno == errno.ENOENT


def test_concurrent_senders_on_a_full_queue(mount, msq, children):
    """Two senders wait on a full queue; a third `echo > send` (O_TRUNC)
    must still reach the daemon (see blocking.h on the inode lock)."""
    raw.msq_set_qbytes(msq, 4)
    raw.msg_send(msq, b"full")
    waiting = [children.shell("printf ab > %s" % send_path(mount, KEY))
               for _ in range(2)]
    assert all(wait_blocked(w) for w in waiting)
    third = children.shell("printf cd > %s" % send_path(mount, KEY))
    assert wait_blocked(third)
    third.send_signal(signal.SIGINT)  # it must be killable
    third.wait(timeout=5)
    assert raw.msg_receive(msq) == (1, b"full")
    for w in waiting:
        w.wait(timeout=10)
        assert w.returncode == 0
    assert sorted(raw.msg_drain(msq)) == [(1, b"ab"), (1, b"ab")]


# ---------------------------------------------------------------- semaphores

def test_p_blocks_until_v_by_another_process(mount, semid, children):
    p = children.shell("echo -1 > %s" % op_path(mount, SEMKEY))
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid) == 1, 10)
    assert still_blocked(p, 0.1)
    v = subprocess.run(["sh", "-c", "echo 1 > %s" % op_path(mount, SEMKEY)],
                       timeout=10)
    assert v.returncode == 0
    p.wait(timeout=10)
    assert p.returncode == 0
    assert raw.sem_get_value(semid) == 0


def test_p_of_several_units_waits_for_all(mount, semid, children):
    raw.sem_set_value(semid, 2)
    p = children.shell("echo -3 > %s" % op_path(mount, SEMKEY))
    assert wait_blocked(p)
    assert raw.sem_get_value(semid) == 2
    raw.sem_op(semid, 1)
    p.wait(timeout=10)
    assert p.returncode == 0
    assert raw.sem_get_value(semid) == 0


def test_p_nonblock_is_eagain(mount, semid):
    fd = os.open(op_path(mount, SEMKEY), os.O_WRONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(BlockingIOError):
            os.write(fd, b"-1")
        raw.sem_set_value(semid, 1)
        assert os.write(fd, b"-1") == 2
    finally:
        os.close(fd)
    assert raw.sem_get_value(semid) == 0


def test_z_waits_for_zero(mount, semid, children):
    raw.sem_set_value(semid, 2)
    z = children.shell("echo 0 > %s" % op_path(mount, SEMKEY))
    assert wait_until(lambda: raw.sem_waiting_for_zero(semid) == 1, 10)
    raw.sem_op(semid, -1)
    assert still_blocked(z)
    raw.sem_op(semid, -1)
    z.wait(timeout=10)
    assert z.returncode == 0


def test_interrupted_p_leaves_the_value_unchanged(mount, semid, children):
    raw.sem_set_value(semid, 1)
    writer = children.python(WRITER, op_path(mount, SEMKEY), "-2")
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid) == 1, 10)
    writer.send_signal(signal.SIGUSR1)
    assert outcome(writer, timeout=10) == ["ERR", "EINTR"]
    assert raw.sem_get_value(semid) == 1
    assert raw.sem_waiting_for_nonzero(semid) == 0


def test_p_on_a_removed_set_is_enoent(mount, semid, children):
    writer = children.python(WRITER, op_path(mount, SEMKEY), "-1")
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid) == 1, 10)
    raw.remove("sem", semid)
    assert outcome(writer, timeout=10) == ["ERR", "ENOENT"]


def test_v_past_semvmx_is_erange(mount, semid):
    raw.sem_set_value(semid, 32767)
    with open(op_path(mount, SEMKEY), "wb", buffering=0) as f:
        with pytest.raises(OSError) as exc:
            f.write(b"1")
        assert exc.value.errno == errno.ERANGE
    assert raw.sem_get_value(semid) == 32767


def test_p_on_an_element_of_a_set(mount, children):
    semid = raw.create("sem", SEMKEY, 0o666, size=3)
    p = children.shell("echo -1 > %s" % op_path(mount, SEMKEY, num=2))
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid, 2) == 1,
                      10)
    raw.sem_op(semid, 1, num=0)
    assert still_blocked(p)
    raw.sem_op(semid, 1, num=2)
    p.wait(timeout=10)
    assert p.returncode == 0
    assert [raw.sem_get_value(semid, n) for n in range(3)] == [1, 0, 0]
