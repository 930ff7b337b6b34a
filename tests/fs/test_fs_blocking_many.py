"""Many callers waiting at once, and callers killed while what they wait
for arrives: the mount still answers, nothing is lost or taken for a
caller who is gone, the daemon's stop ends every wait, and -s (one
thread) waits without holding it (fs/waiter.c)."""

import os
import random
import signal

import ipc_raw as raw
from children import (READER, WRITER, outcome, race_readers_and_sends,
                      wait_all_blocked, wait_blocked)
from fs_paths import mq_dir, op_path, receive_path
from suite import DAEMON_COMPLAINTS, timed, wait_until

KEY = 4242
SEMKEY = 4343
# A bound that tells "waits behind the blocked callers" (minutes) from a
# loaded machine's slowness (seconds): not speed.
ANSWERS = 10.0


def daemon_threads(mount):
    return raw.thread_count(mount.proc.pid)


def wait_threads(mount, at_least, timeout=20.0):
    got = wait_until(lambda: daemon_threads(mount) >= at_least, timeout)
    assert got, "daemon has %d threads, expected >= %d" % (
        daemon_threads(mount), at_least)


# ---------------------------------------------------------------- many

def test_500_blocked_callers_and_the_mount_answers(mount, msq, semid,
                                                   children):
    readers = [children.cat(receive_path(mount, KEY)) for _ in range(350)]
    pers = [children.shell("echo -1 > %s" % op_path(mount, SEMKEY))
            for _ in range(150)]
    wait_threads(mount, 500, timeout=60)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid) == 150,
                      20)
    # The rest of the mount answers at once.
    for _ in range(20):
        _, took = timed(os.stat, mq_dir(mount, KEY))
        assert took < ANSWERS
        _, took = timed(os.listdir, mount.path / "mq")
        assert took < ANSWERS
        _, took = timed(os.listdir, mq_dir(mount, KEY))
        assert took < ANSWERS
    _, took = timed(raw.sem_get_value, semid)
    # Release half of each: one message per reader, one unit per P-er.
    for i in range(175):
        raw.msg_send(msq, b"r%03d" % i)
    raw.sem_op(semid, 75)
    done = wait_until(lambda: sum(p.poll() is not None for p in readers)
                      >= 175, 30)
    assert done
    got = sorted(p.stdout.read() for p in readers if p.poll() is not None)
    assert got == sorted(b"r%03d" % i for i in range(175))
    assert wait_until(lambda: sum(p.poll() is not None for p in pers)
                      >= 75, 30)
    assert all(p.returncode == 0 for p in pers if p.poll() is not None)
    assert raw.sem_get_value(semid) == 0
    # Kill the rest; all reaped (a kill the wait holds up fails the
    # wait()), nothing taken for them.
    for p in readers + pers:
        if p.poll() is None:
            p.kill()
    for p in readers + pers:
        p.wait(timeout=60)
    assert wait_until(lambda: daemon_threads(mount) < 50, 20)
    assert raw.sem_waiting_for_nonzero(semid) == 0
    for i in range(10):
        raw.msg_send(msq, b"after%d" % i)
    assert raw.msg_drain(msq) == [(1, b"after%d" % i) for i in range(10)]
    raw.sem_op(semid, 2)
    assert raw.sem_get_value(semid) == 2


# ---------------------------------------------------------------- shutdown

def test_daemon_stop_ends_every_wait(mount_ipcfs, children):
    mount = mount_ipcfs()
    msq = raw.create("mq", KEY, 0o666)
    semid = raw.create("sem", SEMKEY, 0o666)
    reader = children.python(READER, receive_path(mount, KEY), 4096)
    writer = children.python(WRITER, op_path(mount, SEMKEY), "-1")
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid) == 1, 10)
    assert wait_blocked(reader)
    mount.proc.send_signal(signal.SIGTERM)
    for proc in (reader, writer):
        assert outcome(proc, timeout=10)[0] == "ERR"
    # It exits by itself (how SIGTERM maps to an exit code is main's
    # business); what it printed is checked here, the mount is gone.
    assert mount.proc.wait(timeout=10) >= 0
    mount.killed = True
    assert not DAEMON_COMPLAINTS.search(mount.output()), mount.output()
    raw.msg_send(msq, b"still")
    assert raw.msg_drain(msq) == [(1, b"still")]
    assert raw.sem_get_value(semid) == 0


