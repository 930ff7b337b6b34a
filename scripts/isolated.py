"""The inside of a run of its own, for scripts/stress.py and
scripts/memcheck.py: the shell side (scripts/isolated.sh) starts them in
private IPC and mount namespaces with an empty scratch directory; here
they check that they are there, mount a tmpfs on the scratch directory
(so that whatever is written there, logs and mount points, is gone with
the namespace, on every path, even SIGKILL), and find the build.

- ROOT, BUILD ($IPCFS_BUILD, default build/), IPCFS; `import sysv_ipc`
  gets BUILD's module.
- libc, with read/write/close/mount/prctl typed for the callers' raw
  calls (no retry on EINTR, unlike os.read).
- enter(name, scratch): the namespace check, the tmpfs and the SIGTERM
  handling, in one call at the start of main().
- is_mounted(path): an ipcfs mount is there; set_pdeathsig: a
  preexec_fn that makes a child die with its parent.
"""

import ctypes
import os
import pathlib
import signal
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = (ROOT / os.environ.get("IPCFS_BUILD", "build")).resolve()
IPCFS = BUILD / "fs" / "ipcfs"
sys.path.insert(0, str(BUILD / "python"))

libc = ctypes.CDLL(None, use_errno=True)
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.read.restype = ctypes.c_ssize_t
libc.write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
libc.close.argtypes = [ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong, ctypes.c_ulong]
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong,
                                               ctypes.c_char_p]
PR_SET_PDEATHSIG = 1


def _on_sigterm(*a):
    raise KeyboardInterrupt


def enter(name, scratch):
    """Refuses to run outside the private IPC and mount namespaces that
    scripts/isolated.sh makes (their objects and mounts would be the
    machine's); mounts a tmpfs on scratch; and makes SIGTERM, which the
    shell side sends for SIGTERM, SIGHUP and Ctrl-C, a KeyboardInterrupt,
    so that the caller cleans up and exits."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    parent = os.getppid()
    for ns in ("ipc", "mnt"):
        if os.readlink("/proc/self/ns/" + ns) == \
                os.readlink("/proc/%d/ns/%s" % (parent, ns)):
            raise SystemExit("%s: not in a private %s namespace; run "
                             "scripts/%s" % (name, ns, name))
    if libc.mount(b"none", scratch.encode(), b"tmpfs", 0,
                  b"mode=0755") != 0:
        raise SystemExit("%s: cannot mount a tmpfs on %s (%s); run "
                         "through scripts/%s" % (
                             name, scratch, os.strerror(ctypes.get_errno()),
                             name))


def is_mounted(path):
    """True while an ipcfs mount is at path."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4] == path and " - fuse.ipcfs " in line:
                return True
    return False


def set_pdeathsig():
    """SIGKILL this process when its parent dies (a preexec_fn)."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
