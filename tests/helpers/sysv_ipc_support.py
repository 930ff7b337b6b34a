"""Helpers shared by the tests of the sysv_ipc module (tests/python/; the
helpers' own tests are tests/python/test_sysv_ipc_support.py).

- `Made` remembers IPC objects and removes them at teardown, on every
  path: the `made` fixture (tests/python/conftest.py).
- `Child` runs a Python script in a second process that imports the same
  built module (and, like every child of the suite, shares its private IPC
  namespace); the `child` fixture kills and reaps it at the end of the
  test.
  `blocked_child` and `interrupt` are the child that blocks in one call
  and the SIGINT that interrupts it.
- `traced` runs a script under strace and returns the system calls of its
  marked stretch.
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import sysv_ipc
from suite import PYTHON_CHILDREN, wait_until

# The sys.path entry sysv_ipc comes from: build/python, or the site
# directory that holds an installed copy (a package, sysv_ipc/__init__.*).
MODULE_DIR = os.path.dirname(os.path.abspath(sysv_ipc.__file__))
if hasattr(sysv_ipc, "__path__"):
    MODULE_DIR = os.path.dirname(MODULE_DIR)


def remove_quietly(obj):
    try:
        obj.remove()
    except sysv_ipc.ExistentialError:
        pass


class Made:
    """Collects IPC objects a test makes; removes them all at teardown."""

    def __init__(self):
        self.objects = []

    def __call__(self, obj):
        self.objects.append(obj)
        return obj

    def sem(self, *args, **kwargs):
        if not args and "key" not in kwargs:
            args = (None, sysv_ipc.IPC_CREX)
        return self(sysv_ipc.Semaphore(*args, **kwargs))

    def sem_set(self, nsems=3, *args, **kwargs):
        if not args and "key" not in kwargs:
            return self(sysv_ipc.SemaphoreSet(None, nsems, sysv_ipc.IPC_CREX,
                                              **kwargs))
        return self(sysv_ipc.SemaphoreSet(*args, **kwargs))

    def shm(self, *args, **kwargs):
        if not args and "key" not in kwargs:
            args = (None, sysv_ipc.IPC_CREX)
        return self(sysv_ipc.SharedMemory(*args, **kwargs))

    def mq(self, *args, **kwargs):
        if not args and "key" not in kwargs:
            args = (None, sysv_ipc.IPC_CREX)
        return self(sysv_ipc.MessageQueue(*args, **kwargs))

    def remove_all(self):
        for obj in reversed(self.objects):
            remove_quietly(obj)
        self.objects.clear()


class Child:
    """A Python child process running `code` with sysv_ipc importable.

    The script's stdout is a pipe read line by line with expect(); stderr
    is kept for failure messages.  kill() always runs at teardown.  With
    count_sigusr1, the script has a list `hits` that gets an item for each
    SIGUSR1 the child takes (which then no longer kills it)."""

    def __init__(self, code, *, user=None, count_sigusr1=False):
        self.err = None
        env = dict(os.environ)
        # The module, and the code children share (tests/python/children).
        env["PYTHONPATH"] = os.pathsep.join(
            [MODULE_DIR, str(PYTHON_CHILDREN), env.get("PYTHONPATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        prelude = "import sys, os, time, signal, sysv_ipc\n"
        if user is not None:
            prelude += "os.setgid(%d); os.setuid(%d)\n" % (user, user)
        if count_sigusr1:
            prelude += ("hits = []\n"
                        "signal.signal(signal.SIGUSR1, "
                        "lambda *a: hits.append(1))\n")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env)

    def expect(self, text, timeout=30.0):
        """Reads stdout lines until one equals text; fails on EOF."""
        import selectors
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    pytest.fail("child did not print %r in %.0f s; stderr:\n%s"
                                % (text, timeout, self.stderr()))
                line = self.proc.stdout.readline()
                if not line:
                    self.kill()
                    pytest.fail("child exited (%s) before printing %r; "
                                "stderr:\n%s"
                                % (self.proc.wait(), text, self.stderr()))
                if line.rstrip("\n") == text:
                    return
        finally:
            sel.close()

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=30.0):
        """Waits for exit; returns (returncode, rest of stdout).  The
        child's stderr is then in self.err."""
        try:
            out, self.err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("child did not exit within %.0f s" % timeout)
        return self.proc.returncode, out

    def stderr(self):
        if self.err is not None:
            return self.err
        if self.proc.poll() is None:
            return "(still running)"
        try:
            return self.proc.stderr.read()
        except ValueError:
            return ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.communicate(timeout=10)
        except (ValueError, subprocess.TimeoutExpired):
            pass


