"""Processes the filesystem tests start to act as users of a mount: the
child programs of tests/fs/children/, run with arguments, and the ways to
see that a caller waits in the daemon.

- `Children` starts processes (as any user) and kills and reaps them all
  at teardown (the `children` fixture, tests/fs/conftest.py).
- `outcome(proc)`: the words a child printed, once it ended well.
- `in_fuse_wait`, `wait_blocked`: a caller sleeps in a FUSE request
  (`still_blocked`: it did not end within a pause);
  `daemon_tasks_in`: how many of the daemon's threads sleep in a kernel
  function (its waiters, counted exactly).
- `forked_reader`, `race_readers_and_sends`: readers killed as messages
  arrive, which must lose nothing.
"""

import mmap
import os
import signal
import subprocess
import sys
import time

from suite import FS_CHILDREN, wait_until

# The child programs, by name: see each file's docstring.
READER = FS_CHILDREN / "reader.py"
WRITER = FS_CHILDREN / "writer.py"
POLLER = FS_CHILDREN / "poller.py"
UNSENT_WRITER = FS_CHILDREN / "unsent_writer.py"
TRY_OPEN = FS_CHILDREN / "try_open.py"


class Children:
    """Processes a test starts, as any user; all killed and reaped at
    teardown, whatever happened.  Their output is bytes, unbuffered:
    readline() of READY takes no more, so what follows is still in the
    pipe for communicate(), which reads the pipes themselves."""

    def __init__(self):
        self.procs = []

    def start(self, argv, uid=0, **kw):
        if uid:
            kw.update(user=uid, group=uid, extra_groups=[], cwd="/")
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen([str(a) for a in argv],
                                stdin=subprocess.DEVNULL, bufsize=0, **kw)
        self.procs.append(proc)
        return proc

    def python(self, program, *args, uid=0):
        """Runs a child program (a path, e.g. READER) with args; returns
        once it printed READY."""
        proc = self.start([sys.executable, program, *args], uid)
        line = proc.stdout.readline().decode().strip()
        assert line == "READY", proc.stderr.read().decode()
        return proc

    def cat(self, path, uid=0):
        return self.start(["cat", path], uid)

    def shell(self, script, uid=0):
        return self.start(["sh", "-c", script], uid)

    def bash(self, script, uid=0):
        """A bash script whose output is not kept."""
        return self.start(["bash", "-c", script], uid, stdout=None,
                          stderr=None)

    def kill_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait(timeout=30)
            for f in (proc.stdout, proc.stderr):
                if f:
                    f.close()
        self.procs = []


def next_line(proc):
    """The next line a child printed, as words."""
    return proc.stdout.readline().decode().split()


def outcome(proc, timeout=30):
    """The words of what a child printed last (its READER's or WRITER's
    result); waits for it to end, which it must do well."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out.decode().split()


def _wchan(pid):
    with open("/proc/%d/wchan" % pid) as f:
        return f.read().strip()


def in_fuse_wait(pid):
    """True once pid sleeps in a FUSE request (its call reached the
    daemon, so a signal now interrupts it there).  Where wchan is hidden,
    settles for a pause."""
    try:
        where = _wchan(pid)
    except OSError:
        return False
    if where in ("0", ""):
        time.sleep(0.3)
        return True
    return where == "request_wait_answer"


def still_blocked(proc, settle=0.3):
    """True if proc has not ended within settle seconds."""
    time.sleep(settle)
    return proc.poll() is None


def wait_blocked(proc, timeout=30.0):
    """Waits until proc waits in the daemon; True if it is still alive."""
    wait_until(lambda: proc.poll() is not None or in_fuse_wait(proc.pid),
               timeout)
    return proc.poll() is None


def wait_all_blocked(procs, timeout=20.0):
    for proc in procs:
        assert wait_blocked(proc, timeout), proc.args


def daemon_tasks_in(mount, where):
    """How many of the daemon's threads sleep in kernel function where
    (do_msgrcv, do_msgsnd, do_semtimedop): its waiters, counted exactly."""
    n = 0
    task = "/proc/%d/task" % mount.proc.pid
    for tid in os.listdir(task):
        try:
            with open("%s/%s/wchan" % (task, tid)) as f:
                n += f.read().strip() == where
        except OSError:
            pass
    return n


# ---------------------------------------------------------------- races

SLOT = 64  # bytes of the shared page per forked reader


def forked_reader(path, mm, slot, length=SLOT):
    """A child blocked in readv(2) of length bytes straight into slot of a
    shared page: whatever the kernel hands it lands in mm, even if it is
    killed right after.  SIGUSR1 ends it (exit 3).  Returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    try:
        signal.signal(signal.SIGUSR1, lambda *a: os._exit(3))
        fd = os.open(path, os.O_RDONLY)
        os.readv(fd, [memoryview(mm)[slot * SLOT:slot * SLOT + length]])
        os._exit(0)
    except BaseException:
        os._exit(4)


def race_readers_and_sends(path, send, messages, rng, length=SLOT):
    """One forked reader of length bytes of path per message, each waiting
    in the daemon; then, in an order rng shuffles, every message sent (by
    send(message)) and every reader killed (SIGKILL, or at times SIGUSR1,
    which its handler makes an exit).  Returns what each reader's buffer
    holds once all are reaped (zeros: it got nothing)."""
    mm = mmap.mmap(-1, len(messages) * SLOT)
    try:
        pids = [forked_reader(str(path), mm, i, length)
                for i in range(len(messages))]
        for pid in pids:
            assert wait_until(lambda: in_fuse_wait(pid), 10)
        order = [("send", m) for m in messages] + [("kill", p) for p in pids]
        rng.shuffle(order)
        for what, arg in order:
            if what == "send":
                send(arg)
            else:
                os.kill(arg, signal.SIGKILL if rng.random() < 0.7
                        else signal.SIGUSR1)
        for pid in pids:
            os.waitpid(pid, 0)
        return [mm[i * SLOT:i * SLOT + length] for i in range(len(messages))]
    finally:
        mm.close()
