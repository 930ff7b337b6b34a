"""The suite's cleanup guarantees (conftest.py), shown on a nested pytest
session that misbehaves: whatever way a test ends (a leak, a failure, a
timeout, Ctrl-C, even pytest SIGKILLed), no ipcfs mount and no process it
started is left, and a leak is reported, not hidden."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from suite import (ORIGINAL_MOUNT_NAMESPACE, ROOT, SUITE_TOKEN_VAR,
                   wait_until)


def mounted_points():
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def processes_in(mntns):
    """Processes in that mount namespace: while there are none, it and
    its mounts are gone."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink("/proc/%s/ns/mnt" % name) == mntns:
                    found.append(int(name))
            except OSError:
                continue
    return found


def processes_with(token):
    """Live processes whose environment carries the nested session's
    token."""
    marker = ("%s=%s" % (SUITE_TOKEN_VAR, token)).encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


class Nested:
    """A pytest session on one test file, with this suite's conftest.  The
    test reports what it made (mount point, session token) in a file as
    "NAME VALUE" lines, since its output may never come (SIGKILL)."""

    def __init__(self, tmp_path, body, *args, ignore_sigint=False):
        self.dir = tmp_path / "nested"
        self.dir.mkdir()
        (self.dir / "conftest.py").symlink_to(ROOT / "tests" / "conftest.py")
        self.report = self.dir / "report"
        (self.dir / "test_nested.py").write_text(
            "import os, signal, subprocess, sys, time\n"
            "import conftest\n"
            "def note(name, value):\n"
            "    with open(%r, 'a') as f:\n"
            "        f.write('%%s %%s\\n' %% (name, value))\n"
            "note('token', os.environ[%r])\n"
            "note('session', conftest.SESSION_DIR)\n"
            "note('mntns', os.readlink('/proc/self/ns/mnt'))\n"
            % (str(self.report), SUITE_TOKEN_VAR) + textwrap.dedent(body))

        def preexec():
            if ignore_sigint:  # as a shell starts a background job
                signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
             "-c", os.devnull, "--rootdir", str(self.dir), "-q", "-s",
             *args, str(self.dir / "test_nested.py")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=str(self.dir), preexec_fn=preexec)

    def notes(self):
        if not self.report.exists():
            return {}
        return dict(line.split(" ", 1) for line in
                    self.report.read_text().splitlines())

    def finish(self, timeout=300):
        self.out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def assert_nothing_left(self):
        notes = self.notes()
        assert notes.get("mount"), "the nested test mounted nothing:\n%s" \
            % getattr(self, "out", "")
        # The nested session's mounts are in its own mount namespace: they
        # are gone once no process is left in it.  The daemons end by
        # themselves (unmounted, or SIGTERM when their pytest died): wait
        # for that, generously.
        assert notes["mntns"] != os.readlink("/proc/self/ns/mnt")
        assert wait_until(lambda: processes_in(notes["mntns"]) == [], 60), \
            processes_in(notes["mntns"])
        assert wait_until(lambda: processes_with(notes["token"]) == [], 60), \
            processes_with(notes["token"])


@pytest.fixture
def nested(tmp_path):
    sessions = []

    def start(body, *args, **kw):
        sessions.append(Nested(tmp_path, body, *args, **kw))
        return sessions[-1]
    yield start
    # Whatever the nested session failed to remove (the test then fails):
    # not left for the machine, which this suite's sweeps would not see
    # (another session's token and directory).
    for s in sessions:
        if s.proc.poll() is None:
            s.proc.kill()
        s.proc.communicate()
        notes = s.notes()
        for pid in set(processes_with(notes.get("token", "-")) +
                       processes_in(notes.get("mntns", "-"))):
            os.kill(pid, signal.SIGKILL)  # and the namespace goes
        session = notes.get("session")
        if session and not any(p.startswith(session + "/")
                               for p in mounted_points()):
            shutil.rmtree(session, ignore_errors=True)


