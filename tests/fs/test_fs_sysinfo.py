"""ipcfs: limits/ and usage/ (what `ipcs -l` and `ipcs -u` show),
-o keys=hex (object directories named as ipcs prints keys) and -o ipcns=
(serving another IPC namespace)."""

import contextlib
import errno
import mmap
import os
import re
import stat
import subprocess
import tempfile

import pytest

import ipc_raw
from suite import wait_until
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


def test_every_file_is_documented(ipcfs_mount):
    from test_fs_docs import documented_words
    bold, _ = documented_words()
    names = {"limits", "usage"}
    for d in names.copy():
        names |= set(os.listdir(ipcfs_mount.path / d))
    assert not names - bold, sorted(names - bold)


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


# ---------------------------------------------------------------- ipcns=

OTHER = 1000  # a user that is neither root nor nobody


@pytest.fixture
def holder():
    """Factory: holder(*unshare_args, user=None) starts `unshare ARGS sleep`
    (as user, if given) and returns its pid once it is in its own IPC
    namespace; killed at teardown."""
    procs = []
    ours = os.readlink("/proc/self/ns/ipc")

    def make(*args, user=None):
        kw = {} if user is None else dict(user=user, group=user,
                                          extra_groups=[])
        p = subprocess.Popen(["unshare", *args, "sleep", "1000"], **kw)
        procs.append(p)

        def entered():
            try:
                return os.readlink("/proc/%d/ns/ipc" % p.pid) != ours and \
                    os.readlink("/proc/%d/exe" % p.pid).endswith("sleep")
            except OSError:
                return False
        assert wait_until(entered), "unshare %s did not start" % (args,)
        return p.pid

    yield make
    for p in procs:
        p.kill()
        p.wait()


def inside(pid, script, *nsenter_args, **kw):
    """Runs a bash script in pid's IPC namespace (and whatever else
    nsenter_args add)."""
    return subprocess.run(["nsenter", "-t", str(pid), "--ipc",
                           *nsenter_args, "bash", "-c", script],
                          capture_output=True, text=True, timeout=30, **kw)


def py_create(pid, call, key, size, mode=0o600, *nsenter_args):
    """Creates an object inside with semget/shmget (size: nsems or bytes)
    or msgget (size None), IPC_CREAT; its id."""
    args = [str(key)] + ([] if size is None else [str(size)]) + \
        ["0o1000 | 0o%o" % mode]
    code = "import ctypes; l = ctypes.CDLL(None); print(l.%s(%s))" % (
        call, ", ".join(args))
    r = inside(pid, "python3 -c '%s'" % code, *nsenter_args)
    assert r.returncode == 0 and int(r.stdout) >= 0, r
    return int(r.stdout)


def test_ipcns_serves_that_namespace(mount_ipcfs, holder):
    pid = holder("--ipc")
    ipc_raw.create("sem", key=5)  # the daemon's own namespace: not shown
    semid = py_create(pid, "semget", 11, 3)
    py_create(pid, "shmget", 12, 3 * PAGE)
    py_create(pid, "msgget", 13, None)
    m = mount_ipcfs("-o", "ipcns=/proc/%d/ns/ipc" % pid)
    assert sorted(os.listdir(m.path / "sem")) == ["11", "by-id"]
    assert sorted(os.listdir(m.path / "shm")) == ["12", "by-id"]
    assert sorted(os.listdir(m.path / "mq")) == ["13", "by-id"]
    assert read(m.path / "sem" / "11" / "id") == "%d\n" % semid
    assert read(m.path / "sem" / "11" / "nsems") == "3\n"
    expect_errno(errno.ENOENT, os.stat, m.path / "sem" / "5")
    # limits/ and usage/ are that namespace's.
    assert read(m.path / "usage" / "sem_total") == "3\n"
    assert read(m.path / "usage" / "shm_pages") == "3\n"
    r = inside(pid, "echo 1234 > /proc/sys/kernel/msgmni")
    assert r.returncode == 0, r.stderr
    assert read(m.path / "limits" / "msgmni") == "1234\n"
    assert read("/proc/sys/kernel/msgmni") != "1234\n"
    # What the mount makes and removes is made and removed in there.
    os.mkdir(m.path / "mq" / "0x77")
    write(m.path / "mq" / "119" / "send", "hello")
    r = inside(pid, "ipcs -q")
    assert r.returncode == 0 and "0x00000077" in r.stdout, r.stdout
    r = inside(pid, "python3 -c 'import ctypes; l = ctypes.CDLL(None); "
                    "b = ctypes.create_string_buffer(100); "
                    "n = l.msgrcv(l.msgget(119, 0), b, 92, 0, 0o4000); "
                    "print(b.raw[8:8 + n])'")
    assert r.stdout.strip() == "b'hello'", r
    os.rmdir(m.path / "sem" / "11")
    assert "0x0000000b" not in inside(pid, "ipcs -s").stdout
    expect_errno(errno.ENOENT, ipc_raw.lookup, "mq", 119)  # not ours