# ---------------------------------------------------------------- races

def test_kill_while_messages_arrive_loses_nothing(mount, msq):
    """Readers killed (SIGKILL, or a handled signal) at the very moment
    messages arrive: every message is either in a reader's buffer or still
    in the queue, and none is in both."""
    rng = random.Random(1234)
    readers, cycles = 12, 25
    for cycle in range(cycles):
        sent = [b"k%02d-%02d" % (cycle, i) for i in range(readers)]
        got = race_readers_and_sends(receive_path(mount, KEY),
                                     lambda m: raw.msg_send(msq, m),
                                     sent, rng)
        delivered = [g.rstrip(b"\0") for g in got if g.rstrip(b"\0")]
        left = [text for _, text in raw.msg_drain(msq)]
        assert sorted(delivered + left) == sorted(sent), "cycle %d" % cycle


def test_kill_while_units_arrive_takes_nothing(mount, semid, children):
    """P-ers killed while V's come: the units the killed ones did not get
    are all still there."""
    rng = random.Random(4321)
    pers, cycles = 10, 20
    for cycle in range(cycles):
        raw.sem_set_value(semid, 0)
        procs = [children.shell("echo -1 > %s" % op_path(mount, SEMKEY))
                 for _ in range(pers)]
        assert wait_until(
            lambda: raw.sem_waiting_for_nonzero(semid) == pers, 10)
        order = [("v", None)] * (pers // 2) + [("kill", p) for p in procs]
        rng.shuffle(order)
        for what, proc in order:
            if what == "v":
                raw.sem_op(semid, 1)
            else:
                proc.kill()
        for proc in procs:
            proc.wait(timeout=10)
        succeeded = sum(p.returncode == 0 for p in procs)
        killed = sum(p.returncode == -signal.SIGKILL for p in procs)
        assert succeeded + killed == pers
        value = raw.sem_get_value(semid)
        # A P-er that got its unit and was killed just after is not told
        # apart from a killed one: the value is never more than the V's
        # minus the P-ers that succeeded, and never less than that minus
        # the killed ones (none lost beyond what was delivered).
        assert value + succeeded <= pers // 2, "cycle %d" % cycle
        assert raw.sem_waiting_for_nonzero(semid) == 0
        children.kill_all()


# ---------------------------------------------------------------- -s

def test_single_threaded_mount_does_not_block_either(mount_ipcfs, children):
    """With -s one thread serves every request: waits must still not
    hold it."""
    mount = mount_ipcfs("-s")
    msq = raw.create("mq", KEY, 0o666)
    semid = raw.create("sem", SEMKEY, 0o666)
    cats = [children.cat(receive_path(mount, KEY)) for _ in range(60)]
    pers = [children.shell("echo -1 > %s" % op_path(mount, SEMKEY))
            for _ in range(40)]
    wait_all_blocked(cats + pers)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(semid) == 40, 10)
    _, took = timed(os.listdir, mq_dir(mount, KEY))
    assert took < ANSWERS
    reader = children.python(READER, receive_path(mount, KEY), 4096)
    assert wait_blocked(reader)
    reader.send_signal(signal.SIGUSR1)
    assert outcome(reader, timeout=10) == ["ERR", "EINTR"]
    for i in range(60):
        raw.msg_send(msq, b"s%02d" % i)
    raw.sem_op(semid, 40)
    outs = sorted(c.communicate(timeout=10)[0] for c in cats)
    assert outs == sorted(b"s%02d" % i for i in range(60))
    for p in pers:
        assert p.wait(timeout=10) == 0
    assert raw.sem_get_value(semid) == 0
    assert raw.msg_drain(msq) == []
