"""ipcfs against hostile and careless callers: input that is not what a
file takes, offsets nobody should hand it, and callers that wait where
another caller would then hang.  Every test here failed on a hole that an
attack on the mount found (issue 8); the rule is that bad input gets an
errno and changes nothing, and no caller can wedge another."""

import errno
import json
import os
import select
import subprocess
import sys

import pytest

import ipc_raw
from fs_paths import NOBODY, expect_errno, read, sh
from suite import FS_CHILDREN, wait_until

# ------------------------------------------------------------ NUL bytes


def write_bytes(path, data, flags=os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


NUL_INPUTS = [b"\0", b"5\0", b"5\0junk", b"\0" b"5", b" 5\0\n", b"0\0"]


@pytest.mark.parametrize("data", NUL_INPUTS)
def test_nul_bytes_are_not_numbers(ipcfs_mount, data):
    """A NUL byte is not white space nor the end of the text: everything
    that takes a number refuses it, and nothing changes."""
    m = ipcfs_mount.path
    os.mkdir(m / "sem" / "700")
    os.mkdir(m / "mq" / "700")
    write_bytes(m / "sem/700/value", b"3")
    before = {p: read(m / p) for p in
              ("sem/700/value", "sem/700/mode", "mq/700/max_size",
               "mq/700/mode", "mq/700/uid", "sem/700/gid")}
    for path in before:
        expect_errno(errno.EINVAL, write_bytes, m / path, data)
    # op: "\0" must not become Z (it would wait), "5\0" not a V of 5.
    fd = os.open(m / "sem/700/op", os.O_WRONLY | os.O_NONBLOCK)
    try:
        expect_errno(errno.EINVAL, os.write, fd, data)
    finally:
        os.close(fd)
    assert {p: read(m / p) for p in before} == before


# ------------------------------------------------- waits on element ops


@pytest.mark.parametrize("element", [1, 2])
@pytest.mark.parametrize("redirect", [">", ">>"])
def test_a_v_reaches_an_element_where_a_p_waits(ipcfs_mount, element,
                                                redirect):
    """`echo -1 > sem/K/2/op` waiting must not hold the inode that the
    `echo 1 > sem/K/2/op` of another shell needs: that one hung in the
    kernel (state D, do_truncate), unkillable, before element files got an
    inode per lookup like sem/K/op."""
    m = ipcfs_mount.path
    os.mkdir(m / "sem" / "950:3")
    semid = ipc_raw.lookup("sem", 950)
    op = m / "sem/950" / str(element) / "op"
    waiter = subprocess.Popen(["sh", "-c", "echo -1 %s %s" % (redirect, op)])
    try:
        assert wait_until(
            lambda: ipc_raw.sem_waiting_for_nonzero(semid, element) == 1,
            30)
        # A hang here is the defect; the bound only keeps the suite alive.
        v = subprocess.run(["sh", "-c", "echo 1 %s %s" % (redirect, op)],
                           timeout=60)
        assert v.returncode == 0
        assert waiter.wait(timeout=60) == 0
        assert ipc_raw.sem_get_value(semid, element) == 0
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()


# ------------------------------------------------- who may, as the kernel


def as_user(script, uid=NOBODY, gid=NOBODY, groups=()):
    """Runs a shell script as uid/gid with the given supplementary
    groups."""
    return sh(script, user=uid, group=gid, extra_groups=list(groups),
              cwd="/")


def refused(r):
    return r.returncode != 0 and "Permission denied" in r.stderr


def make_as(m, uid, gid, *objects):
    """Creates objects (e.g. "sem/810") through the mount as uid/gid, so
    that they are the creator (cuid/cgid)."""
    r = as_user("umask 0 && mkdir -m 666 %s"
                % " ".join("%s/%s" % (m, o) for o in objects), uid, gid)
    assert r.returncode == 0, r.stderr


def test_write_only_segment_follows_shmat(shared_mount):
    """shmat() needs read permission, and read+write to write: a 0622
    segment of root's is neither readable nor writable by others."""
    m = shared_mount.path
    shmid = ipc_raw.create("shm", key=820, mode=0o622)
    ipc_raw.shm_write(shmid, b"root's")
    data = "%s/shm/820/data" % m
    for script in ("cat %s", "echo x > %s", "echo x >> %s",
                   "printf x | dd of=%s conv=notrunc status=none",
                   "truncate -s 0 %s", ": > %s"):
        r = as_user(script % data)
        assert r.returncode != 0 and ("denied" in r.stderr or
                                      "Permission" in r.stderr), script
    assert ipc_raw.shm_read(shmid, 6) == b"root's"
    # 0644: readable, still not writable.
    os.chmod(m / "shm/820", 0o644)
    r = as_user("head -c 6 %s" % data)
    assert r.returncode == 0 and r.stdout == "root's", r.stderr
    assert refused(as_user("echo x > %s" % data))
    assert ipc_raw.shm_read(shmid, 6) == b"root's"


def test_the_creator_group_gets_the_group_bits(shared_mount):
    """ipcperms(): members of gid *or* cgid are judged by the group bits,
    never by the other bits (mode 0604 refuses a cgid member)."""
    m = shared_mount.path
    make_as(m, 4321, 4000, "sem/830", "mq/830")
    sem = ipc_raw.lookup("sem", 830)
    ipc_raw.sem_set_value(sem, 3)
    ipc_raw.msg_send(ipc_raw.lookup("mq", 830), b"secret")
    for kind in ("sem", "mq"):
        os.chown(m / kind / "830", 0, 0)
        os.chmod(m / kind / "830", 0o604)
    value, receive = m / "sem/830/value", m / "mq/830/receive"
    for uid, gid, groups in ((4322, 4000, ()), (4322, 5000, (4000,))):
        assert refused(as_user("cat %s" % value, uid, gid, groups))
        assert refused(as_user("cat %s" % receive, uid, gid, groups))
    # Everyone else: the other bits.
    r = as_user("cat %s" % value, 4322, 5000)
    assert r.returncode == 0 and r.stdout == "3\n", r.stderr
    # 0640: the cgid member reads, primary or supplementary.
    for kind in ("sem", "mq"):
        os.chmod(m / kind / "830", 0o640)
    for uid, gid, groups in ((4322, 4000, ()), (4322, 5000, (4000,))):
        r = as_user("cat %s" % value, uid, gid, groups)
        assert r.returncode == 0 and r.stdout == "3\n", r.stderr
    assert refused(as_user("cat %s" % value, 4322, 5000))
    assert ipc_raw.msq_counts(ipc_raw.lookup("mq", 830))[0] == 1


def test_the_creator_gets_the_owner_bits(shared_mount):
    m = shared_mount.path
    make_as(m, 4321, 4000, "sem/831")
    sem = ipc_raw.lookup("sem", 831)
    os.chown(m / "sem/831", 0, 0)
    os.chmod(m / "sem/831", 0o600)
    r = as_user("echo 4 > %s/sem/831/value && cat %s/sem/831/value"
                % (m, m), 4321, 4000)
    assert r.returncode == 0 and r.stdout == "4\n", r.stderr
    assert ipc_raw.sem_get_value(sem) == 4


SETPRIV_NO_CAPS = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]


