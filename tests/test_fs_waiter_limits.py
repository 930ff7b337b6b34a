"""Waiting calls are counted per user (fs/blocking.h, LIMITS): an
unprivileged user holding all the waits it may have makes its own next
waiting call fail with EAGAIN, never root's or another user's; once the
shared pool is full, a user with few waits still gets one (the reserve).
Driven through an allow_other mount with small limits
(-o max_waiters=N, -o max_waiters_per_user=N), by users nobody and
OTHER."""

import os
import subprocess
import sys
import tempfile

import pytest

import ipc_raw as raw
from conftest import _is_mounted, wait_until
from fs_paths import NOBODY

OTHER = 4321  # a second unprivileged user (no passwd entry needed)
RESERVE = 16  # BLOCKING_RESERVED_WAITERS in fs/blocking.h

NOBODY_MQ, OTHER_MQ, ROOT_MQ = 5101, 5102, 5103
NOBODY_SEM, ROOT_SEM = 5201, 5203

# One read(2), no retry on EINTR: prints "DATA <hex>" or "ERR <errno>".
READER = r"""
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
buf = ctypes.create_string_buffer(int(sys.argv[2]))
print("READY", flush=True)
n = libc.read(fd, buf, len(buf))
if n < 0:
    print("ERR", errno.errorcode[ctypes.get_errno()], flush=True)
else:
    print("DATA", buf.raw[:n].hex(), flush=True)
"""

# One write(2) of argv[2]: prints "WROTE <n>" or "ERR <errno>".
WRITER = r"""
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_WRONLY)
data = sys.argv[2].encode()
print("READY", flush=True)
n = libc.write(fd, data, len(data))
if n < 0:
    print("ERR", errno.errorcode[ctypes.get_errno()], flush=True)
else:
    print("WROTE", n, flush=True)
"""


class Procs:
    """Processes a test starts, as any user; all killed and reaped at
    teardown, whatever happened."""

    def __init__(self):
        self.procs = []

    def start(self, argv, uid=0):
        kw = {}
        if uid:
            kw = dict(user=uid, group=uid, extra_groups=[], cwd="/")
        # Unbuffered: readline() of READY takes no more, so what follows
        # is still in the pipe for communicate(), which reads the pipes
        # themselves.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0, **kw)
        self.procs.append(proc)
        return proc

    def cat(self, path, uid=0):
        return self.start(["cat", str(path)], uid)

    def python(self, code, *args, uid=0):
        proc = self.start([sys.executable, "-c", code, *map(str, args)],
                          uid)
        line = proc.stdout.readline().decode().strip()
        assert line == "READY", proc.stderr.read().decode()
        return proc

    def kill_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        self.procs = []


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.kill_all()


# ---------------------------------------------------------------- helpers

def daemon_tasks_in(mount, where):
    """How many of the daemon's threads sleep in kernel function where
    (do_msgrcv, do_semtimedop): its waiters, counted exactly."""
    n = 0
    task = "/proc/%d/task" % mount.proc.pid
    for tid in os.listdir(task):
        try:
            with open("%s/%s/wchan" % (task, tid)) as f:
                n += f.read().strip() == where
        except OSError:
            pass
    return n


def wait_receivers(mount, n):
    assert wait_until(lambda: daemon_tasks_in(mount, "do_msgrcv") == n,
                      30), daemon_tasks_in(mount, "do_msgrcv")


def outcome(proc):
    """The READER's or WRITER's last line, split; waits for it."""
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out.decode().split()


def receive(mount, key):
    return mount.path / "mq" / str(key) / "receive"


def op(mount, key):
    return mount.path / "sem" / str(key) / "op"


def own(mount, kind, key, ident, uid):
    """Makes uid the owner of the object (mode 0600: only it and root)."""
    os.chown(mount.path / kind / str(key), uid, uid)
    return ident


def drain(msqid):
    out = []
    while True:
        try:
            out.append(raw.msg_receive(msqid)[1])
        except OSError:
            return out


# ---------------------------------------------------------------- tests

def test_a_user_at_its_limit_starves_nobody_else(mount_ipcfs, procs):
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

    cats = [procs.cat(receive(m, NOBODY_MQ), NOBODY) for _ in range(4)]
    pers = [procs.start(["sh", "-c", "echo -1 > %s" % op(m, NOBODY_SEM)],
                        NOBODY) for _ in range(4)]
    wait_receivers(m, 4)
    assert wait_until(lambda: raw.sem_waiting_for_nonzero(n_sem) == 4, 30)

    # nobody's ninth wait, of either kind: EAGAIN at once, nothing done.
    late = procs.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]
    late = procs.python(WRITER, op(m, NOBODY_SEM), "-1", uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]
    assert raw.sem_waiting_for_nonzero(n_sem) == 4

    # Root and OTHER wait as usual meanwhile.
    r_reader = procs.python(READER, receive(m, ROOT_MQ), 4096)
    o_reader = procs.python(READER, receive(m, OTHER_MQ), 4096, uid=OTHER)
    r_p = procs.python(WRITER, op(m, ROOT_SEM), "-1")
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
    assert drain(n_mq) == [b"kept%d" % i for i in range(3)]

    # nobody's waits were all given back: it may hold 8 again.
    again = [procs.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
             for _ in range(8)]
    wait_receivers(m, 8)
    for i in range(8):
        raw.msg_send(n_mq, b"again%d" % i)
    assert sorted(outcome(p)[1] for p in again) == \
        sorted((b"again%d" % i).hex() for i in range(8))
    assert drain(n_mq) == []


