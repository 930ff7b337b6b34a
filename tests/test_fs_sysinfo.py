"""ipcfs: limits/ and usage/ (what `ipcs -l` and `ipcs -u` show),
-o keys=hex (object directories named as ipcs prints keys) and -o ipcns=
(serving another IPC namespace)."""

import contextlib
import errno
import os
import re
import stat
import subprocess

import pytest

import ipc_raw
from fs_paths import NOBODY, expect_errno, read, sh, write

LIMITS = ("semmsl", "semmns", "semopm", "semmni", "semvmx", "shmmax",
          "shmall", "shmmni", "shmmin", "msgmax", "msgmnb", "msgmni")
USAGE = ("sem_sets", "sem_total", "shm_segments", "shm_pages",
         "shm_resident", "shm_swapped", "msg_queues", "msg_messages",
         "msg_bytes")
PAGE = os.sysconf("SC_PAGESIZE")


def values(directory):
    return {name: int(read(directory / name)) for name in os.listdir(directory)}


def ipcs(*args):
    r = subprocess.run(["ipcs", *args], capture_output=True, text=True,
                       check=True)
    return r.stdout


def ipcs_number(text, label):
    """The number after 'label' ('= N' or spaces) in ipcs output."""
    m = re.search(re.escape(label) + r"\s*=?\s*(\d+)", text)
    assert m, "%r not in:\n%s" % (label, text)
    return int(m.group(1))


@contextlib.contextmanager
def sysctls(**settings):
    """Sets kernel.<name> sysctls of the suite's IPC namespace, and puts
    them back after."""
    old = {}
    try:
        for name, value in settings.items():
            path = "/proc/sys/kernel/" + name
            old[path] = read(path)
            with open(path, "w") as f:
                f.write(value)
        yield
    finally:
        for path, value in old.items():
            with open(path, "w") as f:
                f.write(value)


# ---------------------------------------------------------------- the tree


def test_root_has_limits_and_usage(ipcfs_mount):
    root = ipcfs_mount.path
    assert sorted(os.listdir(root)) == ["limits", "mq", "sem", "shm", "usage"]
    assert sorted(os.listdir(root / "limits")) == sorted(LIMITS)
    assert sorted(os.listdir(root / "usage")) == sorted(USAGE)
    assert os.stat(root).st_nlink == 7
    for d in ("limits", "usage"):
        st = os.stat(root / d)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o555
        for name in os.listdir(root / d):
            st = os.stat(root / d / name)
            assert stat.S_ISREG(st.st_mode), name
            assert stat.S_IMODE(st.st_mode) == 0o444, name
            assert read(root / d / name).endswith("\n")


def test_listing_inodes_match_lookups(ipcfs_mount):
    for d in ("", "limits", "usage"):
        path = ipcfs_mount.path / d
        with os.scandir(path) as it:
            for e in it:
                assert e.inode() == os.stat(e.path).st_ino, e.path
        if d:
            assert os.stat(path / "..").st_ino == 1


def test_files_are_read_only(ipcfs_mount):
    f = ipcfs_mount.path / "limits" / "msgmax"
    expect_errno(errno.EACCES, write, f, "1")
    expect_errno(errno.EACCES, os.open, f, os.O_RDWR)
    expect_errno(errno.EACCES, os.truncate, f, 0)
    expect_errno(errno.EPERM, os.mkdir, ipcfs_mount.path / "limits" / "x")
    expect_errno(errno.ENOTDIR, os.stat, f / "x")
    expect_errno(errno.ENOENT, os.stat, ipcfs_mount.path / "limits" / "x")
    assert not os.access(f, os.W_OK) and not os.access(f, os.X_OK)
    assert os.access(f, os.R_OK)
    assert read(f) == "%d\n" % ipc_raw.msgmax()


def test_anyone_may_read_them(mount_ipcfs):
    m = mount_ipcfs("-o", "allow_other")
    r = sh("cat %s/limits/semmni %s/usage/sem_sets" % (m.path, m.path),
           user=NOBODY, group=NOBODY)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [read(m.path / "limits" / "semmni").strip(),
                                read(m.path / "usage" / "sem_sets").strip()]