def without_capabilities(script):
    """Runs a shell script as uid 0 with every capability dropped."""
    return subprocess.run(SETPRIV_NO_CAPS + ["bash", "-c", script],
                          capture_output=True, text=True, cwd="/")


def test_uid_0_without_capabilities_is_not_privileged(shared_mount):
    """The kernel judges CAP_IPC_OWNER and CAP_SYS_ADMIN, not uid 0."""
    m = shared_mount.path
    make_as(m, 4321, 4000, "sem/840", "mq/840", "shm/840")
    for kind in ("sem", "mq", "shm"):
        os.chmod(m / kind / "840", 0o600)
    sem = ipc_raw.lookup("sem", 840)
    ipc_raw.sem_set_value(sem, 2)
    # The kernel's answer to the same caller, for comparison.
    raw = without_capabilities("%s %s sem %d" % (
        sys.executable, FS_CHILDREN / "raw_remove.py", sem))
    assert raw.returncode != 0 and "not permitted" in raw.stderr
    for script in ("rmdir %s/sem/840", "rmdir %s/sem/by-id/" + str(sem),
                   "chmod 666 %s/sem/840", "echo 0666 > %s/sem/840/mode"):
        r = without_capabilities(script % m)
        assert r.returncode != 0 and "not permitted" in r.stderr, script
    for script in ("cat %s/sem/840/value", "echo 1 > %s/sem/840/value",
                   "cat %s/shm/840/data", "cat %s/mq/840/receive",
                   "echo x > %s/mq/840/send"):
        r = without_capabilities(script % m)
        assert r.returncode != 0 and "denied" in r.stderr, script
    assert ipc_raw.sem_get_value(sem) == 2
    assert ipc_raw.info("sem", sem)["perms"] & 0o777 == 0o600
    # With its capabilities root may do all of it.
    assert read(m / "sem/840/value") == "2\n"
    os.rmdir(m / "sem/840")


