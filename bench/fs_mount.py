"""The mounts a run of bench/fs.py makes, and their undoing: the ipcfs
daemon on a mount point, a tmpfs to compare with, fusectl.  Run holds
everything a run starts, so that its cleanup() undoes it all whatever
happened (Ctrl-C, an error, a hung mount)."""

import os
import shutil
import subprocess
import tempfile
import time

import benchlib  # beside this file: its directory is sys.path[0]
from benchlib import RawIpc

def fstype_at(path):
    """The filesystem type mounted at path, or None."""
    path = os.path.realpath(path)
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[4] == path:
                found = fields[sep + 1]  # the last mount there wins
    return found


class Daemon:
    """build/fs/ipcfs -f MOUNTPOINT in the background."""

    def __init__(self, binary, mountpoint, opts):
        self.mountpoint = mountpoint
        self.opts = list(opts)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [binary, "-f", *self.opts, mountpoint],
            stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            t = fstype_at(mountpoint)
            if t and t.startswith("fuse"):
                break
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ipcfs {' '.join(self.opts)} exited with "
                    f"{self.proc.returncode} before mounting:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError("ipcfs did not mount within 10 s:\n"
                                   + self.output())
            time.sleep(0.01)
        # The connection's number in /sys/fs/fuse/connections.
        self.conn = os.minor(os.stat(mountpoint).st_dev)

    def waiting(self):
        """Requests the kernel has sent and the daemon not yet answered
        (fusectl), or None where fusectl is not mounted."""
        try:
            with open(f"{FUSECTL}/{self.conn}/waiting") as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def rss_kib(self):
        return benchlib.vmrss_kib(self.pid)

    def threads(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("Threads:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_seconds(self):
        """utime + stime of the daemon, all its threads."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def io_bytes(self):
        """Bytes the daemon has read and written with system calls (its
        /dev/fuse traffic included): rchar + wchar of /proc/<pid>/io."""
        total = 0
        with open(f"/proc/{self.pid}/io") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("rchar", "wchar"):
                    total += int(value)
        return total

    def stop(self):
        """Unmounts and reaps, whatever state things are in.  Returns the
        daemon's exit status (None if it had to be killed)."""
        code = None
        if fstype_at(self.mountpoint):
            r = subprocess.run(["fusermount3", "-u", self.mountpoint],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.mountpoint],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return code


FUSECTL = "/sys/fs/fuse/connections"


class Run:
    """Everything a run starts, so that cleanup() can undo it all."""

    def __init__(self):
        self.ipc = RawIpc()
        self.daemons = []
        self.children = []
        self.tmp = tempfile.mkdtemp(prefix="ipcfs-bench-")
        self.mnt = os.path.join(self.tmp, "mnt")
        self.tmpfs = os.path.join(self.tmp, "tmpfs")
        os.mkdir(self.mnt)
        os.mkdir(self.tmpfs)
        self.own_tmpfs = False
        self.own_fusectl = False
        if (os.environ.get(benchlib.NS_ENV) == "1"
                and os.path.isdir(FUSECTL) and not fstype_at(FUSECTL)):
            r = subprocess.run(["mount", "-t", "fusectl", "fusectl",
                                FUSECTL], stderr=subprocess.DEVNULL)
            self.own_fusectl = r.returncode == 0

    def mount_tmpfs(self, size_mib):
        """A tmpfs of size_mib of our own when we may mount (private mount
        namespace), else a directory under /dev/shm."""
        if os.environ.get(benchlib.NS_ENV) == "1":
            r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                                f"size={size_mib}m", "bench-tmpfs",
                                self.tmpfs], stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                self.own_tmpfs = True
                return self.tmpfs
        if fstype_at("/dev/shm") == "tmpfs":
            self.tmpfs = tempfile.mkdtemp(prefix="ipcfs-bench-",
                                          dir="/dev/shm")
            return self.tmpfs
        raise RuntimeError("no tmpfs to compare with")

    def mount(self, binary, opts):
        d = Daemon(binary, self.mnt, opts)
        self.daemons.append(d)
        return d

    def unmount(self, d):
        self.daemons.remove(d)
        return d.stop()

    def cleanup(self):
        for p in self.children:
            if p.poll() is None:
                p.kill()
        for p in self.children:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.children.clear()
        for d in list(self.daemons):
            self.unmount(d)
        self.ipc.remove_all()
        if self.own_tmpfs:
            subprocess.run(["umount", self.tmpfs], stderr=subprocess.DEVNULL)
        if self.own_fusectl:
            subprocess.run(["umount", FUSECTL], stderr=subprocess.DEVNULL)
        if not fstype_at(self.mnt):
            shutil.rmtree(self.tmp, ignore_errors=True)
            if not self.own_tmpfs:
                shutil.rmtree(self.tmpfs, ignore_errors=True)
