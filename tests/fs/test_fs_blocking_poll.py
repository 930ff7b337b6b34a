"""poll(2), select(2) and epoll on a queue's receive files: ready at
once when a message waits, woken when one comes or the queue goes, for
its type only (fs/mq_poll.c)."""

import errno
import os
import select
import time

import pytest

import ipc_raw as raw
from children import POLLER, outcome
from fs_paths import receive_path
from suite import timed

KEY = 4242
# A bound that tells "missed its wake-up" (a whole timeout) from a loaded
# machine's slowness (seconds): not speed.
WAKE_TIMEOUT = 60.0


# ---------------------------------------------------------------- poll

def send_later(msq, data, delay):
    """Forks a process that sends data to queue msq after delay seconds
    (and exits 0, or 1 if it could not); returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        time.sleep(delay)
        raw.msg_send(msq, data)
        code = 0
    finally:
        os._exit(code)


def test_select_wakes_when_a_message_arrives(mount, msq):
    fd = os.open(receive_path(mount, KEY), os.O_RDONLY)
    try:
        assert select.select([fd], [], [], 0.2)[0] == []
        t0 = time.monotonic()
        pid = send_later(msq, b"wake", 0.3)
        r, _, _ = select.select([fd], [], [], WAKE_TIMEOUT)
        took = time.monotonic() - t0
        os.waitpid(pid, 0)
        assert r == [fd]
        assert took < WAKE_TIMEOUT / 2, "woken by the timeout, not the message"
        assert os.read(fd, 100) == b"wake"
    finally:
        os.close(fd)


def test_poll_ready_at_once_when_a_message_waits(mount, msq):
    raw.msg_send(msq, b"here")
    fd = os.open(receive_path(mount, KEY), os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(1000) == [(fd, select.POLLIN)]
    finally:
        os.close(fd)


def test_poll_on_a_type_ignores_other_types(mount, msq):
    fd = os.open(receive_path(mount, KEY, mtype=4), os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        raw.msg_send(msq, b"other", mtype=3)
        assert p.poll(300) == []
        raw.msg_send(msq, b"mine", mtype=4)
        events, took = timed(p.poll, WAKE_TIMEOUT * 1000)
        assert events == [(fd, select.POLLIN)]
        assert took < WAKE_TIMEOUT / 2, "woken by the timeout, not the message"
        assert os.read(fd, 100) == b"mine"
    finally:
        os.close(fd)
    assert raw.msg_drain(msq) == [(3, b"other")]


def test_poll_wakes_when_the_queue_is_removed(mount, msq):
    fd = os.open(receive_path(mount, KEY), os.O_RDONLY)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(100) == []
        raw.remove("mq", msq)
        events, took = timed(p.poll, 5000)
        assert events and events[0][1] & select.POLLIN
        with pytest.raises(OSError) as exc:
            os.read(fd, 100)
        assert exc.value.errno == errno.ENOENT
    finally:
        os.close(fd)


def test_many_polls_without_messages_then_one(mount, msq):
    """Repeated short polls leave handles behind in the daemon; they stay
    bounded and a later poll still wakes."""
    fd = os.open(receive_path(mount, KEY), os.O_RDONLY)
    try:
        for _ in range(300):
            select.select([fd], [], [], 0.001)
        pid = send_later(msq, b"late", 0.2)
        r, _, _ = select.select([fd], [], [], 10)
        os.waitpid(pid, 0)
        assert r == [fd]
        assert os.read(fd, 100) == b"late"
    finally:
        os.close(fd)


def test_many_pollers_all_wake_on_one_message(mount, msq, children):
    # The pollers wait without a timeout: starting 24 Python children takes
    # tens of seconds on a loaded machine, and a timeout counted from each
    # start ran out before the message came (WOKE 0).  A missed wake-up
    # fails communicate() instead.
    pollers = [children.python(POLLER, receive_path(mount, KEY, mtype=t))
               for t in (1, 1, 2, 0, -1, -3) * 4]
    time.sleep(0.3)
    assert all(p.poll() is None for p in pollers)
    raw.msg_send(msq, b"one", mtype=1)  # matches 1, 0, -1 and -3
    woke = {}
    for i, p in enumerate(pollers):
        if i % 6 == 2:
            continue  # type 2: still waiting
        word, n, took = outcome(p, timeout=10)
        assert (word, n) == ("WOKE", "1")
        woke[i] = float(took)
    assert all(pollers[i].poll() is None for i in range(2, 24, 6))
    raw.msg_send(msq, b"two", mtype=2)
    for i in range(2, 24, 6):
        assert outcome(pollers[i], timeout=10)[:2] == ["WOKE", "1"]
    assert raw.msg_drain(msq) == [(1, b"one"), (2, b"two")]
