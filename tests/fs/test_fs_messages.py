"""Issue 9, "one shell command, one message": one open of send is one
message, sent at close; receive gives one message in pieces; peek and
messages/ look without taking (fs/mq_files.h).  Driven from the shell as a
user would, plus the killed and interrupted cases (nothing lost)."""

import ctypes
import errno
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import ipc_raw as raw
from children import (READER, TRY_OPEN, UNSENT_WRITER, WRITER,
                      daemon_tasks_in, in_fuse_wait, outcome,
                      race_readers_and_sends)
from fs_paths import NOBODY, expect_errno
from suite import wait_until

KEY = 4747


@pytest.fixture
def q(mount, msq):
    """The queue's directory."""
    return mount.path / "mq" / str(KEY)


@pytest.fixture
def big_msgmax():
    """MSGMAX raised to 64 KiB (in the suite's private IPC namespace), so
    that a 10,000-byte message fits; put back after."""
    path = "/proc/sys/kernel/msgmax"
    with open(path) as f:
        old = f.read()
    with open(path, "w") as f:
        f.write("65536")
    yield 65536
    with open(path, "w") as f:
        f.write(old)


def bash(script):
    r = subprocess.run(["bash", "-c", script], capture_output=True,
                       timeout=30)
    return r


# ---------------------------------------------------------------- send

def test_echo_e_with_newlines_is_one_message(q, msq):
    r = bash('echo -e "a\\nb\\nc" > %s/send' % q)
    assert r.returncode == 0, r.stderr
    assert raw.msg_drain(msq) == [(1, b"a\nb\nc\n")]


def test_10000_byte_echo_is_one_message(q, msq, big_msgmax):
    r = bash('echo "$(head -c 10000 /dev/zero | tr "\\0" x)" > %s/send' % q)
    assert r.returncode == 0, r.stderr
    assert raw.msg_drain(msq) == [(1, b"x" * 10000 + b"\n")]


def test_longer_than_msgmax_is_emsgsize_and_sends_nothing(q, msq):
    assert raw.msgmax() < 10001
    r = bash('echo "$(head -c 10000 /dev/zero | tr "\\0" x)" > %s/send' % q)
    assert r.returncode != 0
    assert b"Message too long" in r.stderr
    assert raw.msg_drain(msq) == []


def test_many_small_writes_are_one_message(q, msq):
    fd = os.open(q / "send", os.O_WRONLY)
    for i in range(100):
        assert os.write(fd, b"%d," % i) > 0
    assert raw.msq_counts(msq)[0] == 0  # nothing before the close
    os.close(fd)
    assert raw.msg_drain(msq) == [(1, b"".join(b"%d," % i for i in range(100)))]


def test_typed_send_from_the_shell(q, msq):
    r = bash('printf "x\\ny" > %s/type/7/send' % q)
    assert r.returncode == 0, r.stderr
    assert raw.msg_drain(msq) == [(7, b"x\ny")]


def test_external_command_sends_one_message(q, msq):
    """An external command: bash's child opens, dup2s and closes, the
    command writes and closes (or exits) later."""
    r = bash("/usr/bin/printf 'one\\ntwo\\n' > %s/send; "
             "seq 3 > %s/send" % (q, q))
    assert r.returncode == 0, r.stderr
    assert raw.msg_drain(msq) == [(1, b"one\ntwo\n"), (1, b"1\n2\n3\n")]


def test_touch_sends_nothing(q, msq):
    r = bash("touch %s/send" % q)
    assert r.returncode == 0, r.stderr
    fd = os.open(q / "send", os.O_WRONLY)  # a plain open, no write
    os.close(fd)
    time.sleep(0.1)
    assert raw.msg_drain(msq) == []


def test_colon_redirect_sends_one_empty_message(q, msq):
    r = bash(": > %s/send" % q)
    assert r.returncode == 0, r.stderr
    assert raw.msg_drain(msq) == [(1, b"")]


def test_o_trunc_open_closed_once_sends_one_empty_message(q, msq):
    """Closed once (no second flush): the empty message goes at release,
    just after close(2) returned."""
    open(q / "send", "w").close()
    assert wait_until(lambda: raw.msq_counts(msq)[0] == 1, 5)
    time.sleep(0.05)
    assert raw.msg_drain(msq) == [(1, b"")]


def test_second_close_of_a_dup_sends_nothing_more(q, msq):
    fd = os.open(q / "send", os.O_WRONLY)
    os.write(fd, b"first")
    fd2 = os.dup(fd)
    os.close(fd)                          # the first flush after a write
    assert raw.msg_drain(msq) == [(1, b"first")]
    os.close(fd2)                         # another flush: nothing more
    assert raw.msg_drain(msq) == []


