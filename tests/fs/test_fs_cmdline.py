"""ipcfs: the command line (-h, -V, -f, -s, -d, -o ...), mount(8) and fstab,
/proc/mounts, and recovery from a daemon killed with SIGKILL."""

import errno
import os
import subprocess
import tempfile
import time

import pytest

from suite import FS_CHILDREN, is_mounted, wait_until
import ipc_raw


def run(binary, *args, **kw):
    return subprocess.run([str(binary), *args], capture_output=True,
                          text=True, timeout=20, **kw)


def mounts_line(path):
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if fields[1] == os.fspath(path):
                return fields
    return None


def test_help(ipcfs_bin):
    r = run(ipcfs_bin, "-h")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: ")
    for word in ("MOUNTPOINT", "data=auto", "data=passthrough",
                 "data=fallback", "shm_size=", "allow_other", "-f", "-s",
                 "-d"):
        assert word in r.stdout, word
    assert run(ipcfs_bin, "--help").stdout == r.stdout


def test_version(ipcfs_bin):
    r = run(ipcfs_bin, "-V")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].startswith("ipcfs version ")
    assert "FUSE" in r.stdout or "fuse" in r.stdout


@pytest.mark.parametrize("args,message", [
    ((), "usage"),
    (("-o", "data=sometimes", "MNT"), "data="),
    (("-o", "shm_size=huge", "MNT"), "shm_size="),
    (("-o", "shm_size=0", "MNT"), "shm_size="),
    (("-o", "no_such_option", "MNT"), "unknown option"),
    (("a", "b", "c"), "too many"),
    (("/nonexistent",), "bad mount point"),
])
def test_bad_command_lines(ipcfs_bin, tmp_path, args, message):
    args = [str(tmp_path) if a == "MNT" else a for a in args]
    r = run(ipcfs_bin, *args)
    assert r.returncode != 0
    assert message in r.stderr
    assert r.stdout == ""


def test_proc_mounts_type_and_options(mount_ipcfs):
    m = mount_ipcfs("-o", "allow_other")
    fields = mounts_line(m.path)
    assert fields[0] == "ipcfs"
    assert fields[2] == "fuse.ipcfs"
    options = fields[3].split(",")
    # The daemon checks every call itself (ipcfs(1), PERMISSIONS): the
    # kernel's mode checks would refuse what ipcperms() allows.
    assert "default_permissions" not in options
    assert "allow_other" in options


def test_default_permissions_is_not_passed_on(mount_ipcfs):
    m = mount_ipcfs("-o", "allow_other,default_permissions")
    assert "default_permissions" not in mounts_line(m.path)[3].split(",")


def test_fsname_can_be_chosen(mount_ipcfs):
    m = mount_ipcfs("-o", "fsname=sysv")
    assert mounts_line(m.path)[:3] == ["sysv", os.fspath(m.path),
                                       "fuse.ipcfs"]


def test_single_threaded(mount_ipcfs):
    m = mount_ipcfs("-s")
    os.mkdir(m.path / "sem" / "5")
    with open(m.path / "sem/5/key") as f:
        assert f.read() == "5\n"


def test_debug_output(mount_ipcfs):
    m = mount_ipcfs("-d", expect_output=r"INIT")
    os.listdir(m.path / "sem")


def test_fstab_words_are_accepted(mount_ipcfs):
    m = mount_ipcfs("-o", "rw,noauto,auto,user,nouser,users,_netdev,"
                    "nofail,defaults,x-systemd.automount,comment=x")
    assert sorted(os.listdir(m.path)) == ["limits", "mq", "sem", "shm", "usage"]


def test_source_argument_as_mount_passes_it(ipcfs_bin, tmp_path):
    """mount.fuse3 runs 'ipcfs SOURCE MOUNTPOINT -o OPTIONS'."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.Popen([str(ipcfs_bin), "ipcfs", str(mnt), "-f", "-o",
                             "rw,noauto"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: is_mounted(mnt)), proc.stdout
        assert sorted(os.listdir(mnt)) == ["limits", "mq", "sem", "shm", "usage"]
    finally:
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
        assert proc.wait(timeout=10) == 0
    assert proc.stdout.read() == ""


def test_mount_t_fuse_ipcfs_and_fstab(ipcfs_bin, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, BIN=str(ipcfs_bin), MNT=str(mnt),
               FSTAB=str(tmp_path / "fstab"))
    r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        str(FS_CHILDREN / "mount_t_and_fstab.sh")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ipcfs", str(mnt), "fuse.ipcfs"]
    assert "allow_other" in lines[0]
    assert lines[1] == "77"
    assert lines[2].split()[:3] == ["ipcfs", str(mnt), "fuse.ipcfs"]
    assert lines[3] == "77"
    assert r.stderr == ""
    assert ipc_raw.info("sem", ipc_raw.lookup("sem", 77)) is not None


def test_sigkill_then_unmount_and_mount_again(mount_ipcfs, ipcfs_bin):
    m = mount_ipcfs()
    os.mkdir(m.path / "sem" / "9")
    m.kill()
    with pytest.raises(OSError) as e:
        os.listdir(m.path / "sem")
    assert e.value.errno == errno.ENOTCONN
    r = subprocess.run(["fusermount3", "-u", str(m.path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(m.path)
    # The same mount point again; the object outlived the daemon.
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([str(ipcfs_bin), "-f", str(m.path)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            assert wait_until(lambda: is_mounted(m.path))
            assert "9" in os.listdir(m.path / "sem")
        finally:
            subprocess.run(["fusermount3", "-u", str(m.path)])
            code = proc.wait(timeout=10)
        log.seek(0)
        assert code == 0 and log.read() == ""


def daemon_env():
    env = dict(os.environ)
    if "IPCFS_DAEMON_ASAN_OPTIONS" in env:  # as conftest does
        env["ASAN_OPTIONS"] = env["IPCFS_DAEMON_ASAN_OPTIONS"]
    return env


def test_sigterm_unmounts_and_exits_zero(ipcfs_bin, tmp_path):
    """Also with files and directories still open: they get no release,
    and the daemon still ends cleanly and quietly."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.Popen([str(ipcfs_bin), "-f", str(mnt)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=daemon_env())
    fds = []
    try:
        assert wait_until(lambda: is_mounted(mnt))
        os.mkdir(mnt / "mq" / "8")
        fds.append(os.open(mnt / "sem", os.O_RDONLY | os.O_DIRECTORY))
        os.listdir(fds[-1])
        fds.append(os.open(mnt / "mq/8/receive", os.O_RDONLY))
        fds.append(os.open(mnt / "mq/8/type/3/send", os.O_WRONLY))
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        assert not is_mounted(mnt)
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:  # ENOTCONN: the daemon has gone
                pass
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stdout.read() == ""


def test_background_daemon(ipcfs_bin, tmp_path):
    """Without -f the daemon detaches; fusermount3 -u ends it."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run(ipcfs_bin, str(mnt))
    try:
        assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
        assert is_mounted(mnt)
        assert sorted(os.listdir(mnt)) == ["limits", "mq", "sem", "shm", "usage"]
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)])
    deadline = time.monotonic() + 10
    while is_mounted(mnt) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not is_mounted(mnt)
