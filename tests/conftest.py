"""Fixtures shared by the whole suite.

- The test process moves into a private IPC namespace before any test runs,
  so tests see only the objects they make and never touch other programs'
  (the namespace, and whatever is left in it, vanishes with the process).
  Likewise a mount namespace of its own: its mounts are not seen (nor
  copied, nor kept alive) outside, and go when its processes go.
- `$IPCFS_BUILD/python` (default: build/) is put on sys.path, so
  `import sysv_ipc` gets the module this tree built.
- After each test, every IPC object left in the namespace is removed.
- `mount_ipcfs(*args)` mounts a temporary ipcfs and always unmounts it,
  failing the test if the daemon crashed or printed an error.
- Nothing outlives a test: after each one, every process the suite started
  (found by a token in its environment, at any depth, detached or not) and
  every ipcfs mount under the session's directory must be gone; what is
  left is unmounted and killed, and the test errors, naming it.  The same
  sweep runs at the end of the session (also after a KeyboardInterrupt)
  and fails the session if it had anything to do: a leak is a bug to see.
- Mount points and temporary files (tempfile, tmp_path) all live in one
  directory per session, so the sweeps touch only this session's mounts,
  never those of another suite running beside it.
"""

import atexit
import contextlib
import ctypes
import fcntl
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = (ROOT / os.environ.get("IPCFS_BUILD", "build")).resolve()

# scripts/test-install sets IPCFS_USE_INSTALLED=1 to test the installed copy.
if os.environ.get("IPCFS_USE_INSTALLED") != "1":
    sys.path.insert(0, str(BUILD / "python"))
sys.path.insert(0, str(ROOT / "tests"))

CLONE_NEWIPC = 0x08000000
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2
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
ORIGINAL_MOUNT_NAMESPACE = os.readlink("/proc/self/ns/mnt")


def _enter_private_mount_namespace():
    """unshare(CLONE_NEWNS), then every mount a slave: the suite still sees
    the machine's mounts come and go, but its own stay in here.  Why: a
    mount that another program copies into a namespace of its own (any
    `unshare --mount`, e.g. test_mount_t_fuse_ipcfs_and_fstab of a suite
    running beside this one) keeps the FUSE connection alive after
    fusermount3 -u here, and the daemon does not exit until that namespace
    ends (minutes: "ipcfs did not exit after unmount").  Also, mounts in
    here cannot outlive the session's processes, whatever kills them.
    The copies of FUSE mounts already there (other suites', users') are
    dropped from here at once, for the same reason in the other direction:
    where / is private (no systemd), unshare copies them as they are, and
    the copies would keep their daemons alive until this session ends.
    Slave, where / is shared: the machine's mounts and unmounts still
    reach the suite, its own do not leave."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    if libc.unshare(CLONE_NEWNS) != 0 or \
            libc.mount(None, b"/", None, MS_REC | MS_SLAVE, None) != 0:
        err = ctypes.get_errno()
        raise pytest.UsageError(
            "cannot enter a private mount namespace (%s); run the suite as "
            "root, as scripts/test does" % os.strerror(err))
    with open("/proc/self/mountinfo") as f:
        copies = [line.split()[4] for line in f
                  if line.split(" - ", 1)[1].startswith("fuse")]
    for point in reversed(copies):  # innermost first
        libc.umount2(point.replace("\\040", " ").encode(), MNT_DETACH)


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


def _restore_default_interrupt_signals():
    """A shell without job control starts a background command (`cmd &`,
    nohup, some CI runners) with SIGINT and SIGQUIT ignored, and ignored
    dispositions are inherited across exec: every child the tests start
    would then shrug off the SIGINT that tests send them (Python would not
    even raise KeyboardInterrupt).  The tests assume the defaults, as in a
    terminal; so put them back, for pytest and hence for its children."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


# Every process the suite starts inherits this variable: the sweeps find
# them by it (also daemons that detached, children of children, and
# processes running as another user), and only them.
SUITE_TOKEN_VAR = "IPCFS_TEST_SESSION"
SUITE_TOKEN = "%d-%s" % (os.getpid(), os.urandom(6).hex())
# One directory per session holds every mount point and temporary file
# (tempfile's default directory points at it, so tmp_path does too).
SESSION_DIR = None


