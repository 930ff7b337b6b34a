"""sysv_ipc: which exception each errno becomes (the contract's table),
for every kind of object."""

import errno
import os

import pytest

import sysv_ipc
from hugepages import (NR_OVERCOMMIT_HUGEPAGES, huge_pages_lock, meminfo,
                       read_int)
from fs_paths import KINDS, NOBODY
from sysv_ipc_support import blocked_child, run_child, wait_blocked_in

CREX = sysv_ipc.IPC_CREX


def construct(kind, *args, **kwargs):
    cls = {"sem": sysv_ipc.Semaphore, "shm": sysv_ipc.SharedMemory,
           "mq": sysv_ipc.MessageQueue}[kind]
    return cls(*args, **kwargs)


def make(made, kind, **kwargs):
    return getattr(made, kind)(**kwargs)


# ------------------------------------------------------- ExistentialError


@pytest.mark.parametrize("kind", KINDS)
def test_enoent_missing_key(made, kind):
    obj = make(made, kind)
    key = obj.key
    obj.remove()
    with pytest.raises(sysv_ipc.ExistentialError) as info:
        construct(kind, key)
    assert isinstance(info.value, sysv_ipc.Error)


@pytest.mark.parametrize("kind", KINDS)
def test_eexist_key_taken(made, kind):
    obj = make(made, kind)
    with pytest.raises(sysv_ipc.ExistentialError):
        construct(kind, obj.key, CREX)


@pytest.mark.parametrize("kind", KINDS)
def test_einval_or_eidrm_removed_object(made, kind):
    obj = make(made, kind)
    obj.remove()
    if kind == "shm":
        obj.detach()
    with pytest.raises(sysv_ipc.ExistentialError):
        obj.mode
    with pytest.raises(sysv_ipc.ExistentialError):
        obj.uid = 0
    with pytest.raises(sysv_ipc.ExistentialError):
        obj.remove()


@pytest.mark.parametrize("func", ["remove_semaphore", "remove_shared_memory",
                                  "remove_message_queue"])
def test_einval_bad_id(func):
    with pytest.raises(sysv_ipc.ExistentialError):
        getattr(sysv_ipc, func)(123456)
    with pytest.raises(sysv_ipc.ExistentialError):
        getattr(sysv_ipc, func)(-1)


@pytest.mark.parametrize("kind, opening, call, kernel_wait", [
    ("sem", "o = sysv_ipc.Semaphore(%d)\n", "o.acquire()", "semtimedop"),
    ("mq", "o = sysv_ipc.MessageQueue(%d)\n", "o.receive()", "msgrcv"),
])
def test_eidrm_wakes_a_waiter(made, child, kind, opening, call, kernel_wait):
    obj = make(made, kind)
    c = blocked_child(child, opening % obj.key, call,
                      "sysv_ipc.ExistentialError", ready=True)
    c.expect("ready")
    wait_blocked_in(c.proc.pid, kernel_wait)
    obj.remove()
    c.expect("sysv_ipc.ExistentialError")
    assert c.wait()[0] == 0


def test_eidrm_while_waiting(made):
    # The waiting side of EIDRM is test_eidrm_wakes_a_waiter; here the
    # operations on a removed object.
    sem = made.sem(initial_value=1)
    mq = made.mq()
    sem.remove()
    mq.remove()
    for call in (sem.acquire, lambda: mq.send(b"x"),
                 lambda: mq.receive(block=False)):
        with pytest.raises(sysv_ipc.ExistentialError):
            call()


# ------------------------------------------------------- PermissionsError