def test_pieces_and_offsets(ipcfs_mount):
    f = ipcfs_mount.path / "limits" / "semvmx"
    fd = os.open(f, os.O_RDONLY)
    try:
        assert os.pread(fd, 2, 0) == b"32"
        assert os.pread(fd, 100, 2) == b"767\n"
        assert os.pread(fd, 100, 6) == b""
        assert os.pread(fd, 100, 1 << 40) == b""
    finally:
        os.close(fd)


# ---------------------------------------------------------------- limits/


def test_limits_match_ipcs_l(ipcfs_mount):
    # Distinct values, so that a file showing the wrong limit is caught.
    with sysctls(sem="250 32001 33 129", shmmax="12345678", shmall="4321",
                 shmmni="4097", msgmax="8193", msgmnb="16385",
                 msgmni="32001"):
        got = values(ipcfs_mount.path / "limits")
        text = ipcs("-l", "--bytes")
    assert got["semmni"] == ipcs_number(text, "max number of arrays") == 129
    assert got["semmsl"] == ipcs_number(text, "max semaphores per array")
    assert got["semmns"] == ipcs_number(text, "max semaphores system wide")
    assert got["semopm"] == ipcs_number(text, "max ops per semop call")
    assert got["semvmx"] == ipcs_number(text, "semaphore max value")
    assert got["shmmni"] == ipcs_number(text, "max number of segments")
    assert got["shmmax"] == ipcs_number(text, "max seg size (bytes)")
    assert got["shmall"] * PAGE == \
        ipcs_number(text, "max total shared memory (bytes)")
    assert got["shmmin"] == ipcs_number(text, "min seg size (bytes)")
    assert got["msgmni"] == ipcs_number(text, "max queues system wide")
    assert got["msgmax"] == ipcs_number(text, "max size of message (bytes)")
    assert got["msgmnb"] == \
        ipcs_number(text, "default max size of queue (bytes)")
    assert (got["semmsl"], got["semmns"], got["semopm"], got["shmmax"],
            got["shmall"], got["shmmni"], got["msgmax"], got["msgmnb"],
            got["msgmni"]) == (250, 32001, 33, 12345678, 4321, 4097, 8193,
                               16385, 32001)


def test_limits_are_read_each_time(ipcfs_mount):
    f = ipcfs_mount.path / "limits" / "msgmnb"
    fd = os.open(f, os.O_RDONLY)
    try:
        with sysctls(msgmnb="20000"):
            assert read(f) == "20000\n"
            assert os.pread(fd, 100, 0) == b"20000\n"
        with sysctls(msgmnb="20001"):
            assert os.pread(fd, 100, 0) == b"20001\n"
    finally:
        os.close(fd)


# ---------------------------------------------------------------- usage/


def ipcs_usage():
    text = ipcs("-u")
    return {
        "sem_sets": ipcs_number(text, "used arrays"),
        "sem_total": ipcs_number(text, "allocated semaphores"),
        "shm_segments": ipcs_number(text, "segments allocated"),
        "shm_pages": ipcs_number(text, "pages allocated"),
        "shm_resident": ipcs_number(text, "pages resident"),
        "shm_swapped": ipcs_number(text, "pages swapped"),
        "msg_queues": ipcs_number(text, "allocated queues"),
        "msg_messages": ipcs_number(text, "used headers"),
        "msg_bytes": ipcs_number(text, "used space"),
    }


