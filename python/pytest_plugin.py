"""pytest fixtures for testing programs that use System V IPC.

Installed with the sysv_ipc package as `sysv_ipc.pytest_plugin`, and
registered through the `pytest11` entry point, so a suite gets these
fixtures by installing the package (or with `-p sysv_ipc.pytest_plugin`):

- `ipc_namespace`: the test runs in a private IPC namespace, empty when
  the test starts, and every object in it is removed when the test ends.
  The first test that uses it moves the whole pytest process (and every
  child it starts from then on) into a new IPC namespace with
  unshare(CLONE_NEWIPC); the process stays there for the rest of the
  session: a namespace cannot be left again.  Needs root or
  CAP_SYS_ADMIN; without them the test fails, saying so.
- `mount_ipcfs(*args, expect_output=None)`: a factory that mounts a
  temporary ipcfs with the given command line options and returns a
  `Mount` (`.path`, `.unmount()`, `.output()`, `.kill()`).  Every mount
  is unmounted at teardown, whatever happened, and the test fails if the
  daemon crashed, exited non-zero, or printed anything that looks like an
  error (unless `expect_output`, a regex, says what it should print).
- `ipcfs_mount`: one such mount, with default options.
- The ipcfs binary: `--ipcfs-binary PATH`, else $IPCFS_BINARY, else
  `ipcfs` on PATH; the test fails if none is found (a skip would hide it).

The ipcfs test suite itself uses this module (tests/conftest.py): one
implementation for both.
"""

import ctypes
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

__all__ = ["Mount", "list_ipc_ids", "remove_all_ipc_objects",
           "enter_private_ipc_namespace", "is_mounted"]

CLONE_NEWIPC = 0x08000000
IPC_RMID = 0
KINDS = ("sem", "shm", "msg")
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------- namespace

# The namespace this process entered (its /proc/self/ns/ipc link), once it
# has: entering is done once per process, since each unshare would make yet
# another namespace and strand the objects of the one before.
_private_ipc_namespace = None


def enter_private_ipc_namespace():
    """unshare(CLONE_NEWIPC), once per process: this thread and every child
    started from now on see a new, empty IPC namespace.  (Only the calling
    thread moves; pytest runs tests in the main thread.)  Raises OSError,
    with the reason, where the process may not (no CAP_SYS_ADMIN)."""
    global _private_ipc_namespace
    if _private_ipc_namespace is not None:
        return
    if _libc.unshare(CLONE_NEWIPC) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "cannot enter a private IPC namespace "
                      "(unshare(CLONE_NEWIPC): %s); it needs root or "
                      "CAP_SYS_ADMIN" % os.strerror(err))
    _private_ipc_namespace = os.readlink("/proc/self/ns/ipc")


def list_ipc_ids(kind):
    """Ids of every object of a kind ('sem', 'shm', 'msg') in the namespace."""
    with open("/proc/sysvipc/" + kind) as f:
        next(f)
        return [int(line.split()[1]) for line in f if line.strip()]


def remove_all_ipc_objects():
    """Removes every IPC object in the namespace; returns [(kind, id)]."""
    removers = {
        "sem": lambda i: _libc.semctl(i, 0, IPC_RMID),
        "shm": lambda i: _libc.shmctl(i, IPC_RMID, None),
        "msg": lambda i: _libc.msgctl(i, IPC_RMID, None),
    }
    left = []
    for kind in KINDS:
        for ident in list_ipc_ids(kind):
            removers[kind](ident)
            left.append((kind, ident))
    return left


@pytest.fixture
def ipc_namespace():
    """The test runs in the session's private IPC namespace (entered the
    first time this fixture is used, for the rest of the session), which
    is emptied before the test and after it, on every path."""
    if os.readlink("/proc/self/ns/ipc") != _private_ipc_namespace:
        try:
            enter_private_ipc_namespace()
        except OSError as e:
            # Fail, not skip: a skip would report a suite that never ran
            # in the namespace it asked for as if nothing were wrong.
            pytest.fail("ipc_namespace: %s" % e.strerror, pytrace=False)
    # Whatever tests that did not ask for the namespace left in it since.
    remove_all_ipc_objects()
    yield _private_ipc_namespace
    remove_all_ipc_objects()


# ---------------------------------------------------------------- ipcfs mounts

DAEMON_COMPLAINTS = re.compile(
    r"error|warning|traceback|sanitizer|runtime error|leak", re.IGNORECASE)


def is_mounted(path):
    """Whether an ipcfs is mounted on path (in this mount namespace)."""
    target = " %s " % os.fspath(path)
    with open("/proc/self/mountinfo") as f:
        return any(target in line and " fuse.ipcfs " in line for line in f)


def die_with_parent(then=None):
    """A preexec_fn for a daemon: SIGTERM (ipcfs then unmounts and exits)
    when the process that started it dies, so that even a pytest killed
    with SIGKILL leaves no mount behind.  `then` (e.g. dropping to nobody)
    runs first: a change of user clears the setting.  The signal comes
    when the starting *thread* ends, so only the main thread asks for it."""
    main = threading.current_thread() is threading.main_thread()

    def preexec():
        if then is not None:
            then()
        if main:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return preexec