def test_rmdir_by_the_creator_and_by_id(shared_mount):
    """IPC_RMID belongs to the owner *or* the creator, by key or by id."""
    m = shared_mount.path
    make_as(m, NOBODY, NOBODY, "sem/850", "mq/850")
    os.chown(m / "sem/850", 1234, 1234)  # nobody is now only the creator
    r = as_user("rmdir %s/sem/850" % m)
    assert r.returncode == 0, r.stderr
    expect_errno(errno.ENOENT, os.stat, m / "sem/850")
    msq = ipc_raw.lookup("mq", 850)
    r = as_user("rmdir %s/mq/by-id/%d" % (m, msq))  # the owner, by id
    assert r.returncode == 0, r.stderr
    assert ipc_raw.info("mq", msq) is None
    # Someone else: EPERM, by key and by id.
    ipc_raw.create("sem", key=851, mode=0o666)
    sem = ipc_raw.lookup("sem", 851)
    for path in ("sem/851", "sem/by-id/%d" % sem):
        r = as_user("rmdir %s/%s" % (m, path))
        assert r.returncode != 0 and "not permitted" in r.stderr, path
    assert ipc_raw.info("sem", sem) is not None


def test_z_needs_read_and_p_needs_write(shared_mount):
    """semop(2): waiting for zero needs read permission, P and V alter."""
    m = shared_mount.path
    sem = ipc_raw.create("sem", key=852, mode=0o644)
    op = "%s/sem/852/op" % m
    r = as_user("echo 0 > %s" % op)  # value 0: Z returns at once
    assert r.returncode == 0, r.stderr
    assert refused(as_user("echo 1 > %s" % op))
    assert ipc_raw.sem_get_value(sem) == 0


def test_permission_changes_after_open_are_honoured(shared_mount):
    """The kernel checks every semop, msgrcv and GETVAL: a descriptor
    opened while allowed is refused once the mode says no."""
    m = shared_mount.path
    sem = ipc_raw.create("sem", key=853, mode=0o666)
    msq = ipc_raw.create("mq", key=853, mode=0o666)
    ipc_raw.msg_send(msq, b"kept")
    child = Child(m, ["sem/853/value", "sem/853/op", "mq/853/receive",
                      "mq/853/send"])
    try:
        for kind in ("sem", "mq"):
            os.chmod(m / kind / "853", 0o600)
        got = child.attempt()
    finally:
        child.close()
    assert got == {"read sem/853/value": errno.EACCES,
                   "write sem/853/value": errno.EACCES,
                   "write sem/853/op": errno.EACCES,
                   "read mq/853/receive": errno.EACCES,
                   "write mq/853/send": errno.EACCES}, got
    assert ipc_raw.sem_get_value(sem) == 0
    assert ipc_raw.msq_counts(msq)[0] == 1


# ------------------------------------------------- a descriptor's object


