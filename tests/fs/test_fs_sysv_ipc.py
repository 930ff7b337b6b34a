"""ipcfs and the sysv_ipc module see the same objects the same way: what
one makes or changes, the other shows (the module is built from this tree;
skipped where it is not)."""

import os

import pytest

from fs_paths import read, write

sysv_ipc = pytest.importorskip("sysv_ipc")


def test_semaphore_attributes_match(ipcfs_mount):
    sem = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, mode=0o640,
                             initial_value=3)
    sem.acquire()
    d = ipcfs_mount.path / "sem" / str(sem.key)
    assert str(sem.key) in os.listdir(ipcfs_mount.path / "sem")
    assert read(d / "id") == "%d\n" % sem.id
    assert read(d / "key") == "%d\n" % sem.key
    assert read(d / "value") == "%d\n" % sem.value == "2\n"
    assert int(read(d / "mode"), 8) == sem.mode
    for name in ("uid", "gid", "cuid", "cgid", "last_pid", "o_time",
                 "waiting_for_nonzero", "waiting_for_zero"):
        assert read(d / name) == "%d\n" % getattr(sem, name), name
    write(d / "value", "9")
    assert sem.value == 9
    write(d / "op", "-4")
    assert sem.value == 5
    write(d / "mode", "0600")
    assert sem.mode == 0o600
    sem.remove()
    assert str(sem.key) not in os.listdir(ipcfs_mount.path / "sem")


def test_negative_key_named_as_the_module_reports_it(ipcfs_mount):
    sem = sysv_ipc.Semaphore(-123456, sysv_ipc.IPC_CREX)
    assert sem.key == -123456
    d = ipcfs_mount.path / "sem" / "-123456"
    assert read(d / "id") == "%d\n" % sem.id
    assert read(ipcfs_mount.path / "sem" / "0xfffe1dc0" / "id") == \
        "%d\n" % sem.id
    sem.remove()


def test_made_through_the_mount_opened_by_the_module(ipcfs_mount):
    m = ipcfs_mount.path
    os.mkdir(m / "sem" / "4000")
    os.mkdir(m / "shm" / "4000:8192")
    os.mkdir(m / "mq" / "4000")
    sem = sysv_ipc.Semaphore(4000)
    shm = sysv_ipc.SharedMemory(4000)
    mq = sysv_ipc.MessageQueue(4000)
    assert shm.size == 8192
    write(m / "shm/4000/data", "hello")
    assert shm.read(5) == b"hello"
    shm.write(b"back", 10)
    with open(m / "shm/4000/data", "rb") as f:
        f.seek(10)
        assert f.read(4) == b"back"
    assert read(m / "shm/4000/number_attached") == "%d\n" % (
        shm.number_attached)
    write(m / "mq/4000/send", "hi")
    assert mq.receive() == (b"hi", 1)
    mq.send(b"five", type=5)
    mq.send(b"two", type=2)
    assert read(m / "mq/4000/current_messages") == "2\n"
    assert read(m / "mq/4000/type/5/receive") == "five"
    assert read(m / "mq/4000/max_size") == "%d\n" % mq.max_size
    assert read(m / "mq/4000/last_send_pid") == "%d\n" % mq.last_send_pid
    assert read(m / "mq/4000/receive") == "two"
    write(m / "sem/4000/op", "2")
    sem.acquire()
    assert sem.value == 1
    shm.detach()
    for kind in ("sem", "shm", "mq"):
        os.rmdir(m / kind / "4000")
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.Semaphore(4000)
