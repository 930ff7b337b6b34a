"""ipcfs: the tree, liveness, names (decimal, hex, by-id), attribute files
and their errors, driven as a user would (open/read/write, cat/echo/ls)."""

import errno
import os
import stat
import subprocess
import threading

import pytest

import ipc_raw
from suite import wait_until
from fs_paths import KINDS, expect_errno, read, sh, write

SEM_FILES = {"value", "op", "id", "key", "mode", "uid", "gid", "cuid",
             "cgid", "nsems", "last_pid", "o_time", "c_time",
             "waiting_for_nonzero", "waiting_for_zero"}
ELEM_FILES = {"value", "op", "last_pid", "waiting_for_nonzero",
              "waiting_for_zero"}
SHM_FILES = {"data", "id", "key", "size", "mode", "uid", "gid", "cuid",
             "cgid", "creator_pid", "last_pid", "number_attached",
             "last_attach_time", "last_detach_time", "last_change_time"}
MQ_FILES = {"send", "receive", "peek", "messages", "type", "id", "key", "mode", "uid", "gid",
            "cuid", "cgid", "current_messages", "current_bytes", "max_size",
            "last_send_time", "last_receive_time", "last_change_time",
            "last_send_pid", "last_receive_pid"}
FILES = {"sem": SEM_FILES, "shm": SHM_FILES, "mq": MQ_FILES}


# ---------------------------------------------------------------- tree