def _make_session_dir():
    global SESSION_DIR
    SESSION_DIR = os.path.realpath(tempfile.mkdtemp(prefix="ipcfs-suite-"))
    os.chmod(SESSION_DIR, 0o755)  # tests reach mounts in it as nobody too
    tempfile.tempdir = SESSION_DIR
    atexit.register(_remove_session_dir)


def pytest_configure(config):
    _enter_private_ipc_namespace()
    _enter_private_mount_namespace()
    _restore_default_interrupt_signals()
    os.environ[SUITE_TOKEN_VAR] = SUITE_TOKEN
    _make_session_dir()
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


# ---------------------------------------------------------------- leftovers


def suite_processes():
    """{pid: command line} of the live processes this session started: the
    ones that carry the token (whatever ran them), and children forked
    without exec (whose environment is still the one pytest started with).
    Zombies are not running (and have no environment)."""
    marker = ("%s=%s" % (SUITE_TOKEN_VAR, SUITE_TOKEN)).encode()
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
            if state == "Z":
                continue
            if int(ppid) != os.getpid():
                with open("/proc/%s/environ" % name, "rb") as f:
                    if marker not in f.read().split(b"\0"):
                        continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        found[int(name)] = cmd.strip()
    return found


def suite_mounts():
    """Mount points of the ipcfs mounts under this session's directory
    (in this mount namespace), innermost last."""
    if SESSION_DIR is None:
        return []
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            point = fields[4].replace("\\040", " ")
            if fstype.startswith("fuse") and \
                    point.startswith(SESSION_DIR + "/"):
                found.append(point)
    return found


def _sweep(spare_mounts=(), spare_pids=()):
    """Waits (generously) for the session's processes and mounts to go;
    unmounts and kills what stays.  Returns a description of what had to
    be removed, empty if nothing."""
    def leftovers():
        procs = {pid: cmd for pid, cmd in suite_processes().items()
                 if pid not in spare_pids}
        mounts = [m for m in suite_mounts() if m not in spare_mounts]
        return procs, mounts
    # A daemon told to unmount, or a detached one whose mount just went,
    # may still be on its way out: that is not a leak.
    wait_until(lambda: leftovers() == ({}, []), timeout=20, interval=0.05)
    procs, mounts = leftovers()
    if not procs and not mounts:
        return ""
    # Lazy unmounts first (they never block, whoever serves the mount),
    # then SIGKILL: a client blocked on a mount dies with it.
    for point in reversed(mounts):
        subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    for pid in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in procs:  # reap the ones that are our children
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    still = suite_processes(), suite_mounts()
    return ("mounts left: %s\nprocesses left: %s%s" % (
        mounts or "none",
        "".join("\n  %d %s" % item for item in procs.items()) or "none",
        "\nSTILL THERE after unmount and SIGKILL: %r" % (still,)
        if still != ({}, []) else ""))


@pytest.fixture(autouse=True)
def _nothing_left_behind():
    """After each test (and all its fixtures' teardown, which runs first:
    autouse fixtures are set up first), no process and no mount of the
    test may remain.  What remains is removed, and the test errors."""
    yield
    left = _sweep(spare_mounts=set(_live_mounts), spare_pids={
        m.proc.pid for m in _live_mount_objects if m.proc.poll() is None})
    if left:
        pytest.fail("the test left things behind (now removed):\n" + left,
                    pytrace=False)


@pytest.hookimpl(trylast=True)  # after pytest tore the fixtures down
def pytest_sessionfinish(session, exitstatus):
    """The last net: after every fixture's teardown (which pytest also
    runs after a KeyboardInterrupt), nothing the session started may be
    left.  If the sweep had anything to do, the session fails."""
    if SESSION_DIR is None:
        return
    left = _sweep()
    if left:
        message = ("\nSESSION LEAK: the suite left mounts or processes "
                   "behind (now removed):\n" + left + "\n")
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("!", "session leak", red=True, bold=True)
            reporter.write_line(message, red=True)
        else:
            sys.stderr.write(message)
        if session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.exitstatus == 0 and not suite_mounts():
        _session_dir_done.append(True)
    else:
        sys.stderr.write("ipcfs tests: temporary files kept in %s\n"
                         % SESSION_DIR)