@pytest.mark.parametrize("mode", ["passthrough", "fallback"])
def shm_text_inside(pid, key, offset, length):
    """The bytes at offset of segment key, as shmat() inside sees them."""
    r = inside(pid, "python3 -c 'import ctypes; l = ctypes.CDLL(None); "
                    "l.shmat.restype = ctypes.c_void_p; "
                    "a = l.shmat(l.shmget(%d, 0, 0), None, 0); "
                    "print(ctypes.string_at(a + %d, %d).hex())'"
               % (key, offset, length))
    assert r.returncode == 0, r.stderr
    return bytes.fromhex(r.stdout.strip())


@pytest.mark.parametrize("mode", ["passthrough", "fallback"])
def test_ipcns_data_files(mount_ipcfs, holder, mode):
    pid = holder("--ipc")
    py_create(pid, "shmget", 21, 2 * PAGE)
    m = mount_ipcfs("-o", "ipcns=/proc/%d/ns/ipc,data=%s" % (pid, mode))
    data = m.path / "shm" / "21" / "data"
    text = "written through the mount (%s)" % mode
    write(data, text)
    assert shm_text_inside(pid, 21, 0, len(text)) == text.encode()
    if mode == "passthrough":  # the segment itself, mapped
        fd = os.open(data, os.O_RDWR)
        try:
            with mmap.mmap(fd, 2 * PAGE) as mm:
                mm[PAGE:PAGE + 6] = b"mapped"
                assert shm_text_inside(pid, 21, PAGE, 6) == b"mapped"
        finally:
            os.close(fd)


def test_ipcns_blocking_calls(mount_ipcfs, holder):
    pid = holder("--ipc")
    py_create(pid, "semget", 31, 1)
    m = mount_ipcfs("-o", "ipcns=/proc/%d/ns/ipc" % pid)
    op = m.path / "sem" / "31" / "op"
    waiter = subprocess.Popen(["bash", "-c", "echo -1 > %s" % op])
    assert wait_until(lambda: read(m.path / "sem" / "31" /
                                   "waiting_for_nonzero") == "1\n")
    assert waiter.poll() is None
    r = inside(pid, "python3 -c 'import ctypes; l = ctypes.CDLL(None); "
                    "b = (ctypes.c_short * 3)(0, 1, 0); "
                    "print(l.semop(l.semget(31, 0, 0), b, 1))'")
    assert r.stdout.strip() == "0", r
    assert waiter.wait(timeout=10) == 0
    assert read(m.path / "sem" / "31" / "value") == "0\n"


def test_ipcns_creator_is_the_caller(mount_ipcfs, holder):
    pid = holder("--ipc")
    m = mount_ipcfs("-o", "ipcns=/proc/%d/ns/ipc,allow_other" % pid)
    r = sh("mkdir -m 600 %s/sem/41" % m.path, user=NOBODY, group=NOBODY,
           extra_groups=[])
    assert r.returncode == 0, r.stderr
    r = inside(pid, "ipcs -s -c")
    assert re.search(r"\b600\s+nobody\s+\S+\s+nobody\b", r.stdout), r.stdout
    # Another user is refused, as semctl(2) in there would refuse it.
    r = sh("cat %s/sem/41/value" % m.path, user=OTHER, group=OTHER,
           extra_groups=[])
    assert r.returncode != 0 and "Permission denied" in r.stderr


def owned_by_other(m):
    """A 0600 set owned (and made) by OTHER, through the mount."""
    r = sh("mkdir -m 600 %s/sem/51" % m.path, user=OTHER, group=OTHER,
           extra_groups=[])
    assert r.returncode == 0, r.stderr
    return m.path / "sem" / "51" / "value"


