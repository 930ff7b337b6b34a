"""Waiting calls are counted per user (fs/blocking.h, LIMITS): an
unprivileged user holding all the waits it may have makes its own next
waiting call fail with EAGAIN, never root's or another user's; once the
shared pool is full, a user with few waits still gets one (the reserve).
Driven through an allow_other mount with small limits
(-o max_waiters=N, -o max_waiters_per_user=N), by users nobody and
OTHER."""

import os
import subprocess
import tempfile

import pytest

import ipc_raw as raw
from children import READER, WRITER, daemon_tasks_in, outcome
from fs_paths import NOBODY
from suite import FS_CHILDREN, is_mounted, wait_until

OTHER = 4321  # a second unprivileged user (no passwd entry needed)
RESERVE = 16  # BLOCKING_RESERVED_WAITERS in fs/blocking.h

NOBODY_MQ, OTHER_MQ, ROOT_MQ = 5101, 5102, 5103
NOBODY_SEM, ROOT_SEM = 5201, 5203

# ---------------------------------------------------------------- helpers

def wait_receivers(mount, n):
    assert wait_until(lambda: daemon_tasks_in(mount, "do_msgrcv") == n,
                      30), daemon_tasks_in(mount, "do_msgrcv")


def receive(mount, key):
    return mount.path / "mq" / str(key) / "receive"


def op(mount, key):
    return mount.path / "sem" / str(key) / "op"


def own(mount, kind, key, ident, uid):
    """Makes uid the owner of the object (mode 0600: only it and root)."""
    os.chown(mount.path / kind / str(key), uid, uid)
    return ident


# ---------------------------------------------------------------- tests

def test_a_user_at_its_limit_starves_nobody_else(mount_ipcfs, children):
    """nobody holds its 8 waits (4 receives, 4 P) on objects of its own;
    its next receive and P are EAGAIN at once, while root's P and receive
    and OTHER's receive wait and complete as usual.  Killed, nobody's
    waiters are all reaped, nothing is lost or taken, and nobody can wait
    again."""
    m = mount_ipcfs("-o", "allow_other,max_waiters_per_user=8")
    n_mq = own(m, "mq", NOBODY_MQ, raw.create("mq", NOBODY_MQ, 0o600),
               NOBODY)
    n_sem = own(m, "sem", NOBODY_SEM, raw.create("sem", NOBODY_SEM, 0o600),
                NOBODY)
    o_mq = own(m, "mq", OTHER_MQ, raw.create("mq", OTHER_MQ, 0o600), OTHER)
    r_mq = raw.create("mq", ROOT_MQ, 0o600)
    r_sem = raw.create("sem", ROOT_SEM, 0o600)

    cats = [children.cat(receive(m, NOBODY_MQ), NOBODY) for _ in range(4)]
    pers = [children.shell("echo -1 > %s" % op(m, NOBODY_SEM), NOBODY)
            for _ in range(4)]
    wait_receivers(m, 4)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(n_sem) == 4, 30)

    # nobody's ninth wait, of either kind: EAGAIN at once, nothing done.
    late = children.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]
    late = children.python(WRITER, op(m, NOBODY_SEM), "-1", uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]
    assert raw.sem_waiting_for_nonzero(n_sem) == 4

    # Root and OTHER wait as usual meanwhile.
    r_reader = children.python(READER, receive(m, ROOT_MQ), 4096)
    o_reader = children.python(READER, receive(m, OTHER_MQ), 4096,
                               uid=OTHER)
    r_p = children.python(WRITER, op(m, ROOT_SEM), "-1")
    wait_receivers(m, 6)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(r_sem) == 1, 30)
    raw.msg_send(r_mq, b"for root")
    raw.msg_send(o_mq, b"for other")
    raw.sem_op(r_sem, 1)
    assert outcome(r_reader) == ["DATA", b"for root".hex()]
    assert outcome(o_reader) == ["DATA", b"for other".hex()]
    assert outcome(r_p) == ["WROTE", "2"]
    assert raw.sem_get_value(r_sem) == 0

    # Two of nobody's waits end normally, the others are killed.
    raw.msg_send(n_mq, b"one")
    raw.sem_op(n_sem, 1)
    assert wait_until(lambda: sum(p.poll() is not None for p in cats) == 1
                      and sum(p.poll() is not None for p in pers) == 1, 30)
    got = [p.stdout.read() for p in cats if p.poll() is not None]
    assert got == [b"one"]
    for p in cats + pers:
        if p.poll() is None:
            p.kill()
    for p in cats + pers:
        p.wait(timeout=30)
    wait_receivers(m, 0)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(n_sem) == 0, 30)
    assert raw.sem_get_value(n_sem) == 0  # nothing taken for the killed
    for i in range(3):
        raw.msg_send(n_mq, b"kept%d" % i)
    assert raw.msg_drain(n_mq) == [(1, b"kept%d" % i) for i in range(3)]

    # nobody's waits were all given back: it may hold 8 again.
    again = [children.python(READER, receive(m, NOBODY_MQ), 4096,
                             uid=NOBODY) for _ in range(8)]
    wait_receivers(m, 8)
    for i in range(8):
        raw.msg_send(n_mq, b"again%d" % i)
    assert sorted(outcome(p)[1] for p in again) == \
        sorted((b"again%d" % i).hex() for i in range(8))
    assert raw.msg_drain(n_mq) == []