def test_usage_matches_ipcs_u(ipcfs_mount):
    usage = ipcfs_mount.path / "usage"
    assert values(usage) == ipcs_usage() == dict.fromkeys(USAGE, 0)
    ipc_raw.create("sem", key=7, size=3)
    ipc_raw.create("sem", size=2)
    shmid = ipc_raw.create("shm", key=8, size=5 * PAGE)
    ipc_raw.create("shm", size=1)
    ipc_raw.shm_write(shmid, b"x" * (2 * PAGE + 1))  # 3 pages resident
    msqid = ipc_raw.create("mq", key=9)
    ipc_raw.msg_send(msqid, b"hello")
    ipc_raw.msg_send(msqid, b"world!!")
    got = values(usage)
    assert got == ipcs_usage()
    assert (got["sem_sets"], got["sem_total"], got["shm_segments"],
            got["shm_pages"], got["shm_resident"], got["msg_queues"],
            got["msg_messages"], got["msg_bytes"]) == (2, 5, 2, 6, 3, 1, 2,
                                                        12)
    # Through the mount too, and at once.
    os.mkdir(ipcfs_mount.path / "mq" / "10")
    write(ipcfs_mount.path / "mq" / "10" / "send", "abc")
    assert read(usage / "msg_queues") == "2\n"
    assert read(usage / "msg_messages") == "3\n"
    assert read(usage / "msg_bytes") == "15\n"
    os.rmdir(ipcfs_mount.path / "sem" / "7")
    assert read(usage / "sem_total") == "2\n"


# ---------------------------------------------------------------- keys=hex


@pytest.mark.parametrize("kind", ["sem", "shm", "mq"])
def test_keys_hex_lists_as_ipcs_prints(mount_ipcfs, kind):
    m = mount_ipcfs("-o", "keys=hex")
    ipc_raw.create(kind, key=0xabcd)
    ipc_raw.create(kind, key=-5)  # an ftok() key with the top bit set
    ipc_raw.create(kind)          # IPC_PRIVATE: by-id/ only
    d = m.path / kind
    assert sorted(os.listdir(d)) == ["0x0000abcd", "0xfffffffb", "by-id"]
    printed = re.findall(r"^(0x[0-9a-f]{8})\s", ipcs({"sem": "-s", "shm": "-m", "mq": "-q"}[kind]), re.M)
    assert sorted(k for k in printed if k != "0x00000000") == \
        ["0x0000abcd", "0xfffffffb"]
    # by-id/ stays by decimal id.
    assert sorted(os.listdir(d / "by-id")) == \
        sorted(str(i) for i in ipc_raw.ids(kind))
    # What is listed is what a lookup finds, with the same inode number
    # (ls -l, find and du rely on it), and its files are there.
    with os.scandir(d) as it:
        for e in it:
            assert e.inode() == os.stat(e.path).st_ino, e.name
    assert "mode" in os.listdir(d / "0x0000abcd")
    # Every other spelling still finds the object: a different directory
    # inode (an alias), the same files.
    for alias in ("43981", "0xabcd", "0x0000ABCD", "0XABCD"):
        assert os.stat(d / alias).st_ino != os.stat(d / "0x0000abcd").st_ino
        assert os.stat(d / alias / "id").st_ino == \
            os.stat(d / "0x0000abcd" / "id").st_ino
    assert read(d / "-5" / "key") == "-5\n"


def test_keys_hex_mkdir_rmdir(mount_ipcfs):
    m = mount_ipcfs("-o", "keys=hex")
    os.mkdir(m.path / "sem" / "0x00001234")
    os.mkdir(m.path / "sem" / "17:3")
    os.mkdir(m.path / "shm" / "0x00000020:8192")
    assert sorted(os.listdir(m.path / "sem")) == \
        ["0x00000011", "0x00001234", "by-id"]
    assert read(m.path / "sem" / "0x00000011" / "nsems") == "3\n"
    assert read(m.path / "shm" / "0x00000020" / "size") == "8192\n"
    os.rmdir(m.path / "sem" / "0x00001234")
    os.rmdir(m.path / "sem" / "17")
    assert os.listdir(m.path / "sem") == ["by-id"]
    r = sh("cd %s/shm/0x00000020 && ls -l && pwd" % m.path)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("0x00000020")


def test_keys_dec_is_the_default(mount_ipcfs):
    ipc_raw.create("sem", key=0xabcd)
    for args in ((), ("-o", "keys=dec")):
        m = mount_ipcfs(*args)
        assert sorted(os.listdir(m.path / "sem")) == ["43981", "by-id"]
        with os.scandir(m.path / "sem") as it:
            for e in it:
                assert e.inode() == os.stat(e.path).st_ino, e.name


def test_keys_bad_value(ipcfs_bin, tmp_path):
    r = subprocess.run([str(ipcfs_bin), "-o", "keys=octal", str(tmp_path)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "keys=" in r.stderr