def describe_threads(pid):
    """Each thread of pid: its state, where it sleeps in the kernel, and
    its kernel stack (root may read it): what a hung process waits for."""
    lines = []
    try:
        tids = sorted(os.listdir("/proc/%d/task" % pid), key=int)
    except OSError as e:
        return str(e)
    for tid in tids:
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(base + "wchan") as f:
                wchan = f.read()
            with open(base + "stack") as f:
                stack = " < ".join(l.split()[1].split("+")[0]
                                   for l in f if l.strip())
        except OSError as e:
            state, wchan, stack = "?", "?", str(e)
        lines.append("  %s %s %s: %s" % (tid, state, wchan, stack))
    return "\n".join(lines)


def fusermount_u(path, timeout=10.0):
    """fusermount3 -u, again while the mount is busy: a client killed just
    now may still be closing its files."""
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(["fusermount3", "-u", str(path)],
                              capture_output=True, text=True)
        if done.returncode == 0 or "busy" not in done.stderr or \
                time.monotonic() >= deadline:
            return done
        time.sleep(0.05)


# The mounts (paths and objects) of the Mount objects not yet cleaned up:
# a harness that sweeps for leftover mounts (the ipcfs suite's) spares them.
_live_mounts = set()
_live_mount_objects = []


class Mount:
    """A running ipcfs daemon (`proc`) and its mount point (`path`), a new
    directory made by tempfile.mkdtemp."""

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
            stderr=subprocess.STDOUT, env=env,
            preexec_fn=die_with_parent())
        _live_mounts.add(str(self.path))
        _live_mount_objects.append(self)
        try:
            self._wait_for_mount()
        except BaseException:  # a failure, a timeout, a KeyboardInterrupt
            self._cleanup()
            raise

    # Generous: the first mount after boot (module loading, cold caches,
    # a loaded machine, ASan) can take seconds; a good mount ends the wait.
    def _wait_for_mount(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_mounted(self.path):
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
        self.proc.wait()

    def _cleanup(self):
        """Unmounts lazily and kills, whatever state things are in."""
        try:
            if is_mounted(self.path):
                subprocess.run(["fusermount3", "-u", "-z", str(self.path)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass  # a harness's sweep names it
            if is_mounted(self.path):  # mounted while being killed
                subprocess.run(["umount", "-l", str(self.path)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if not is_mounted(self.path):
                os.rmdir(self.path)  # never rmtree: it may be mounted
        except OSError:
            pass  # nothing more can be done here; what stays is visible
        finally:
            _live_mounts.discard(str(self.path))
            if self in _live_mount_objects:
                _live_mount_objects.remove(self)

    def unmount(self):
        """Unmounts and checks that the daemon exited cleanly and quietly.
        Called by the fixtures at teardown; a second call does nothing."""
        if self._log.closed:
            return
        try:
            if self.killed:
                return
            if is_mounted(self.path):
                done = fusermount_u(self.path)
                assert done.returncode == 0, \
                    "fusermount3 -u failed: " + done.stderr
            try:
                # Generous: an ASan daemon checks for leaks as it exits.
                code = self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pytest.fail("ipcfs did not exit after unmount:\n%s\n"
                            "its threads:\n%s" % (self.output(),
                                                  describe_threads(
                                                      self.proc.pid)))
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


def pytest_addoption(parser):
    parser.addoption(
        "--ipcfs-binary", metavar="PATH", default=None,
        help="the ipcfs program the ipcfs_mount and mount_ipcfs fixtures "
        "run (default: $IPCFS_BINARY, else ipcfs on PATH)")


@pytest.fixture
def ipcfs_binary(request):
    """The ipcfs program: --ipcfs-binary, $IPCFS_BINARY, or PATH's ipcfs."""
    for how, value in (("--ipcfs-binary",
                        request.config.getoption("--ipcfs-binary")),
                       ("$IPCFS_BINARY", os.environ.get("IPCFS_BINARY"))):
        if value:
            if not os.access(value, os.X_OK) or os.path.isdir(value):
                pytest.fail("%s names %s, which is not an executable file"
                            % (how, value), pytrace=False)
            return pathlib.Path(value).resolve()
    found = shutil.which("ipcfs")
    if found is None:
        # Fail, not skip: tests that need a mount did not run.
        pytest.fail("no ipcfs program: give --ipcfs-binary PATH, set "
                    "IPCFS_BINARY, or put ipcfs on PATH", pytrace=False)
    return pathlib.Path(found)


@pytest.fixture
def mount_ipcfs(ipcfs_binary):
    """Factory: mount_ipcfs(*args, expect_output=None) -> Mount.

    Each mount is unmounted at teardown, which fails the test if the daemon
    crashed, exited non-zero or printed anything that looks like an error
    (unless expect_output, a regex, says what it should print)."""
    mounts = []

    def make(*args, expect_output=None):
        mount = Mount(ipcfs_binary, args, expect_output)
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
