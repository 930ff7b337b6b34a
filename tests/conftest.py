"""Fixtures shared by the whole suite.

- The test process moves into a private IPC namespace before any test runs,
  so tests see only the objects they make and never touch other programs'
  (the namespace, and whatever is left in it, vanishes with the process).
  Likewise a mount namespace of its own: its mounts are not seen (nor
  copied, nor kept alive) outside, and go when its processes go.
- `$IPCFS_BUILD/python` (default: build/) is put on sys.path, so
  `import sysv_ipc` gets the module this tree built.
- Before and after each test, every IPC object in the namespace is
  removed (the plugin's ipc_namespace fixture, used by every test).
- `mount_ipcfs(*args)` mounts a temporary ipcfs and always unmounts it,
  failing the test if the daemon crashed or printed an error; the plugin's
  fixture, run on this tree's build/fs/ipcfs.
- Those pieces come from python/pytest_plugin.py, the pytest plugin
  installed with the module (sysv_ipc.pytest_plugin): see below.
- Nothing outlives a test: after each one, every process the suite started
  (found by a token in its environment, at any depth, detached or not) and
  every ipcfs mount under the session's directory must be gone; what is
  left is unmounted and killed, and the test errors, naming it.  The same
  sweep runs at the end of the session (also after a KeyboardInterrupt)
  and fails the session if it had anything to do: a leak is a bug to see.
- Mount points and temporary files (tempfile, tmp_path) all live in one
  directory per session, so the sweeps touch only this session's mounts,
  never those of another suite running beside it.

The tests are grouped by what they test: core/ (the core's C tests),
fs/ (the filesystem), python/ (the sysv_ipc module, its plugin and its
installation) and harness/ (this file's guarantees); each group may add a
conftest.py of its own.  Code the tests share is in helpers/.
"""

import atexit
import ctypes
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

# The suite's helpers (tests/helpers/) are importable by every test file
# and child program: shared code lives there, in one place, not in this
# file (tests never import conftest: each group may have its own).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "helpers"))

import suite  # noqa: E402  (puts build/python on sys.path, loads the plugin)
from suite import (BUILD, SUITE_TOKEN_VAR, ipc_plugin,  # noqa: E402,F401
                   wait_until)

if not suite.USE_INSTALLED:
    # The plugin's hook and fixtures become this conftest's, as if
    # registered as a plugin.  (Not through pytest_plugins: pytest would
    # warn that a module it did not import cannot have its asserts
    # rewritten.)  Installed, pytest loads it through its entry point.
    pytest_addoption = ipc_plugin.pytest_addoption
    ipc_namespace = ipc_plugin.ipc_namespace
    mount_ipcfs = ipc_plugin.mount_ipcfs
    ipcfs_mount = ipc_plugin.ipcfs_mount

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2


# ---------------------------------------------------------------- namespace


def _enter_private_ipc_namespace():
    """unshare(CLONE_NEWIPC) for this process and every child it starts,
    through the plugin, so that its ipc_namespace fixture finds it done."""
    try:
        ipc_plugin.enter_private_ipc_namespace()
    except OSError as e:
        raise pytest.UsageError(
            "%s; run the suite as root, as scripts/test does" % e.strerror)


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


# Every process the suite starts inherits SUITE_TOKEN_VAR set to this: the
# sweeps find them by it (also daemons that detached, children of
# children, and processes running as another user), and only them.
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


@pytest.fixture(autouse=True)
def _clean_ipc_namespace(ipc_namespace):
    """Every test runs in the plugin's ipc_namespace: emptied before and
    after it, on every path."""
    yield


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
    left = _sweep(spare_mounts=set(ipc_plugin._live_mounts), spare_pids={
        m.proc.pid for m in ipc_plugin._live_mount_objects
        if m.proc.poll() is None})
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

# Mount, the mount_ipcfs and ipcfs_mount fixtures and their helpers are the
# plugin's (python/pytest_plugin.py), which users get with the package; the
# suite only says which ipcfs to run: the one this tree built.
_is_mounted = suite.is_mounted  # nested sessions (tests/harness) use it


@pytest.fixture
def ipcfs_binary():
    """Overrides the plugin's: this tree's build, not PATH's ipcfs."""
    binary = BUILD / "fs" / "ipcfs"
    if not binary.exists():
        pytest.fail("%s is not built: run scripts/test, which builds first"
                    % binary)
    return binary


@pytest.fixture
def ipcfs_bin(ipcfs_binary):
    """The suite's older name for ipcfs_binary."""
    return ipcfs_binary