@pytest.mark.parametrize("kind", KINDS)
def test_eacces_and_eperm(made, kind):
    obj = make(made, kind, mode=0o600) if kind != "sem" else \
        made.sem(None, CREX, 0o600)
    cls = {"sem": "Semaphore", "shm": "SharedMemory",
           "mq": "MessageQueue"}[kind]
    done = run_child("""
        try:
            sysv_ipc.%(cls)s(%(key)d)            # EACCES
        except sysv_ipc.PermissionsError as e:
            print("EACCES", isinstance(e, sysv_ipc.Error))
        try:
            sysv_ipc.remove_%(remove)s(%(id)d)   # EPERM: not the owner
        except sysv_ipc.PermissionsError:
            print("EPERM")
    """ % {"cls": cls, "key": obj.key, "id": obj.id,
           "remove": {"sem": "semaphore", "shm": "shared_memory",
                      "mq": "message_queue"}[kind]}, user=NOBODY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["EACCES", "True", "EPERM"]


def test_eperm_on_ipc_set(made):
    sem = made.sem(None, CREX, 0o666)
    done = run_child("""
        s = sysv_ipc.Semaphore(%d)
        try:
            s.uid = 0
        except sysv_ipc.PermissionsError:
            print("EPERM")
    """ % sem.key, user=NOBODY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["EPERM"]


# -------------------------------------------------------------- BusyError


def test_eagain_and_enomsg(made):
    sem = made.sem()
    sem.block = False
    with pytest.raises(sysv_ipc.BusyError):
        sem.acquire()                       # EAGAIN, IPC_NOWAIT
    sem.block = True
    with pytest.raises(sysv_ipc.BusyError):
        sem.acquire(timeout=0.01)           # EAGAIN, timed out
    mq = made.mq()
    with pytest.raises(sysv_ipc.BusyError):
        mq.receive(block=False)             # ENOMSG
    mq.max_size = 1
    mq.send(b"x")
    with pytest.raises(sysv_ipc.BusyError):
        mq.send(b"y", block=False)          # EAGAIN, full


# ------------------------------------------------------------ MemoryError


def test_enomem_is_memory_error():
    # More huge pages than the pool holds: ENOMEM, whatever the pool (the
    # lock keeps suites running beside this one from growing it meanwhile).
    with huge_pages_lock():
        if read_int(NR_OVERCOMMIT_HUGEPAGES):
            pytest.skip("nr_overcommit_hugepages is set: the kernel would "
                        "make the pages rather than fail")
        info = meminfo()
        size = (info["HugePages_Total"] + 1) * info["Hugepagesize"] * 1024
        before = open("/proc/sysvipc/shm").readlines()[1:]
        with pytest.raises(MemoryError):
            sysv_ipc.SharedMemory(None, CREX | sysv_ipc.SHM_HUGETLB,
                                  size=size)
    # Nothing was made (segments other tests still hold attached may stay).
    assert open("/proc/sysvipc/shm").readlines()[1:] == before


@pytest.mark.parametrize("kind,sysctl,value", [
    ("MessageQueue", "msgmni", "0"),
    ("SharedMemory", "shmmni", "0"),
    ("Semaphore", "sem", "250 32000 32 0"),
])
def test_enospc_is_memory_error(kind, sysctl, value):
    # In a namespace of its own, so that the limit is the child's alone.
    done = run_child("""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x08000000) != 0:
            print("no unshare")
            sys.exit(0)
        with open("/proc/sys/kernel/%s", "w") as f:
            f.write(%r)
        try:
            sysv_ipc.%s(None, sysv_ipc.IPC_CREX)
        except MemoryError:
            print("MemoryError")
    """ % (sysctl, value, kind))
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() == "no unshare":
        pytest.skip("cannot make a nested IPC namespace")
    assert done.stdout.split() == ["MemoryError"]


# ------------------------------------------------------------- ValueError


def test_erange_is_value_error(made):
    sem = made.sem(initial_value=32767)
    with pytest.raises(ValueError):
        sem.release()
    assert not isinstance(ValueError(), sysv_ipc.Error)


def test_einval_size_is_value_error(made):
    shm = made.shm(size=10)
    with pytest.raises(ValueError):
        sysv_ipc.SharedMemory(shm.key, size=11)
    with pytest.raises(ValueError):
        sysv_ipc.SemaphoreSet(None, 10**6, CREX)


# ------------------------------------------------------- NotAttachedError


def test_shmdt_of_unattached_segment(made):
    shm = made.shm()
    shm.detach()
    with pytest.raises(sysv_ipc.NotAttachedError) as info:
        shm.detach()
    assert isinstance(info.value, sysv_ipc.Error)


# ---------------------------------------------------------------- OSError


def test_e2big_is_oserror_with_errno(made):
    mq = made.mq(None, CREX, max_message_size=1)
    sysv_ipc.MessageQueue(mq.key).send(b"too long")
    with pytest.raises(OSError) as info:
        mq.receive()
    assert info.value.errno == errno.E2BIG
    assert not isinstance(info.value, sysv_ipc.Error)


def test_write_to_read_only_attach_is_plain_oserror(made):
    shm = made.shm()
    ro = sysv_ipc.attach(shm.id, flags=sysv_ipc.SHM_RDONLY)
    with pytest.raises(OSError) as info:
        ro.write(b"x")
    assert info.value.errno == errno.EACCES
    assert not isinstance(info.value, sysv_ipc.PermissionsError)


def test_ftok_failure_is_oserror():
    with pytest.raises(OSError) as info:
        sysv_ipc.ftok("/no/such/path", 1, True)
    assert info.value.errno == errno.ENOENT


def test_attach_at_a_bad_address_is_not_a_crash(made):
    shm = made.shm()
    with pytest.raises((sysv_ipc.Error, OSError, ValueError)):
        sysv_ipc.attach(shm.id, address=1)  # not aligned, no SHM_RND
    assert shm.number_attached == 1
    assert os.getpid() > 0
