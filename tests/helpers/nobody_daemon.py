"""ipcfs run as nobody, without any capability (a daemon the kernel hands
no backing files): the `nobody_daemon` fixture (tests/fs/conftest.py)."""

import ctypes
import os
import subprocess
import tempfile

import ipc_raw
from fs_paths import NOBODY, as_nobody
from suite import die_with_parent

libc = ipc_raw.libc


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(" %s " % path in line for line in f)


class NobodyDaemon:
    """ipcfs run as nobody, without any capability.  /dev/fuse may be
    root's only (0600 here), so this process opens it and mounts, as
    fusermount3 would, and the daemon gets the descriptor as its mount
    point /dev/fd/N (libfuse's way for unprivileged daemons)."""

    def __init__(self, binary, *args):
        self.path = tempfile.mkdtemp(prefix="ipcfs-nobody-")
        self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        opts = ("fd=%d,rootmode=40000,user_id=%d,group_id=%d,allow_other"
                % (self.fd, NOBODY, NOBODY))
        if libc.mount(b"ipcfs", self.path.encode(), b"fuse.ipcfs", 0,
                      opts.encode()) != 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            os.rmdir(self.path)
            raise OSError(err, "mount: " + os.strerror(err))
        try:
            self.log = tempfile.TemporaryFile(mode="w+")
            self.proc = subprocess.Popen(
                [str(binary), "-f", *args, "/dev/fd/%d" % self.fd],
                stdin=subprocess.DEVNULL, stdout=self.log,
                stderr=subprocess.STDOUT, pass_fds=(self.fd,),
                preexec_fn=die_with_parent(then=as_nobody))
        except BaseException:  # no daemon: the mount must not stay
            subprocess.run(["umount", "-l", self.path])
            os.rmdir(self.path)
            raise
        finally:
            os.close(self.fd)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def unmount(self):
        if is_mounted(self.path):
            subprocess.run(["umount", "-l", self.path], check=True)

    def close(self):
        """Unmounts and ends the daemon on every path (a failed umount
        too: it is killed, and the sweep of conftest reports the mount)."""
        try:
            self.unmount()
        finally:
            if self.proc.poll() is None:
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if not is_mounted(self.path):
                os.rmdir(self.path)  # never rmtree: it may be mounted
            self.log.close()
