"""Fixtures shared by the whole suite.

- The test process moves into a private IPC namespace before any test runs,
  so tests see only the objects they make and never touch other programs'
  (the namespace, and whatever is left in it, vanishes with the process).
- `$IPCFS_BUILD/python` (default: build/) is put on sys.path, so
  `import sysv_ipc` gets the module this tree built.
- After each test, every IPC object left in the namespace is removed.
- `mount_ipcfs(*args)` mounts a temporary ipcfs and always unmounts it,
  failing the test if the daemon crashed or printed an error.
"""

import atexit
import ctypes
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = (ROOT / os.environ.get("IPCFS_BUILD", "build")).resolve()

# scripts/test-install sets IPCFS_USE_INSTALLED=1 to test the installed copy.
if os.environ.get("IPCFS_USE_INSTALLED") != "1":
    sys.path.insert(0, str(BUILD / "python"))
sys.path.insert(0, str(ROOT / "tests"))

CLONE_NEWIPC = 0x08000000
IPC_RMID = 0
KINDS = ("sem", "shm", "msg")


# ---------------------------------------------------------------- namespace


def _enter_private_ipc_namespace():
    """unshare(CLONE_NEWIPC) for this process and every child it starts."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        err = ctypes.get_errno()
        raise pytest.UsageError(
            "cannot enter a private IPC namespace (unshare: %s); "
            "run the suite as root, as scripts/test does" % os.strerror(err))


# The namespace the suite was started in, to show that it left it.
ORIGINAL_IPC_NAMESPACE = os.readlink("/proc/self/ns/ipc")


def _confine_asan_preload_to_python():
    """Under scripts/test --sanitize, LD_PRELOAD brings the ASan runtime
    that the instrumented extension module needs in python3.  Other
    programs the tests run (dd, cat, ...) must not get it: ASan is stricter
    than glibc (dd's aligned_alloc aborts).  So drop it from the
    environment and point sys.executable, which the tests use to start
    Python children, at a wrapper that puts it back."""
    preload = os.environ.pop("LD_PRELOAD", "")
    if "libasan" not in preload:
        return
    wrapper_dir = tempfile.mkdtemp(prefix="ipcfs-asan-python-")
    os.chmod(wrapper_dir, 0o755)  # tests run Python as nobody too
    atexit.register(shutil.rmtree, wrapper_dir, True)
    wrapper = os.path.join(wrapper_dir, "python3")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nLD_PRELOAD=%s exec %s "$@"\n'
                % (preload, sys.executable))
    os.chmod(wrapper, 0o755)
    sys.executable = wrapper


def pytest_configure(config):
    _enter_private_ipc_namespace()
    _confine_asan_preload_to_python()


def list_ipc_ids(kind):
    """Ids of every object of a kind ('sem', 'shm', 'msg') in the namespace."""
    with open("/proc/sysvipc/" + kind) as f:
        next(f)
        return [int(line.split()[1]) for line in f if line.strip()]


def _remove_all_ipc_objects():
    libc = ctypes.CDLL(None, use_errno=True)
    removers = {
        "sem": lambda i: libc.semctl(i, 0, IPC_RMID),
        "shm": lambda i: libc.shmctl(i, IPC_RMID, None),
        "msg": lambda i: libc.msgctl(i, IPC_RMID, None),
    }
    left = []
    for kind in KINDS:
        for ident in list_ipc_ids(kind):
            removers[kind](ident)
            left.append((kind, ident))
    return left


@pytest.fixture(autouse=True)
def _clean_ipc_namespace():
    """Removes whatever IPC objects a test left behind, on every path."""
    yield
    _remove_all_ipc_objects()


# ---------------------------------------------------------------- ipcfs mounts

DAEMON_COMPLAINTS = re.compile(
    r"error|warning|traceback|sanitizer|runtime error|leak", re.IGNORECASE)


def _is_mounted(path):
    target = " %s " % os.fspath(path)
    with open("/proc/self/mountinfo") as f:
        return any(target in line and " fuse.ipcfs " in line for line in f)


class Mount:
    """A running ipcfs daemon and its mount point."""

    def __init__(self, binary, args, expect_output=None):
        self.path = pathlib.Path(tempfile.mkdtemp(prefix="ipcfs-test-"))
        self.args = list(args)
        self.expect_output = expect_output
        self.killed = False
        self._log = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ)
        if "IPCFS_DAEMON_ASAN_OPTIONS" in env:  # scripts/test --sanitize
            env["ASAN_OPTIONS"] = env["IPCFS_DAEMON_ASAN_OPTIONS"]
        self.proc = subprocess.Popen(
            [str(binary), "-f", *self.args, str(self.path)],
            stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, env=env)
        self._wait_for_mount()

    def _wait_for_mount(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _is_mounted(self.path):
                return
            if self.proc.poll() is not None:
                self._cleanup()
                pytest.fail("ipcfs exited with %s before mounting:\n%s"
                            % (self.proc.returncode, self.output()))
            time.sleep(0.01)
        self._cleanup()
        pytest.fail("ipcfs did not mount within %.0f s:\n%s"
                    % (timeout, self.output()))

    def output(self):
        """Everything the daemon printed so far (stdout and stderr)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def kill(self):
        """SIGKILLs the daemon; teardown then only cleans the mount up."""
        self.killed = True
        self.proc.kill()
        self.proc.wait(timeout=10)

    def _cleanup(self):
        """Unmounts lazily and kills, whatever state things are in."""
        if _is_mounted(self.path):
            subprocess.run(["fusermount3", "-u", "-z", str(self.path)],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if not _is_mounted(self.path):
            shutil.rmtree(self.path, ignore_errors=True)

    def unmount(self):
        """Unmounts and checks that the daemon exited cleanly and quietly."""
        try:
            if self.killed:
                return
            if _is_mounted(self.path):
                done = subprocess.run(["fusermount3", "-u", str(self.path)],
                                      capture_output=True, text=True)
                assert done.returncode == 0, \
                    "fusermount3 -u failed: " + done.stderr
            try:
                code = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pytest.fail("ipcfs did not exit after unmount:\n"
                            + self.output())
            assert code == 0, "ipcfs exited with %d:\n%s" % (code,
                                                               self.output())
            text = self.output()
            if self.expect_output is None:
                assert not DAEMON_COMPLAINTS.search(text), \
                    "ipcfs printed:\n" + text
            else:
                assert re.search(self.expect_output, text), \
                    "ipcfs did not print %r:\n%s" % (self.expect_output, text)
        finally:
            self._cleanup()
            self._log.close()


@pytest.fixture
def ipcfs_bin():
    binary = BUILD / "fs" / "ipcfs"
    if not binary.exists():
        pytest.fail("%s is not built: run scripts/test, which builds first"
                    % binary)
    return binary


@pytest.fixture
def mount_ipcfs(ipcfs_bin):
    """Factory: mount_ipcfs(*args, expect_output=None) -> Mount.

    Each mount is unmounted at teardown, which fails the test if the daemon
    crashed, exited non-zero or printed anything that looks like an error
    (unless expect_output, a regex, says what it should print)."""
    mounts = []

    def make(*args, expect_output=None):
        mount = Mount(ipcfs_bin, args, expect_output)
        mounts.append(mount)
        return mount

    yield make
    errors = []
    for mount in reversed(mounts):
        try:
            mount.unmount()
        except BaseException as exc:  # report every mount, not just the first
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def ipcfs_mount(mount_ipcfs):
    """A temporary ipcfs mount with default options."""
    return mount_ipcfs()


def wait_until(predicate, timeout=5.0, interval=0.005):
    """Polls predicate until it is true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