def test_writes_after_a_flush_are_the_next_message(q, msq):
    fd = os.open(q / "send", os.O_WRONLY)
    fd2 = os.dup(fd)
    os.close(os.dup(fd))                  # a flush before any write
    os.write(fd, b"one")
    os.close(fd)
    os.write(fd2, b"two")
    os.close(fd2)
    assert raw.msg_drain(msq) == [(1, b"one"), (1, b"two")]


def test_nonblock_close_on_a_full_queue_is_eagain_and_sends_nothing(q, msq):
    raw.msq_set_qbytes(msq, 8)
    raw.msg_send(msq, b"full....")
    fd = os.open(q / "send", os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"late")
    with pytest.raises(BlockingIOError):
        os.close(fd)
    assert raw.msg_drain(msq) == [(1, b"full....")]


def test_full_queue_blocks_the_close_and_ctrl_c_sends_nothing(q, msq,
                                                             children):
    raw.msq_set_qbytes(msq, 8)
    raw.msg_send(msq, b"full....")
    p = children.bash("echo late > %s/send" % q)
    assert wait_until(lambda: in_fuse_wait(p.pid), 10)
    time.sleep(0.2)
    assert p.poll() is None            # waits in the close
    p.send_signal(signal.SIGINT)
    p.wait(timeout=5)
    assert raw.msg_drain(msq) == [(1, b"full....")]


def test_full_queue_close_goes_once_there_is_room(q, msq, children):
    raw.msq_set_qbytes(msq, 8)
    raw.msg_send(msq, b"full....")
    p = children.bash("printf late > %s/send" % q)
    assert wait_until(lambda: in_fuse_wait(p.pid), 10)
    time.sleep(0.2)
    assert p.poll() is None
    assert raw.msg_receive(msq) == (1, b"full....")
    assert p.wait(timeout=10) == 0
    assert raw.msg_drain(msq) == [(1, b"late")]


def test_writer_killed_before_its_close_sends_nothing(q, msq, children):
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        for how in ("wait", "trunc"):
            p = children.python(UNSENT_WRITER, q / "send", how)
            p.send_signal(sig)
            p.wait(timeout=10)
    time.sleep(0.2)
    assert raw.msg_drain(msq) == []


def test_writer_that_exits_without_closing_sends(q, msq, children):
    p = children.python(UNSENT_WRITER, q / "send", "exit")
    assert p.wait(timeout=10) == 0
    assert wait_until(lambda: raw.msq_counts(msq)[0] == 1, 5)
    assert raw.msg_drain(msq) == [(1, b"half a mess")]


def test_exiting_writer_on_a_full_queue_is_not_held(q, msq, children):
    """An exiting process cannot be interrupted: it is not made to wait;
    the daemon sends its message once there is room."""
    raw.msq_set_qbytes(msq, 12)
    raw.msg_send(msq, b"full")
    p = children.python(UNSENT_WRITER, q / "send", "exit")
    assert p.wait(timeout=10) == 0
    time.sleep(0.2)
    assert raw.msq_counts(msq)[0] == 1
    assert raw.msg_receive(msq) == (1, b"full")
    assert wait_until(lambda: raw.msq_counts(msq)[0] == 1, 5)
    assert raw.msg_drain(msq) == [(1, b"half a mess")]


# ---------------------------------------------------------------- receive

def test_read_line_gets_the_first_line_and_the_rest_is_dropped(q, msq):
    raw.msg_send(msq, b"first line\nsecond line\n")
    raw.msg_send(msq, b"next message\n")
    r = bash('read -r line < %s/receive; echo "[$line]"' % q)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"[first line]\n"
    assert raw.msg_drain(msq) == [(1, b"next message\n")]


def test_one_byte_reads_get_the_whole_message(q, msq):
    raw.msg_send(msq, b"abc")
    fd = os.open(q / "receive", os.O_RDONLY)
    try:
        got = [os.read(fd, 1) for _ in range(5)]
    finally:
        os.close(fd)
    assert got == [b"a", b"b", b"c", b"", b""]


def test_dd_with_small_blocks_reads_one_message(q, msq):
    raw.msg_send(msq, bytes(range(256)) * 10)
    raw.msg_send(msq, b"other")
    r = subprocess.run(["dd", "if=%s/receive" % q, "bs=7", "status=none"],
                       capture_output=True, timeout=10)
    assert r.stdout == bytes(range(256)) * 10
    assert raw.msg_drain(msq) == [(1, b"other")]


def test_interrupted_first_short_read_takes_nothing(q, msq, children):
    p = children.python(READER, q / "receive", 2)
    assert wait_until(lambda: in_fuse_wait(p.pid), 10)
    p.send_signal(signal.SIGUSR1)
    assert outcome(p, timeout=10) == ["ERR", "EINTR"]
    raw.msg_send(msq, b"kept whole")
    assert raw.msg_drain(msq) == [(1, b"kept whole")]