def test_a_full_pool_keeps_a_reserve_for_each_user(mount_ipcfs, procs):
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
        procs.cat(receive(m, NOBODY_MQ), NOBODY)
    wait_receivers(m, 16)
    late = procs.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]

    others = [procs.python(READER, receive(m, OTHER_MQ), 4096, uid=OTHER)
              for _ in range(RESERVE)]
    wait_receivers(m, 16 + RESERVE)
    late = procs.python(READER, receive(m, OTHER_MQ), 4096, uid=OTHER)
    assert outcome(late) == ["ERR", "EAGAIN"]

    r_reader = procs.python(READER, receive(m, ROOT_MQ), 4096)
    r_p = procs.python(WRITER, op(m, ROOT_SEM), "-1")
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
    late = procs.python(READER, receive(m, NOBODY_MQ), 4096, uid=NOBODY)
    assert outcome(late) == ["ERR", "EAGAIN"]
    procs.kill_all()
    wait_receivers(m, 0)
    raw.msg_send(n_mq, b"kept")
    assert drain(n_mq) == [b"kept"]
    assert drain(o_mq) == []


def test_a_waiting_receive_holds_msgmax_and_grows_when_it_is_raised(
        mount_ipcfs, procs):
    """A waiting read of 64 KiB keeps a buffer of MSGMAX bytes only; a
    message longer than that, sent once MSGMAX was raised, still arrives
    whole."""
    m = mount_ipcfs()
    mq = raw.create("mq", ROOT_MQ, 0o600)
    before = raw.msgmax()
    reader = procs.python(READER, receive(m, ROOT_MQ), 65536)
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
    assert drain(mq) == []


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
        assert not _is_mounted(where)
    finally:
        if _is_mounted(where):
            subprocess.run(["fusermount3", "-u", "-z", where])
        os.rmdir(where)


# Makes pthread_create() fail with EAGAIN, while the file named by
# $IPCFS_TEST_NO_THREADS exists, for threads with a 64 KiB stack: the
# daemon's waiters (WAITER_STACK_SIZE in fs/waiter.c), not libfuse's workers.
NO_THREADS_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef int create_fn(pthread_t *, const pthread_attr_t *,
                      void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                   void *(*fn)(void *), void *arg)
{
        create_fn *real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
        const char *flag = getenv("IPCFS_TEST_NO_THREADS");
        size_t size = 0;

        if (attr && pthread_attr_getstacksize(attr, &size) == 0 &&
            size == 64 * 1024 && flag && access(flag, F_OK) == 0)
                return EAGAIN;
        return real(t, attr, fn, arg);
}
"""


@pytest.mark.skipif("IPCFS_DAEMON_ASAN_OPTIONS" in os.environ,
                    reason="ASan's runtime must come first in LD_PRELOAD")
def test_no_thread_for_a_wait_is_eagain_and_gives_the_slot_back(
        mount_ipcfs, procs, tmp_path, monkeypatch):
    """When the daemon cannot start a thread for a waiting call, the call
    fails at once with EAGAIN, never hangs, and the daemon says why once;
    the slot goes back, so the user, allowed one wait, can wait again."""
    shim = tmp_path / "no_threads.so"
    src = tmp_path / "no_threads.c"
    src.write_text(NO_THREADS_SHIM)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(shim), str(src),
                    "-ldl"], check=True)
    flag = tmp_path / "flag"
    flag.write_text("")
    monkeypatch.setenv("LD_PRELOAD", str(shim))
    monkeypatch.setenv("IPCFS_TEST_NO_THREADS", str(flag))
    m = mount_ipcfs("-o", "max_waiters_per_user=1",
                    expect_output=r"cannot start a thread")
    monkeypatch.delenv("LD_PRELOAD")
    mq = raw.create("mq", ROOT_MQ, 0o600)
    for _ in range(3):
        reader = procs.python(READER, receive(m, ROOT_MQ), 4096)
        assert outcome(reader) == ["ERR", "EAGAIN"]
    flag.unlink()
    reader = procs.python(READER, receive(m, ROOT_MQ), 4096)
    wait_receivers(m, 1)
    raw.msg_send(mq, b"after")
    assert outcome(reader) == ["DATA", b"after".hex()]
    assert drain(mq) == []