def test_ipcns_container_root_is_privileged_in_its_own(mount_ipcfs, holder):
    """In a namespace owned by a container's user namespace, its root has
    CAP_IPC_OWNER (as ipcperms() judges ns_capable()); the root of another
    user namespace has not; the host's root has it, from an ancestor."""
    pid = holder("--user", "--map-root-user", "--ipc")
    m = mount_ipcfs("-o", "ipcns=/proc/%d/ns/ipc,allow_other" % pid)
    value = owned_by_other(m)
    assert read(value) == "0\n"  # host root
    r = subprocess.run(["nsenter", "-t", str(pid), "--user", "cat",
                        str(value)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "0\n", r.stderr
    r = subprocess.run(["nsenter", "-t", str(pid), "--user", "bash", "-c",
                        "echo 3 > %s" % value], capture_output=True,
                       text=True)
    assert r.returncode == 0 and read(value) == "3\n", r.stderr
    r = subprocess.run(["unshare", "--user", "--map-root-user", "cat",
                        str(value)], capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr
    # Objects its root makes in there are its root's: uid 0 mapped out,
    # which is the host's root here (unshare ran as root).
    py_create(pid, "semget", 52, 1, 0o600, "--user")
    assert os.stat(m.path / "sem" / "52").st_uid == 0


def test_ipcns_not_privileged_over_the_daemons_own(mount_ipcfs, holder):
    """Serving its own namespace, the daemon does not count a container
    root's capabilities (its user namespace owns nothing here)."""
    pid = holder("--user", "--map-root-user", "--ipc")
    m = mount_ipcfs("-o", "allow_other")
    value = owned_by_other(m)
    r = subprocess.run(["nsenter", "-t", str(pid), "--user", "cat",
                        str(value)], capture_output=True, text=True)
    assert r.returncode != 0 and "Permission denied" in r.stderr


def test_ipcns_unprivileged_container(mount_ipcfs, holder):
    """A user namespace made by nobody: its root is nobody outside, so what
    it makes shows uid 65534, and nobody on the host, as the namespace's
    owner, has every capability in it (cap_capable()), CAP_IPC_OWNER too;
    another user has none."""
    pid = holder("--user", "--map-root-user", "--ipc", user=NOBODY)
    m = mount_ipcfs("-o", "ipcns=/proc/%d/ns/ipc,allow_other" % pid)
    py_create(pid, "semget", 61, 1, 0o600, "--user")
    st = os.stat(m.path / "sem" / "61")
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    value = owned_by_other(m)
    r = sh("cat %s" % value, user=NOBODY, group=NOBODY, extra_groups=[])
    assert r.returncode == 0 and r.stdout == "0\n", r.stderr
    r = sh("cat %s" % value, user=OTHER + 1, group=OTHER + 1,
           extra_groups=[])
    assert r.returncode != 0 and "Permission denied" in r.stderr


def test_ipcns_bind_mounted_namespace_outlives_its_processes(mount_ipcfs,
                                                           holder):
    pid = holder("--ipc")
    py_create(pid, "semget", 71, 2)
    fd, nsfile = tempfile.mkstemp(prefix="ipcfs-test-ns-")
    os.close(fd)
    subprocess.run(["mount", "--bind", "/proc/%d/ns/ipc" % pid, nsfile],
                   check=True)
    try:
        os.kill(pid, 9)  # the bind mount keeps the namespace
        m = mount_ipcfs("-o", "ipcns=" + nsfile)
        assert read(m.path / "sem" / "71" / "nsems") == "2\n"
        os.mkdir(m.path / "mq" / "72")
        assert sorted(os.listdir(m.path / "mq")) == ["72", "by-id"]
    finally:
        subprocess.run(["umount", "-l", nsfile])
        os.unlink(nsfile)


@pytest.mark.parametrize("path,message", [
    ("/nonexistent", "No such file"),
    ("/etc/passwd", "not an IPC namespace"),
    ("/proc/self/ns/net", "not an IPC namespace"),
])
def test_ipcns_bad_path(ipcfs_bin, tmp_path, path, message):
    r = subprocess.run([str(ipcfs_bin), "-o", "ipcns=" + path, str(tmp_path)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "ipcns=" in r.stderr and message in r.stderr, r.stderr


def test_ipcns_without_permission(ipcfs_bin, holder):
    pid = holder("--ipc")
    mnt = tempfile.mkdtemp(prefix="ipcfs-test-")  # one nobody can reach
    os.chmod(mnt, 0o777)
    try:
        r = subprocess.run([str(ipcfs_bin), "-o",
                            "ipcns=/proc/%d/ns/ipc" % pid, mnt],
                           capture_output=True, text=True, timeout=20,
                           user=NOBODY, group=NOBODY, extra_groups=[])
    finally:
        os.rmdir(mnt)
    assert r.returncode != 0
    assert "ipcns=" in r.stderr and \
        re.search("Permission denied|may not enter", r.stderr), r.stderr