def run_child(code, timeout=30.0, **kwargs):
    """Runs code to completion; returns CompletedProcess (text)."""
    c = Child(code, **kwargs)
    try:
        out, err = c.proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        c.kill()
        pytest.fail("child did not finish within %.0f s" % timeout)
    return subprocess.CompletedProcess(c.proc.args, c.proc.returncode, out,
                                       err)


def under_asan():
    """True when the module runs under AddressSanitizer, whose allocator
    maps memory on its own and keeps freed memory in a quarantine."""
    with open("/proc/self/maps") as f:
        return any("libasan" in line for line in f)


def wait_blocked_in(pid, word, timeout=30.0):
    """Waits until process pid sleeps in a kernel function whose name holds
    word (/proc/PID/wchan: "do_msgrcv", "do_msgsnd", ...)."""
    def blocked():
        try:
            with open("/proc/%d/wchan" % pid) as f:
                return word in f.read()
        except OSError:
            return False
    assert wait_until(blocked, timeout), \
        "process %d never blocked in %s" % (pid, word)


def signal_handled(c, signum, word):
    """Sends signum to child c, blocked in a call whose kernel wait has word
    in its name, and returns once its Python handler ran and the call waits
    again: the signal was taken (no longer pending), then the call was
    retried, which the module does only after running the handlers.  Two
    signals sent closer than that would make one handler call (a pending
    signal is a bit, and Python runs a handler once per batch), which a
    fixed pause told apart only on an idle machine."""
    bit = 1 << (signum - 1)

    def pending():
        with open("/proc/%d/status" % c.proc.pid) as f:
            return any(line.startswith(("SigPnd:", "ShdPnd:")) and
                       int(line.split()[1], 16) & bit for line in f)
    c.signal(signum)
    assert wait_until(lambda: not pending(), 30), "signal never taken"
    wait_blocked_in(c.proc.pid, word)


def allowed_or_refused(opening, calls, user):
    """Runs opening in a child as user, then each of calls (script text: a
    tuple's items); returns the words the child printed, each call's being
    "allowed", or "refused" where it raised PermissionsError."""
    done = run_child(textwrap.dedent(opening) +
                     "for call in (%s,):\n"
                     "    try:\n"
                     "        call()\n"
                     '        print("allowed")\n'
                     "    except sysv_ipc.PermissionsError:\n"
                     '        print("refused")\n' % calls, user=user)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def blocked_child(child, opening, call, catch, code=0, ready=False):
    """Starts child(): it runs opening (which names the object), prints
    "ready" if asked, then blocks in call; when call raises catch, it prints
    catch and exits with code."""
    return child(opening + ('print("ready")\n' if ready else "") +
                 "try:\n    %s\nexcept %s:\n    print(%r)\n    sys.exit(%d)\n"
                 % (call, catch, catch, code))


def interrupt(c, code):
    """SIGINT to child c blocked in a call: it reports KeyboardInterrupt
    and exits with code.  The call blocks for good otherwise, so the
    generous bound of expect() is the check, not a stopwatch (a loaded
    machine takes seconds to run a Python child's exit)."""
    c.signal(signal.SIGINT)
    c.expect("KeyboardInterrupt")
    assert c.wait()[0] == code


needs_strace = pytest.mark.skipif(shutil.which("strace") is None,
                                  reason="needs strace")
MARK = "/sysv-ipc-test-mark"


def traced(tmp_path, setup, loop, after=""):
    """Runs setup, loop and after (script lines) in a Python child under
    strace -f; returns strace's lines for what loop did, between two marks
    (access() of MARK)."""
    script = tmp_path / "traced.py"
    script.write_text(
        "import sys, os\n"
        "sys.path.insert(0, %r)\n"
        "import sysv_ipc\n" % MODULE_DIR + setup +
        "os.access(%r, 0)\n" % MARK + loop +
        "os.access(%r, 0)\n" % MARK + after)
    log = tmp_path / "strace.log"
    subprocess.run(["strace", "-f", "-o", str(log), sys.executable,
                    str(script)], check=True, timeout=60)
    lines = log.read_text().splitlines()
    marks = [i for i, line in enumerate(lines) if MARK in line]
    assert len(marks) == 2
    return lines[marks[0] + 1:marks[1]]


def call_names(lines):
    """The system call of each strace line."""
    return [line.split(None, 1)[1].split("(")[0] for line in lines]