def test_a_leak_fails_the_test_and_is_removed(nested):
    n = nested("""
        def test_leaks(ipcfs_bin, tmp_path):
            mnt = tmp_path / "mnt"
            mnt.mkdir()
            subprocess.Popen([str(ipcfs_bin), "-f", str(mnt)])
            assert conftest.wait_until(lambda: conftest._is_mounted(mnt), 60)
            note("mount", mnt)
            subprocess.Popen(["sleep", "600"])
            pid = os.fork()  # a child without exec: no token of its own
            if pid == 0:
                time.sleep(600)
                os._exit(0)
            note("forked", pid)
    """)
    assert n.finish() == 1, n.out
    assert "the test left things behind" in n.out
    assert "sleep 600" in n.out and n.notes()["mount"] in n.out
    assert "\n  %s " % n.notes()["forked"] in n.out
    n.assert_nothing_left()
    assert not os.path.exists("/proc/%s" % n.notes()["forked"])


def test_a_failing_test_leaves_nothing(nested):
    n = nested("""
        def test_fails(mount_ipcfs):
            m = mount_ipcfs()
            note("mount", m.path)
            os.mkdir(m.path / "sem" / "5")
            assert False, "on purpose"
    """)
    assert n.finish() == 1, n.out
    assert "on purpose" in n.out and "left things behind" not in n.out
    n.assert_nothing_left()


def test_a_timeout_runs_the_teardown(nested):
    n = nested("""
        def test_hangs(mount_ipcfs):
            note("mount", mount_ipcfs().path)
            time.sleep(600)
    """, "--timeout=10")
    assert n.finish() == 1, n.out
    assert "Timeout" in n.out and "left things behind" not in n.out
    n.assert_nothing_left()


def test_ctrl_c_runs_the_teardown(nested):
    n = nested("""
        def test_interrupted(mount_ipcfs):
            note("mount", mount_ipcfs().path)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(600)
    """)
    assert n.finish() == 2, n.out  # pytest's "interrupted"
    assert "KeyboardInterrupt" in n.out and "LEAK" not in n.out
    n.assert_nothing_left()


def test_pytest_killed_leaves_no_mount(nested):
    """SIGKILL runs no teardown at all: the daemons get SIGTERM when their
    pytest dies (PR_SET_PDEATHSIG), and unmount."""
    n = nested("""
        def test_killed(mount_ipcfs):
            note("mount", mount_ipcfs().path)
            time.sleep(600)
    """)
    assert wait_until(lambda: "mount" in n.notes(), 120), n.notes()
    n.proc.kill()
    n.finish()
    n.assert_nothing_left()


def test_children_get_sigint_even_if_pytest_was_started_ignoring_it(nested):
    """A background job starts with SIGINT ignored, and its children would
    inherit that; the suite's tests interrupt children with SIGINT."""
    n = nested("""
        def test_child_takes_sigint(mount_ipcfs):
            note("mount", mount_ipcfs().path)
            child = subprocess.Popen(["sleep", "600"])
            child.send_signal(signal.SIGINT)
            assert child.wait(timeout=60) == -signal.SIGINT
    """, ignore_sigint=True)
    assert n.finish() == 0, n.out
    n.assert_nothing_left()


def test_mounts_stay_in_the_session(mount_ipcfs):
    """The suite's mounts are in its own mount namespace: the namespace it
    was started in (its parent's) never sees them, so another program
    there cannot copy them and keep their daemons alive; and it holds no
    copy of FUSE mounts from outside, which would keep theirs alive."""
    m = mount_ipcfs()
    assert os.readlink("/proc/self/ns/mnt") != ORIGINAL_MOUNT_NAMESPACE
    assert str(m.path) in mounted_points()
    parent = os.getppid()
    if os.readlink("/proc/%d/ns/mnt" % parent) != ORIGINAL_MOUNT_NAMESPACE:
        pytest.skip("pytest's parent is gone (reparented)")
    with open("/proc/%d/mountinfo" % parent) as f:
        assert " %s " % m.path not in f.read()
    with open("/proc/self/mountinfo") as f:
        lines = f.read().splitlines()
    if "master:" in next(l for l in lines if l.split()[4] == "/"):
        return  # / is shared outside: mounts made there since come here too
    # / is private: no FUSE mount from outside was kept (copied) in here.
    fuse = {line.split()[4] for line in lines
            if line.split(" - ", 1)[1].startswith("fuse")}
    with open("/proc/%d/mountinfo" % parent) as f:
        outside = {line.split()[4] for line in f
                   if line.split(" - ", 1)[1].startswith("fuse")}
    assert fuse & outside == set()