_session_dir_done = []


def _remove_session_dir():
    """At exit (after pytest's own clean-up of tmp_path, registered later
    and so run first), if the session passed; never through a mount."""
    if _session_dir_done and not suite_mounts():
        shutil.rmtree(SESSION_DIR, ignore_errors=True)


# ---------------------------------------------------------------- ipcfs mounts

DAEMON_COMPLAINTS = re.compile(
    r"error|warning|traceback|sanitizer|runtime error|leak", re.IGNORECASE)


def _is_mounted(path):
    target = " %s " % os.fspath(path)
    with open("/proc/self/mountinfo") as f:
        return any(target in line and " fuse.ipcfs " in line for line in f)


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


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


def _fusermount_u(path, timeout=10.0):
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


# The mounts (paths and objects) of the Mount objects not yet cleaned up.
_live_mounts = set()
_live_mount_objects = []


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
        self.proc.wait()

    def _cleanup(self):
        """Unmounts lazily and kills, whatever state things are in."""
        try:
            if _is_mounted(self.path):
                subprocess.run(["fusermount3", "-u", "-z", str(self.path)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass  # the sweeps name it
            if _is_mounted(self.path):  # mounted while being killed
                subprocess.run(["umount", "-l", str(self.path)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if not _is_mounted(self.path):
                os.rmdir(self.path)  # never rmtree: it may be mounted
        except OSError:
            pass  # the session sweep reports what stays
        finally:
            _live_mounts.discard(str(self.path))
            if self in _live_mount_objects:
                _live_mount_objects.remove(self)

    def unmount(self):
        """Unmounts and checks that the daemon exited cleanly and quietly."""
        try:
            if self.killed:
                return
            if _is_mounted(self.path):
                done = _fusermount_u(self.path)
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


# ---------------------------------------------------------------- huge pages

NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
NR_OVERCOMMIT_HUGEPAGES = "/proc/sys/vm/nr_overcommit_hugepages"
# The huge page pool is the machine's, not the namespace's: suites running
# side by side (other worktrees, CI) take turns on it through this lock.
HUGE_PAGES_LOCK = "/run/lock/ipcfs-tests-huge-pages.lock"


def meminfo():
    """/proc/meminfo as {name: number} (kB where the kernel says kB)."""
    with open("/proc/meminfo") as f:
        return {line.split(":")[0]: int(line.split()[1]) for line in f}


@contextlib.contextmanager
def huge_pages_lock():
    """Holds the machine-wide lock on the huge page pool."""
    if not os.path.exists(NR_HUGEPAGES):
        pytest.skip("this kernel has no huge pages (no hugetlbfs)")
    os.makedirs(os.path.dirname(HUGE_PAGES_LOCK), exist_ok=True)
    fd = os.open(HUGE_PAGES_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_int(path):
    with open(path) as f:
        return int(f.read())


def write_int(path, value):
    with open(path, "w") as f:
        f.write("%d" % value)


@contextlib.contextmanager
def reserve_huge_pages(count):
    """Adds count free huge pages to the pool for the block and gives the
    pool back as it was, on every path.  Skips, saying why, where the kernel
    has no huge pages or cannot find the memory for them now (it may not,
    on a machine short of memory or with it fragmented)."""
    with huge_pages_lock():
        before = read_int(NR_HUGEPAGES)
        try:
            try:
                write_int(NR_HUGEPAGES, before + count)
            except OSError as e:
                pytest.skip("cannot add huge pages: %s" % e)
            free = meminfo()["HugePages_Free"] - meminfo()["HugePages_Rsvd"]
            if free < count:
                pytest.skip("the kernel found memory for %d of %d huge "
                            "pages" % (max(free, 0), count))
            yield
        finally:
            write_int(NR_HUGEPAGES, before)


def wait_until(predicate, timeout=5.0, interval=0.005):
    """Polls predicate until it is true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