def test_short_readers_killed_as_messages_arrive_lose_nothing(q, msq):
    """Readers of 4 bytes killed as 12-byte messages arrive: each message
    is either taken by a reader (whose buffer holds its first 4 bytes) or
    still queued whole; none is in both, none is gone."""
    rng = random.Random(99)
    readers = 10
    for cycle in range(15):
        sent = [b"%02d%02d-message" % (cycle, i) for i in range(readers)]
        got = race_readers_and_sends(q / "receive",
                                     lambda m: raw.msg_send(msq, m),
                                     sent, rng, length=4)
        taken = [g for g in got if g != b"\0" * 4]
        left = [text for _, text in raw.msg_drain(msq)]
        assert sorted(taken + [t[:4] for t in left]) == \
            sorted(s[:4] for s in sent), "cycle %d" % cycle


# ---------------------------------------------------------------- peek

def test_cat_peek_shows_the_next_message_and_takes_nothing(q, msq):
    raw.msg_send(msq, b"oldest\n", 5)
    raw.msg_send(msq, b"newer\n", 2)
    for _ in range(3):
        r = bash("cat %s/peek" % q)
        assert r.stdout == b"oldest\n"
    assert raw.msq_counts(msq)[0] == 2
    assert bash("cat %s/receive" % q).stdout == b"oldest\n"
    assert bash("cat %s/peek" % q).stdout == b"newer\n"


def test_peek_of_an_empty_queue_is_empty_at_once(q, msq):
    """A peek never waits: a cat of it ends (bash()'s bound catches a
    wait) with nothing, while nothing is sent."""
    r = bash("cat %s/peek" % q)
    assert r.returncode == 0 and r.stdout == b""


def test_peek_reads_one_copy_in_pieces(q, msq):
    raw.msg_send(msq, b"0123456789")
    fd = os.open(q / "peek", os.O_RDONLY)
    try:
        assert os.read(fd, 4) == b"0123"
        raw.msg_receive(msq)             # the queue changes meanwhile
        raw.msg_send(msq, b"another")
        assert os.read(fd, 100) == b"456789"
        assert os.read(fd, 100) == b""
    finally:
        os.close(fd)


def test_peek_cannot_be_written(q, msq):
    expect_errno(errno.EACCES, os.open, q / "peek", os.O_WRONLY)


# ---------------------------------------------------------------- messages/

def test_ls_and_cat_messages(q, msq):
    assert os.listdir(q / "messages") == []
    for i, t in enumerate((3, 1, 2)):
        raw.msg_send(msq, b"text %d\n" % i, t)
    r = bash("ls %s/messages" % q)
    assert r.stdout.split() == [b"0", b"0.type", b"1", b"1.type", b"2",
                                b"2.type"]
    r = bash("cd %s/messages && cat 0 1 2 && cat *.type" % q)
    assert r.stdout == b"text 0\ntext 1\ntext 2\n3\n1\n2\n"
    assert raw.msq_counts(msq)[0] == 3   # nothing taken
    expect_errno(errno.ENOENT, os.stat, q / "messages" / "3")
    expect_errno(errno.ENOENT, os.stat, q / "messages" / "01")
    expect_errno(errno.ENOENT, os.stat, q / "messages" / "1.typ")


def test_grep_r_over_the_queue_takes_one_message(q, msq):
    """What the man page warns of: reading receive takes a message, so
    grep -r consumes; peek and messages/ show without taking."""
    raw.msg_send(msq, b"needle one\n")
    raw.msg_send(msq, b"needle two\n")
    r = bash("grep -r needle %s" % q)
    assert b"/receive:needle one" in r.stdout  # listed before peek
    assert b"/peek:needle two" in r.stdout
    assert b"/messages/0:needle two" in r.stdout
    assert raw.msq_counts(msq)[0] == 1


def test_message_gone_since_lookup_is_enoent(q, msq):
    raw.msg_send(msq, b"a")
    raw.msg_send(msq, b"b")
    fd = os.open(q / "messages" / "1", os.O_RDONLY)
    try:
        raw.msg_receive(msq)
        expect_errno(errno.ENOENT, os.read, fd, 100)
    finally:
        os.close(fd)


libc = ctypes.CDLL(None, use_errno=True)
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]


def _names_from(path, off):
    """The names readdir(3) gives after seekdir(off): d_name at 19."""
    d = libc.opendir(str(path).encode())
    assert d
    try:
        libc.seekdir(d, off)
        names = []
        while True:
            ent = libc.readdir(d)
            if not ent:
                return names
            names.append(ctypes.string_at(ent + 19).decode())
    finally:
        libc.closedir(d)


