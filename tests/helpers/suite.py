"""Where the suite's code comes from, for conftest.py and the tests alike.

- ROOT is the source tree; BUILD the build under test, $IPCFS_BUILD
  (default build/), relative to ROOT.
- `$IPCFS_BUILD/python` is put on sys.path, so `import sysv_ipc` gets the
  module this tree built (scripts/test-install sets IPCFS_USE_INSTALLED=1
  to test the installed copy instead).
- `ipc_plugin` is python/pytest_plugin.py, the pytest plugin installed
  with the module: the suite's namespace cleanup and mount fixtures are
  its own (see conftest.py).  The pieces tests use (Mount, is_mounted,
  ...) are named here.
- The namespaces the suite started in, and the name of the variable that
  marks every process of a session.
- wait_until, the one way the suite waits for something to happen, and
  timed, which times a call.

The session's own state (its directory, its token, the sweeps) stays in
conftest.py.
"""

import os
import pathlib
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BUILD = (ROOT / os.environ.get("IPCFS_BUILD", "build")).resolve()
# Child programs the tests run, by group (tests/fs/children/ ...).
FS_CHILDREN = ROOT / "tests" / "fs" / "children"
PYTHON_CHILDREN = ROOT / "tests" / "python" / "children"

# The namespaces the suite was started in (read when conftest.py imports
# this, before it leaves them), to show that it left them.
ORIGINAL_IPC_NAMESPACE = os.readlink("/proc/self/ns/ipc")
ORIGINAL_MOUNT_NAMESPACE = os.readlink("/proc/self/ns/mnt")
# Every process the suite starts inherits this variable, set to the
# session's token (conftest.py): the sweeps find them by it.
SUITE_TOKEN_VAR = "IPCFS_TEST_SESSION"

USE_INSTALLED = os.environ.get("IPCFS_USE_INSTALLED") == "1"
if not USE_INSTALLED and str(BUILD / "python") not in sys.path:
    sys.path.insert(0, str(BUILD / "python"))

# The generic pieces (the IPC namespace and its cleanup, Mount and the
# mount fixtures) are the pytest plugin shipped with the module: one
# implementation, which the suite thereby tests.  Installed, the package's
# own copy, which pytest loads through its pytest11 entry point (so
# scripts/test-install checks that the entry point works).  Otherwise the
# source file itself, loaded by path: build/python holds the module as a
# plain extension module, not a package, so sysv_ipc.pytest_plugin cannot
# be imported from there.
if USE_INSTALLED:
    from sysv_ipc import pytest_plugin as ipc_plugin
else:
    def _load_plugin_source():
        import importlib.util
        name = "sysv_ipc_pytest_plugin"  # not importable any other way
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "python" / "pytest_plugin.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    if "sysv_ipc" in sys.modules:
        # An installed package's plugin, loaded through its entry point,
        # brought the installed module in before build/python was put on
        # sys.path: the suite would test that copy, not this tree's.
        raise pytest.UsageError(
            "sysv_ipc was imported from %s before the suite started (an "
            "installed copy's pytest plugin?): run with -p no:sysv_ipc, as "
            "scripts/test does" % sys.modules["sysv_ipc"].__file__)
    ipc_plugin = _load_plugin_source()

# Mount and its helpers are the plugin's, which users get with the
# package; the suite's conftest only says which ipcfs to run.
DAEMON_COMPLAINTS = ipc_plugin.DAEMON_COMPLAINTS
Mount = ipc_plugin.Mount
is_mounted = ipc_plugin.is_mounted
die_with_parent = ipc_plugin.die_with_parent
describe_threads = ipc_plugin.describe_threads
fusermount_u = ipc_plugin.fusermount_u
list_ipc_ids = ipc_plugin.list_ipc_ids
remove_all_ipc_objects = ipc_plugin.remove_all_ipc_objects


def timed(fn, *args):
    """(fn(*args), the seconds it took)."""
    t0 = time.monotonic()
    value = fn(*args)
    return value, time.monotonic() - t0


def wait_until(predicate, timeout=5.0, interval=0.005):
    """Polls predicate until it is true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