def test_root_and_kind_directories(ipcfs_mount):
    m = ipcfs_mount.path
    assert sorted(os.listdir(m)) == ["limits", "mq", "sem", "shm", "usage"]
    for kind in KINDS:
        st = os.stat(m / kind)
        assert stat.S_ISDIR(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o1777
        assert os.listdir(m / kind) == ["by-id"]
        assert os.listdir(m / kind / "by-id") == []


@pytest.mark.parametrize("kind", KINDS)
def test_object_files_listed(ipcfs_mount, kind):
    ipc_raw.create(kind, key=4242, mode=0o640)
    d = ipcfs_mount.path / kind / "4242"
    assert set(os.listdir(d)) == FILES[kind]
    assert stat.S_ISDIR(os.stat(d).st_mode)
    for name in FILES[kind]:
        st = os.stat(d / name)
        assert stat.S_ISDIR(st.st_mode) == (name in ("type", "messages")), \
            name


@pytest.mark.parametrize("kind", KINDS)
def test_made_elsewhere_appears_and_removed_disappears(ipcfs_mount, kind):
    m = ipcfs_mount.path / kind
    assert "777" not in os.listdir(m)
    ident = ipc_raw.create(kind, key=777)
    assert "777" in os.listdir(m)
    assert read(m / "777" / "id") == "%d\n" % ident
    assert os.listdir(m / "by-id") == [str(ident)]
    ipc_raw.remove(kind, ident)
    assert "777" not in os.listdir(m)
    expect_errno(errno.ENOENT, os.stat, m / "777")
    expect_errno(errno.ENOENT, os.stat, m / "by-id" / str(ident))


def test_open_file_of_removed_object_says_enoent(ipcfs_mount):
    ident = ipc_raw.create("sem", key=31)
    with open(ipcfs_mount.path / "sem" / "31" / "value") as f:
        ipc_raw.remove("sem", ident)
        expect_errno(errno.ENOENT, f.read)


def test_reused_key_is_another_object(ipcfs_mount):
    d = ipcfs_mount.path / "sem" / "32"
    first = ipc_raw.create("sem", key=32)
    ino = os.stat(d).st_ino
    value_ino = os.stat(d / "value").st_ino
    ipc_raw.remove("sem", first)
    second = ipc_raw.create("sem", key=32)
    assert second != first
    assert os.stat(d).st_ino != ino
    assert os.stat(d / "value").st_ino != value_ino
    assert read(d / "id") == "%d\n" % second


def test_files_read_again_follow_the_object_now_at_the_key(ipcfs_mount):
    # The kernel keeps the names below an object directory; each path walk
    # still revalidates the directory itself, so a replaced or removed
    # object is seen at once.
    d = ipcfs_mount.path / "sem" / "33"
    first = ipc_raw.create("sem", key=33, size=2)
    ipc_raw.sem_set_value(first, 5)
    for _ in range(3):
        assert read(d / "value") == "5\n"
        assert read(d / "0" / "value") == "5\n"
    ipc_raw.remove("sem", first)
    expect_errno(errno.ENOENT, os.open, d / "value", os.O_RDONLY)
    expect_errno(errno.ENOENT, os.open, d / "0" / "value", os.O_RDONLY)
    second = ipc_raw.create("sem", key=33, mode=0o644, size=2)
    ipc_raw.sem_set_value(second, 7)
    assert read(d / "value") == "7\n"
    assert read(d / "0" / "value") == "7\n"
    assert read(d / "id") == "%d\n" % second
    assert read(d / "mode") == "0644\n"


def test_directory_opened_before_removal_reaches_nothing(ipcfs_mount):
    # A walk that starts inside the directory (a shell cd'ed into it)
    # revalidates nothing above; the files still answer for the object
    # they belong to, which is gone, even once another takes its key.
    d = ipcfs_mount.path / "mq" / "34"
    first = ipc_raw.create("mq", key=34)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = os.open("id", os.O_RDONLY, dir_fd=dfd)
        try:
            assert os.read(fd, 64) == b"%d\n" % first
        finally:
            os.close(fd)
        ipc_raw.remove("mq", first)
        expect_errno(errno.ENOENT, lambda: os.open("id", os.O_RDONLY, dir_fd=dfd))
        second = ipc_raw.create("mq", key=34)
        expect_errno(errno.ENOENT, lambda: os.open("id", os.O_RDONLY, dir_fd=dfd))
        assert read(d / "id") == "%d\n" % second
    finally:
        os.close(dfd)


def test_hex_and_other_spellings_find_the_same_object(ipcfs_mount):
    ident = ipc_raw.create("sem", key=0x1234)
    m = ipcfs_mount.path / "sem"
    assert "4660" in os.listdir(m)
    for name in ("0x1234", "0X1234", "0x00001234"):
        assert read(m / name / "id") == "%d\n" % ident
        assert read(m / name / "key") == "4660\n"
    assert read(m / "4660" / "id") == "%d\n" % ident
    expect_errno(errno.ENOENT, os.stat, m / "0x1235")
    expect_errno(errno.ENOENT, os.stat, m / "0xzz")
    expect_errno(errno.ENOENT, os.stat, m / "0")


def test_negative_key_in_decimal_as_sysv_ipc_reports_it(ipcfs_mount):
    ident = ipc_raw.create("mq", key=-5)
    m = ipcfs_mount.path / "mq"
    assert "-5" in os.listdir(m)
    assert read(m / "-5" / "key") == "-5\n"
    assert read(m / "0xfffffffb" / "id") == "%d\n" % ident


@pytest.mark.parametrize("kind", KINDS)
def test_private_objects_only_by_id(ipcfs_mount, kind):
    private = ipc_raw.create(kind)
    keyed = ipc_raw.create(kind, key=99)
    m = ipcfs_mount.path / kind
    assert sorted(os.listdir(m)) == ["99", "by-id"]
    assert sorted(os.listdir(m / "by-id")) == sorted(
        [str(private), str(keyed)])
    assert read(m / "by-id" / str(private) / "key") == "0\n"
    assert read(m / "by-id" / str(keyed) / "key") == "99\n"
    assert set(os.listdir(m / "by-id" / str(private))) == FILES[kind]
    expect_errno(errno.ENOENT, os.stat, m / "by-id" / ("0%d" % private))
    expect_errno(errno.ENOENT, os.stat, m / "by-id" / "12345678")


def test_ls_l_shows_objects_with_their_modes(ipcfs_mount):
    ipc_raw.create("sem", key=5, mode=0o600)
    ipc_raw.create("sem", key=6, mode=0o644)
    out = sh("ls -l %s" % (ipcfs_mount.path / "sem")).stdout
    lines = {l.split()[-1]: l.split()[0] for l in out.splitlines()[1:]}
    assert lines["5"] == "drwx------"
    assert lines["6"] == "drwxr-xr-x"
    assert lines["by-id"] == "dr-xr-xr-x"


# ---------------------------------------------------------------- attributes


def test_sem_attributes(ipcfs_mount):
    ident = ipc_raw.create("sem", key=10, mode=0o640)
    ipc_raw.sem_set_value(ident, 3)
    ipc_raw.sem_op(ident, -1)
    d = ipcfs_mount.path / "sem" / "10"
    row = ipc_raw.info("sem", ident)
    assert read(d / "id") == "%d\n" % ident
    assert read(d / "key") == "10\n"
    assert read(d / "value") == "2\n"
    assert read(d / "mode") == "0640\n"
    assert read(d / "uid") == "0\n" and read(d / "gid") == "0\n"
    assert read(d / "cuid") == "0\n" and read(d / "cgid") == "0\n"
    assert read(d / "nsems") == "1\n"
    assert read(d / "last_pid") == "%d\n" % os.getpid()
    assert read(d / "o_time") == "%d\n" % row["otime"]
    assert read(d / "c_time") == "%d\n" % row["ctime"]
    assert int(read(d / "o_time")) > 0
    assert read(d / "waiting_for_nonzero") == "0\n"
    assert read(d / "waiting_for_zero") == "0\n"
    out = sh("cat %s/value %s/mode" % (d, d)).stdout
    assert out == "2\n0640\n"


def test_shm_attributes(ipcfs_mount):
    ident = ipc_raw.create("shm", key=11, mode=0o600, size=10000)
    ipc_raw.shm_write(ident, b"x")
    d = ipcfs_mount.path / "shm" / "11"
    row = ipc_raw.info("shm", ident)
    assert read(d / "size") == "10000\n"
    assert os.stat(d / "data").st_size == 10000
    assert read(d / "mode") == "0600\n"
    assert read(d / "creator_pid") == "%d\n" % os.getpid()
    assert read(d / "last_pid") == "%d\n" % os.getpid()
    assert read(d / "number_attached") == "0\n"
    assert read(d / "last_attach_time") == "%d\n" % row["atime"]
    assert read(d / "last_detach_time") == "%d\n" % row["dtime"]
    assert read(d / "last_change_time") == "%d\n" % row["ctime"]


def test_mq_attributes(ipcfs_mount):
    ident = ipc_raw.create("mq", key=12, mode=0o620)
    ipc_raw.msg_send(ident, b"hello")
    d = ipcfs_mount.path / "mq" / "12"
    row = ipc_raw.info("mq", ident)
    assert read(d / "current_messages") == "1\n"
    assert read(d / "current_bytes") == "5\n"
    with open("/proc/sys/kernel/msgmnb") as f:
        assert read(d / "max_size") == f.read()
    assert read(d / "mode") == "0620\n"
    assert read(d / "last_send_pid") == "%d\n" % os.getpid()
    assert read(d / "last_receive_pid") == "0\n"
    assert read(d / "last_send_time") == "%d\n" % row["stime"]
    assert read(d / "last_receive_time") == "0\n"
    assert read(d / "last_change_time") == "%d\n" % row["ctime"]


def test_sem_elements_of_a_set(ipcfs_mount):
    ident = ipc_raw.create("sem", key=13, size=3)
    ipc_raw.sem_set_value(ident, 7, num=2)
    d = ipcfs_mount.path / "sem" / "13"
    assert {"0", "1", "2"} <= set(os.listdir(d))
    for n in range(3):
        assert set(os.listdir(d / str(n))) == ELEM_FILES
    assert read(d / "2" / "value") == "7\n"
    assert read(d / "value") == "0\n"  # element 0
    write(d / "1" / "value", "4\n")
    assert ipc_raw.sem_get_value(ident, num=1) == 4
    assert ipc_raw.sem_get_value(ident, num=0) == 0
    expect_errno(errno.ENOENT, os.stat, d / "3")
    expect_errno(errno.ENOENT, os.stat, d / "01")
    assert read(d / "nsems") == "3\n"


def test_single_semaphore_has_no_element_directories(ipcfs_mount):
    ipc_raw.create("sem", key=14)
    expect_errno(errno.ENOENT, os.stat, ipcfs_mount.path / "sem/14/0")


def test_write_value(ipcfs_mount):
    ident = ipc_raw.create("sem", key=15)
    d = ipcfs_mount.path / "sem" / "15"
    assert write(d / "value", "12\n") == 3
    assert ipc_raw.sem_get_value(ident) == 12
    r = sh("echo 9 > %s/value && cat %s/value" % (d, d))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "9\n"
    assert ipc_raw.sem_get_value(ident) == 9


@pytest.mark.parametrize("text", ["abc", "", "\n", "1 2", "0x5", "5abc",
                                  "99999999999999999999999"])
def test_unparsable_value_is_einval_and_changes_nothing(ipcfs_mount, text):
    ident = ipc_raw.create("sem", key=16)
    ipc_raw.sem_set_value(ident, 3)
    d = ipcfs_mount.path / "sem" / "16"
    if text:
        expect_errno(errno.EINVAL, write, d / "value", text)
    assert ipc_raw.sem_get_value(ident) == 3


def test_value_out_of_range_is_erange_and_changes_nothing(ipcfs_mount):
    ident = ipc_raw.create("sem", key=17)
    ipc_raw.sem_set_value(ident, 3)
    d = ipcfs_mount.path / "sem" / "17"
    expect_errno(errno.ERANGE, write, d / "value", "32768")
    expect_errno(errno.ERANGE, write, d / "value", "-1")
    assert ipc_raw.sem_get_value(ident) == 3
    write(d / "value", "32767")
    assert ipc_raw.sem_get_value(ident) == 32767


@pytest.mark.parametrize("kind", KINDS)
def test_write_mode_uid_gid(ipcfs_mount, kind):
    ident = ipc_raw.create(kind, key=18, mode=0o600)
    d = ipcfs_mount.path / kind / "18"
    write(d / "mode", "0644\n")
    assert ipc_raw.info(kind, ident)["perms"] & 0o777 == 0o644
    write(d / "mode", "600")
    assert read(d / "mode") == "0600\n"
    write(d / "uid", "1234\n")
    write(d / "gid", "4321\n")
    row = ipc_raw.info(kind, ident)
    assert (row["uid"], row["gid"], row["cuid"], row["cgid"]) == (
        1234, 4321, 0, 0)
    assert os.stat(d).st_uid == 1234 and os.stat(d).st_gid == 4321
    write(d / "uid", "nobody")
    write(d / "gid", "nogroup")
    row = ipc_raw.info(kind, ident)
    assert (row["uid"], row["gid"]) == (65534, 65534)
    # Reading and writing back the same text is accepted.
    for name in ("mode", "uid", "gid"):
        write(d / name, read(d / name))
    assert ipc_raw.info(kind, ident)["perms"] & 0o777 == 0o600


@pytest.mark.parametrize("name,text", [
    ("mode", "0999"), ("mode", "rw"), ("mode", "010000"), ("mode", "-1"),
    ("uid", "-1"), ("uid", "4294967295"), ("uid", "no-such-user-here"),
    ("gid", "no-such-group-here"), ("uid", "")])
def test_bad_mode_uid_gid_is_einval_and_changes_nothing(ipcfs_mount, name,
                                                        text):
    ident = ipc_raw.create("sem", key=19, mode=0o640)
    before = ipc_raw.info("sem", ident)
    if text:
        expect_errno(errno.EINVAL, write,
                     ipcfs_mount.path / "sem/19" / name, text)
    after = ipc_raw.info("sem", ident)
    assert (after["perms"], after["uid"], after["gid"]) == (
        before["perms"], before["uid"], before["gid"])


def test_read_only_attributes_refuse_writes_even_for_root(ipcfs_mount):
    ipc_raw.create("sem", key=20)
    d = ipcfs_mount.path / "sem" / "20"
    for name in ("id", "key", "cuid", "nsems", "o_time"):
        expect_errno(errno.EACCES, os.open, d / name, os.O_WRONLY)
    expect_errno(errno.EACCES, os.open, d / "op", os.O_RDONLY)


def test_max_size(ipcfs_mount):
    ident = ipc_raw.create("mq", key=21)
    d = ipcfs_mount.path / "mq" / "21"
    write(d / "max_size", "1000\n")
    assert read(d / "max_size") == "1000\n"
    expect_errno(errno.EINVAL, write, d / "max_size", "lots")
    assert read(d / "max_size") == "1000\n"
    ipc_raw.remove("mq", ident)


def test_names_cannot_be_made_or_removed_inside_objects(ipcfs_mount):
    ipc_raw.create("sem", key=22)
    d = ipcfs_mount.path / "sem" / "22"
    expect_errno(errno.EPERM, os.open, d / "new", os.O_CREAT | os.O_WRONLY)
    expect_errno(errno.EPERM, os.unlink, d / "value")
    expect_errno(errno.EPERM, os.mkdir, d / "sub")
    expect_errno(errno.EPERM, os.rename, d / "value", d / "other")
    expect_errno(errno.ENOENT, os.stat, d / "nosuch")


# ---------------------------------------------------------------- op, send,
# receive: routing to the blocking module (its own tests go deeper)


def test_op_file_p_v_z(ipcfs_mount):
    ident = ipc_raw.create("sem", key=23, size=2)
    d = ipcfs_mount.path / "sem" / "23"
    write(d / "op", "+2\n")
    assert ipc_raw.sem_get_value(ident) == 2
    write(d / "op", "-1")
    assert ipc_raw.sem_get_value(ident) == 1
    write(d / "1" / "op", "3")
    assert ipc_raw.sem_get_value(ident, num=1) == 3
    assert ipc_raw.sem_get_value(ident) == 1
    r = sh("echo -1 > %s/op && cat %s/value" % (d, d))
    assert r.stdout == "0\n", r.stderr
    write(d / "op", "0")  # value is 0: Z returns at once
    fd = os.open(d / "op", os.O_WRONLY | os.O_NONBLOCK)
    try:
        expect_errno(errno.EAGAIN, os.write, fd, b"-1")
        os.write(fd, b"1")
        expect_errno(errno.EAGAIN, os.write, fd, b"0")
        expect_errno(errno.EINVAL, os.write, fd, b"one")
        expect_errno(errno.EINVAL, os.write, fd, b"40000")
    finally:
        os.close(fd)
    assert ipc_raw.sem_get_value(ident) == 1


def test_send_and_receive(ipcfs_mount):
    ident = ipc_raw.create("mq", key=24)
    d = ipcfs_mount.path / "mq" / "24"
    r = sh("echo hi > %s/send" % d)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.msg_receive(ident) == (1, b"hi\n")
    ipc_raw.msg_send(ident, b"one", 5)
    ipc_raw.msg_send(ident, b"two", 6)
    r = sh("cat %s/receive" % d)
    assert r.stdout == "one"
    with open(d / "receive", "rb") as f:
        assert f.read() == b"two"  # one message, then end of file
    fd = os.open(d / "receive", os.O_RDONLY | os.O_NONBLOCK)
    try:
        expect_errno(errno.EAGAIN, os.read, fd, 100)
    finally:
        os.close(fd)


def test_typed_send_and_receive(ipcfs_mount):
    ident = ipc_raw.create("mq", key=25)
    d = ipcfs_mount.path / "mq" / "25"
    assert os.listdir(d / "type") == []
    assert sorted(os.listdir(d / "type" / "7")) == ["receive", "send"]
    assert os.listdir(d / "type" / "0") == ["receive"]
    assert os.listdir(d / "type" / "-3") == ["receive"]
    expect_errno(errno.ENOENT, os.stat, d / "type" / "-3" / "send")
    expect_errno(errno.ENOENT, os.stat, d / "type" / "x")
    expect_errno(errno.ENOENT, os.stat, d / "type" / "07")
    write(d / "type" / "7" / "send", "seven")
    write(d / "type" / "3" / "send", "three")
    write(d / "type" / "5" / "send", "five")
    ipc_raw.msg_send(ident, b"nine", 9)
    assert read(d / "type" / "5" / "receive") == "five"
    assert read(d / "type" / "-8" / "receive") == "three"  # lowest <= 8
    assert read(d / "type" / "0" / "receive") == "seven"   # oldest
    assert ipc_raw.msg_receive(ident) == (9, b"nine")
    fd = os.open(d / "type" / "7" / "receive", os.O_RDONLY | os.O_NONBLOCK)
    try:
        expect_errno(errno.EAGAIN, os.read, fd, 100)
    finally:
        os.close(fd)


def test_data_file_routes_to_the_segment(ipcfs_mount):
    ident = ipc_raw.create("shm", key=26, size=4096)
    d = ipcfs_mount.path / "shm" / "26"
    r = sh("echo hello > %s/data" % d)
    assert r.returncode == 0, r.stderr
    assert ipc_raw.shm_read(ident, 7) == b"hello\n\0"
    ipc_raw.shm_write(ident, b"back", 100)
    with open(d / "data", "rb") as f:
        f.seek(100)
        assert f.read(4) == b"back"


def test_waiting_p_does_not_hold_up_a_v_on_the_same_file(ipcfs_mount):
    """op and send get an inode per lookup (the kernel locks an inode for
    the whole of a write); st_ino stays the file's one number."""
    ident = ipc_raw.create("sem", key=27)
    op = ipcfs_mount.path / "sem" / "27" / "op"
    assert os.stat(op).st_ino == os.stat(op).st_ino
    p = subprocess.Popen(["bash", "-c", "echo -1 > %s" % op])
    try:
        assert wait_until(lambda: ipc_raw.info("sem", ident) and
                          read(op.parent / "waiting_for_nonzero") == "1\n"), \
            "timed out"
        r = subprocess.run(["bash", "-c", "echo 1 > %s" % op], timeout=10)
        assert r.returncode == 0
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert ipc_raw.sem_get_value(ident) == 0


def test_select_on_receive_wakes_when_a_message_arrives(ipcfs_mount):
    import select
    import threading
    ident = ipc_raw.create("mq", key=28)
    fd = os.open(ipcfs_mount.path / "mq/28/type/4/receive",
                 os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert select.select([fd], [], [], 0.05)[0] == []
        t = threading.Timer(0.1, ipc_raw.msg_send, (ident, b"later", 4))
        t.start()
        ipc_raw.msg_send(ident, b"other type", 3)
        assert select.select([fd], [], [], 5)[0] == [fd]
        t.join()
        assert os.read(fd, 100) == b"later"
        assert os.read(fd, 100) == b""  # one message per open
        assert select.select([fd], [], [], 0)[0] == [fd]
    finally:
        os.close(fd)
    assert ipc_raw.msg_receive(ident) == (3, b"other type")


def test_any_number_of_type_directories(ipcfs_mount):
    """A type lives in a table of dynamic nodes, freed only when the kernel
    forgets an inode (when it reclaims it): no fixed bound may show."""
    ipc_raw.create("mq", key=29)
    fd = os.open(ipcfs_mount.path / "mq/29/type", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for t in range(1, 70001):
            st = os.stat(str(t), dir_fd=fd)
            assert stat.S_ISDIR(st.st_mode)
        assert os.stat("70000/send", dir_fd=fd).st_mode & 0o200
    finally:
        os.close(fd)


def test_open_data_file_survives_removal_and_a_new_lookup(ipcfs_mount):
    """A segment removed while attached keeps its id but loses its key: the
    inode's generation must not change with it, or the kernel would turn
    the open file's inode bad."""
    ident = ipc_raw.create("shm", key=34, size=4096)
    with open(ipcfs_mount.path / "shm/34/data", "r+b") as f:
        f.write(b"still here")
        os.rmdir(ipcfs_mount.path / "shm/34")
        by_id = ipcfs_mount.path / "shm/by-id" / str(ident)
        assert read(by_id / "key") == "0\n"
        assert os.stat(by_id / "data").st_ino == os.fstat(f.fileno()).st_ino
        f.seek(0)
        assert f.read(10) == b"still here"


def test_pids_of_operations_through_the_mount_are_the_daemons(ipcfs_mount):
    m = ipcfs_mount.path
    daemon = "%d\n" % ipcfs_mount.proc.pid
    os.mkdir(m / "sem/35")
    os.mkdir(m / "mq/35")
    write(m / "sem/35/op", "1")
    assert read(m / "sem/35/last_pid") == daemon
    write(m / "mq/35/send", "x")
    assert read(m / "mq/35/last_send_pid") == daemon
    assert read(m / "mq/35/receive") == "x"
    assert read(m / "mq/35/last_receive_pid") == daemon
    assert read(m / "mq/35/uid") == "0\n"


def test_many_callers_at_once_are_all_answered(ipcfs_mount):
    """More callers than the daemon has workers polling for requests (one
    per CPU and one more; the others wait their turn): every read is
    answered, with its own object's value."""
    sems = [ipc_raw.create("sem", key=900 + i) for i in range(16)]
    for i, ident in enumerate(sems):
        ipc_raw.sem_set_value(ident, i)
    errors = []

    def reader(i):
        path = ipcfs_mount.path / "sem" / str(900 + i) / "value"
        try:
            for _ in range(300):
                fd = os.open(path, os.O_RDONLY)
                try:
                    got = os.read(fd, 64)
                finally:
                    os.close(fd)
                if got != b"%d\n" % i:
                    errors.append((i, got))
                    return
        except OSError as e:
            errors.append((i, e))

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert read(ipcfs_mount.path / "sem" / "915" / "value") == "15\n"