def test_messages_listing_from_any_offset(q, msq):
    for i in range(5):
        raw.msg_send(msq, b"m%d" % i)
    full = _names_from(q / "messages", 0)
    assert full[2:] == ["0", "0.type", "1", "1.type", "2", "2.type", "3",
                        "3.type", "4", "4.type"]
    for off in range(0, 20):
        got = _names_from(q / "messages", off)
        assert got == full[off:], off
    raw.msg_receive(msq)
    raw.msg_receive(msq)
    assert _names_from(q / "messages", 7) == ["2.type"]
    assert _names_from(q / "messages", 8) == []
    assert _names_from(q / "messages", 1 << 40) == []


def test_peek_and_messages_need_read_permission(mount_ipcfs):
    m = mount_ipcfs("-o", "allow_other")
    msq = raw.create("mq", KEY, 0o600)
    raw.msg_send(msq, b"secret")
    q = m.path / "mq" / str(KEY)
    r = subprocess.run([sys.executable, str(TRY_OPEN), str(q / "peek"),
                        str(q / "messages" / "0")],
                       capture_output=True, text=True, user=NOBODY,
                       group=NOBODY, extra_groups=[], timeout=30)
    lines = r.stdout.split("\n")
    assert lines[0] == str(errno.EACCES), r.stdout + r.stderr
    assert lines[1] == str(errno.EACCES), r.stdout + r.stderr
    assert raw.msq_counts(msq)[0] == 1


def test_peek_and_messages_of_a_removed_queue_reach_nothing(q, msq):
    """They live under the queue's node: tied to its generation, they
    never reach the queue made later with the same key (ino.h)."""
    raw.msg_send(msq, b"old")
    fds = [os.open(q / name, os.O_RDONLY)
           for name in ("peek", "messages/0", "messages/0.type")]
    cwd = os.open(q / "messages", os.O_RDONLY | os.O_DIRECTORY)
    try:
        raw.remove("mq", msq)
        new = raw.create("mq", KEY, 0o666)
        raw.msg_send(new, b"new")
        for fd in fds:
            expect_errno(errno.ENOENT, os.read, fd, 100)
        with pytest.raises(FileNotFoundError):
            os.stat("0", dir_fd=cwd)
        assert raw.msg_drain(new) == [(1, b"new")]
    finally:
        for fd in fds + [cwd]:
            os.close(fd)


def test_a_waiting_close_counts_as_a_waiting_call(mount_ipcfs, children):
    """The close that waits for room is one of the user's waiting calls
    (blocking.h LIMITS): past max_waiters_per_user it fails at once with
    EAGAIN, having sent nothing."""
    m = mount_ipcfs("-o", "max_waiters_per_user=1")
    msq = raw.create("mq", KEY, 0o666)
    q = m.path / "mq" / str(KEY)
    raw.msq_set_qbytes(msq, 8)
    raw.msg_send(msq, b"full....")
    first = children.bash("printf first > %s/send" % q)
    # The daemon's waiter, not only the caller, must be waiting: then the
    # user's one waiting call is taken.
    assert wait_until(lambda: daemon_tasks_in(m, "do_msgsnd") == 1, 30)
    second = children.python(WRITER, q / "send", "second", "close")
    assert outcome(second, timeout=10) == ["WROTE", "6", "ERR", "EAGAIN"]
    assert raw.msg_receive(msq) == (1, b"full....")
    assert first.wait(timeout=10) == 0
    assert raw.msg_drain(msq) == [(1, b"first")]


def test_poll_says_readable_while_a_rest_is_left(q, msq):
    import select
    raw.msg_send(msq, b"abcdef", 4)
    fd = os.open(q / "type" / "4" / "receive", os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(fd, 2) == b"ab"
        assert select.select([fd], [], [], 1)[0] == [fd]
        assert os.read(fd, 100) == b"cdef"
        assert os.read(fd, 100) == b""   # end of file, not EAGAIN
    finally:
        os.close(fd)
    assert raw.msg_drain(msq) == []


def test_the_rest_of_a_taken_message_outlives_its_queue(q, msq):
    """The first read took the message: what is left of it is the
    reader's, read from the open, even once the queue is removed (found by
    scripts/stress: a small reader cut short by the churner)."""
    raw.msg_send(msq, b"0123456789")
    fd = os.open(q / "receive", os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(fd, 4) == b"0123"
        raw.remove("mq", msq)
        assert os.read(fd, 4) == b"4567"
        assert os.read(fd, 100) == b"89"
        assert os.read(fd, 100) == b""
    finally:
        os.close(fd)