def test_a_full_pool_keeps_a_reserve_for_each_user(mount_ipcfs, children):
    """With a pool of 16 and 32 per user: nobody fills the pool; its next
    wait is EAGAIN (the pool is full and it holds more than the reserve),
    while OTHER still gets its reserve of 16 waits (the 17th: EAGAIN), and
    root its P and receive.  The total stays under pool + reserve x
    users."""
    m = mount_ipcfs("-o", "allow_other,max_waiters=16,"
                    "max_waiters_per_user=32")
    n_mq = own(m, "mq", NOBODY_MQ, raw.create("mq", NOBODY_MQ, 0o600),
               NOBODY)
    o_mq = own(m, "mq", OTHER_MQ, raw.create("mq", OTHER_MQ, 0o600), OTHER)
    r_mq = raw.create("mq", ROOT_MQ, 0o600)
    r_sem = raw.create("sem", ROOT_SEM, 0o600)

    for _ in range(16):
        children.cat(receive(m, NOBODY_MQ), NOBODY)
    wait_receivers(m, 16)
    late = children.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]

    others = [children.python(READER, receive(m, OTHER_MQ), 4096,
                              uid=OTHER) for _ in range(RESERVE)]
    wait_receivers(m, 16 + RESERVE)
    late = children.python(READER, receive(m, OTHER_MQ), 4096, uid=OTHER)
    assert outcome(late) == ["ERR", "EAGAIN"]

    r_reader = children.python(READER, receive(m, ROOT_MQ), 4096)
    r_p = children.python(WRITER, op(m, ROOT_SEM), "-1")
    wait_receivers(m, 16 + RESERVE + 1)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(r_sem) == 1, 30)
    raw.msg_send(r_mq, b"root")
    raw.sem_op(r_sem, 1)
    assert outcome(r_reader) == ["DATA", b"root".hex()]
    assert outcome(r_p) == ["WROTE", "2"]

    for i in range(RESERVE):
        raw.msg_send(o_mq, b"o%02d" % i)
    assert sorted(outcome(p)[1] for p in others) == \
        sorted((b"o%02d" % i).hex() for i in range(RESERVE))

    # OTHER's waits are over: nobody still may not have more (the pool is
    # full and it holds 16), OTHER may again.
    late = children.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]
    children.kill_all()
    wait_receivers(m, 0)
    raw.msg_send(n_mq, b"kept")
    assert raw.msg_drain(n_mq) == [(1, b"kept")]
    assert raw.msg_drain(o_mq) == []


def test_a_waiting_receive_holds_msgmax_and_grows_when_it_is_raised(
        mount_ipcfs, children):
    """A waiting read of 64 KiB keeps a buffer of MSGMAX bytes only; a
    message longer than that, sent once MSGMAX was raised, still arrives
    whole."""
    m = mount_ipcfs()
    mq = raw.create("mq", ROOT_MQ, 0o600)
    before = raw.msgmax()
    reader = children.python(READER, receive(m, ROOT_MQ), 65536)
    wait_receivers(m, 1)
    try:
        with open("/proc/sys/kernel/msgmax", "w") as f:
            f.write("%d" % (before * 2))
        # Longer than the old MSGMAX, within the queue's (MSGMNB) bytes.
        data = bytes(range(256)) * (before * 3 // 2 // 256)
        assert before < len(data) <= raw.msq_counts(mq)[2]
        raw.msg_send(mq, data)
        assert outcome(reader) == ["DATA", data.hex()]
    finally:
        with open("/proc/sys/kernel/msgmax", "w") as f:
            f.write("%d" % before)
    assert raw.msg_drain(mq) == []


@pytest.mark.parametrize("opt", ["max_waiters_per_user=0",
                                 "max_waiters=-1",
                                 "max_waiters_per_user=12x",
                                 "max_waiters=1048577"])
def test_bad_limits_are_refused(ipcfs_bin, opt):
    where = tempfile.mkdtemp(prefix="ipcfs-test-")
    try:
        done = subprocess.run([str(ipcfs_bin), "-f", "-o", opt, where],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode != 0
        assert "max_waiters" in done.stderr
        assert not is_mounted(where)
    finally:
        if is_mounted(where):
            subprocess.run(["fusermount3", "-u", "-z", where])
        os.rmdir(where)


@pytest.mark.skipif("IPCFS_DAEMON_ASAN_OPTIONS" in os.environ,
                    reason="ASan's runtime must come first in LD_PRELOAD")
def test_no_thread_for_a_wait_is_eagain_and_gives_the_slot_back(
        mount_ipcfs, children, tmp_path, monkeypatch):
    """When the daemon cannot start a thread for a waiting call, the call
    fails at once with EAGAIN, never hangs, and the daemon says why once;
    the slot goes back, so the user, allowed one wait, can wait again."""
    shim = tmp_path / "no_threads.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(shim),
                    str(FS_CHILDREN / "no_threads.c"), "-ldl"], check=True)
    flag = tmp_path / "flag"
    flag.write_text("")
    monkeypatch.setenv("LD_PRELOAD", str(shim))
    monkeypatch.setenv("IPCFS_TEST_NO_THREADS", str(flag))
    m = mount_ipcfs("-o", "max_waiters_per_user=1",
                    expect_output=r"cannot start a thread")
    monkeypatch.delenv("LD_PRELOAD")
    mq = raw.create("mq", ROOT_MQ, 0o600)
    for _ in range(3):
        reader = children.python(READER, receive(m, ROOT_MQ), 4096)
        assert outcome(reader) == ["ERR", "EAGAIN"]
    flag.unlink()
    reader = children.python(READER, receive(m, ROOT_MQ), 4096)
    wait_receivers(m, 1)
    raw.msg_send(mq, b"after")
    assert outcome(reader) == ["DATA", b"after".hex()]
    assert raw.msg_drain(mq) == []