class Child:
    """A process of nobody's that opens files of the mount, waits, then
    tries every call on them and reports the errno of each (0: done)."""

    def __init__(self, mount, names):
        self.proc = subprocess.Popen(
            [sys.executable, str(FS_CHILDREN / "descriptor_user.py"),
             str(mount), *names],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, user=NOBODY, group=NOBODY,
            extra_groups=[], cwd="/")
        line = self.proc.stdout.readline()
        assert line == "ready\n", line + self.proc.stderr.read()

    def attempt(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


NEXT_ID = {"sem": "sem_next_id", "shm": "shm_next_id", "mq": "msg_next_id"}


def recreate_at(kind, ident, key, mode):
    """Creates an object of kind at id ident, which the kernel gave an
    object now removed.  The kernel reuses an id once its sequence wraps
    (2^31 creations with the default IPCMNI, minutes for an attacker's
    loop); /proc/sys/kernel/<kind>_next_id (checkpoint/restore) gets there
    at once in the suite's own IPC namespace."""
    with open("/proc/sys/kernel/" + NEXT_ID[kind], "w") as f:
        f.write(str(ident))
    new = ipc_raw.create(kind, key=key, mode=mode)
    assert new == ident
    return new


def test_a_kept_descriptor_never_reaches_the_next_object(shared_mount):
    """A user keeps files of its own objects open, removes them and cycles
    ids until root's new 0600 objects get the same ids (same keys): every
    call on the old descriptors answers ENOENT, and root's objects are
    untouched."""
    m = shared_mount.path
    make_as(m, NOBODY, NOBODY, "sem/860", "mq/860")
    sem, msq = ipc_raw.lookup("sem", 860), ipc_raw.lookup("mq", 860)
    child = Child(m, ["sem/860/value", "sem/860/op", "mq/860/receive",
                      "mq/860/send", "sem/860"])
    try:
        r = as_user("rmdir %s/sem/860 %s/mq/860" % (m, m))
        assert r.returncode == 0, r.stderr
        recreate_at("sem", sem, 860, 0o600)
        recreate_at("mq", msq, 860, 0o600)
        ipc_raw.sem_set_value(sem, 9)
        ipc_raw.msg_send(msq, b"root's")
        got = child.attempt()
    finally:
        child.close()
    assert set(got.values()) == {errno.ENOENT}, got
    assert ipc_raw.sem_get_value(sem) == 9
    assert ipc_raw.msg_receive(msq) == (1, b"root's")
    # Root's own descriptors are bound the same way.  (An object with the
    # same key, creator and size at the same id cannot be told apart from
    # the removed one: ipcfs(1) says so.)
    fd = os.open(m / "sem/860/value", os.O_RDWR)
    try:
        ipc_raw.remove("sem", sem)
        recreate_at("sem", sem, 0, 0o600)
        expect_errno(errno.ENOENT, os.pread, fd, 32, 0)
        expect_errno(errno.ENOENT, os.pwrite, fd, b"1", 0)
    finally:
        os.close(fd)
    assert ipc_raw.sem_get_value(sem) == 0


def test_poll_of_a_kept_receive_file_does_not_watch_the_next_queue(
        ipcfs_mount):
    m = ipcfs_mount.path
    msq = ipc_raw.create("mq", key=870, mode=0o600)
    fd = os.open(m / "mq/870/receive", os.O_RDONLY | os.O_NONBLOCK)
    try:
        ipc_raw.remove("mq", msq)
        recreate_at("mq", msq, 871, 0o600)
        ipc_raw.msg_send(msq, b"not yours")
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        (_, events), = poller.poll(10000)
        assert events & select.POLLERR
        expect_errno(errno.ENOENT, os.read, fd, 100)
    finally:
        os.close(fd)
    assert ipc_raw.msq_counts(msq)[0] == 1


# ------------------------------------------------- one user, all files


def test_open_message_files_are_limited_per_user(mount_ipcfs):
    """Each open send or receive file holds a little of the daemon's
    memory: a user at its limit gets ENFILE, and that fails no one else."""
    m = mount_ipcfs("-o", "allow_other,max_files_per_user=8").path
    ipc_raw.create("mq", key=880, mode=0o666)
    child = subprocess.Popen([sys.executable,
                              str(FS_CHILDREN / "open_limit.py"), str(m)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, user=NOBODY, group=NOBODY,
                             extra_groups=[], cwd="/")
    try:
        lines = [child.stdout.readline() for _ in range(3)]
        assert lines == ["ENFILE receive\n", "ENFILE send\n",
                         "after close: ok\n"], lines
        # Meanwhile root, another user, has its own 8.
        fds = [os.open(m / "mq/880/receive", os.O_RDONLY | os.O_NONBLOCK)
               for _ in range(8)]
        for fd in fds:
            os.close(fd)
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_an_attribute_read_in_pieces_is_one_value(ipcfs_mount):
    """cat's second read (at the end of the text) and a reader taking the
    text a byte at a time get the rest of the text their first read saw,
    never the tail of a newer value ("0\\n" then "0\\n" of "100\\n")."""
    m = ipcfs_mount.path
    msq = ipc_raw.create("mq", key=890, mode=0o600)
    fd = os.open(m / "mq/890/current_bytes", os.O_RDONLY)
    try:
        assert os.read(fd, 4096) == b"0\n"
        ipc_raw.msg_send(msq, b"x" * 100)
        assert os.read(fd, 4096) == b""
        # From the start again: the value now.
        assert os.pread(fd, 4096, 0) == b"100\n"
        assert os.pread(fd, 1, 0) == b"1"
        ipc_raw.msg_send(msq, b"x" * 900)
        assert os.pread(fd, 10, 1) == b"00\n"
    finally:
        os.close(fd)
