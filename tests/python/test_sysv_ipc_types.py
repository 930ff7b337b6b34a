"""sysv_ipc types: subclassing, no __dict__, identity hashing, read-only and
writable attributes, deleting attributes (fix #1), str and repr."""

import gc
import weakref

import pytest

import sysv_ipc

READ_ONLY = {
    "Semaphore": ["key", "id", "cuid", "cgid", "last_pid",
                  "waiting_for_nonzero", "waiting_for_zero", "o_time"],
    "SharedMemory": ["key", "id", "size", "address", "attached",
                     "last_attach_time", "last_detach_time",
                     "last_change_time", "creator_pid", "last_pid",
                     "number_attached", "cuid", "cgid"],
    "MessageQueue": ["key", "id", "current_messages", "last_send_time",
                     "last_receive_time", "last_change_time",
                     "last_send_pid", "last_receive_pid", "cuid", "cgid"],
    "SemaphoreSet": ["key", "id", "nsems", "cuid", "cgid", "o_time",
                     "last_change_time"],
}
WRITABLE = {
    "Semaphore": ["value", "undo", "block", "mode", "uid", "gid"],
    "SharedMemory": ["uid", "gid", "mode"],
    "MessageQueue": ["max_size", "uid", "gid", "mode"],
    "SemaphoreSet": ["values", "undo", "block", "mode", "uid", "gid"],
}


def make(made, cls):
    if cls == "Semaphore":
        return made.sem()
    if cls == "SharedMemory":
        return made.shm()
    if cls == "MessageQueue":
        return made.mq()
    return made.sem_set(2)


CLASSES = list(READ_ONLY)


@pytest.mark.parametrize("cls", CLASSES)
def test_attribute_sets_are_complete(cls):
    t = getattr(sysv_ipc, cls)
    descriptors = {n for n, v in vars(t).items()
                   if type(v).__name__ in ("getset_descriptor",
                                           "member_descriptor")}
    assert descriptors == set(READ_ONLY[cls]) | set(WRITABLE[cls])


def read_only_text(cls, name):
    """1.1.0's AttributeError text: `id` is a plain member there, every
    other read-only attribute a property."""
    if name == "id":
        return "readonly attribute"
    return "attribute '%s' of 'sysv_ipc.%s' objects is not writable" % (
        name, cls)


@pytest.mark.parametrize("cls", CLASSES)
def test_read_only_attributes_refuse_writes(made, cls):
    obj = make(made, cls)
    for name in READ_ONLY[cls]:
        before = getattr(obj, name)
        with pytest.raises(AttributeError) as raised:
            setattr(obj, name, before)
        assert str(raised.value) == read_only_text(cls, name)
        with pytest.raises(AttributeError) as raised:
            delattr(obj, name)
        assert str(raised.value) == read_only_text(cls, name)
        assert getattr(obj, name) == before


@pytest.mark.parametrize("cls", CLASSES)
def test_deleting_writable_attributes_raises(made, cls):
    # Fix #1: upstream dereferences NULL here.
    obj = make(made, cls)
    for name in WRITABLE[cls]:
        before = getattr(obj, name)
        with pytest.raises((TypeError, AttributeError)):
            delattr(obj, name)
        assert getattr(obj, name) == before


@pytest.mark.parametrize("cls", CLASSES)
def test_writable_attributes_round_trip(made, cls):
    obj = make(made, cls)
    obj.mode = 0o640
    assert obj.mode & 0o777 == 0o640
    obj.uid = 1234
    obj.gid = 4321
    assert (obj.uid, obj.gid) == (1234, 4321)
    assert (obj.cuid, obj.cgid) == (0, 0)  # the creator stays
    with pytest.raises(TypeError):
        obj.mode = "0o600"
    with pytest.raises(TypeError):
        obj.uid = 1.0
    with pytest.raises((ValueError, OverflowError)):
        obj.uid = -1
    with pytest.raises((ValueError, OverflowError)):
        obj.gid = 2**32
    assert (obj.uid, obj.gid) == (1234, 4321)


@pytest.mark.parametrize("cls", CLASSES)
def test_no_instance_dict(made, cls):
    obj = make(made, cls)
    assert not hasattr(obj, "__dict__")
    with pytest.raises(AttributeError):
        obj.something_new = 1


@pytest.mark.parametrize("cls", CLASSES)
def test_hash_is_identity(made, cls):
    a = make(made, cls)
    b = make(made, cls)
    assert hash(a) == object.__hash__(a)
    assert a == a and a != b
    assert len({a, b, a}) == 2
    same = getattr(sysv_ipc, cls)
    if cls == "SemaphoreSet":
        again = made(same(a.key, 0))
    else:
        again = made(same(a.key))
    assert again != a and again.id == a.id


@pytest.mark.parametrize("cls", CLASSES)
def test_subclassable(made, cls):
    base = getattr(sysv_ipc, cls)

    class Sub(base):
        extra = "class attribute"

        def __init__(self, *args, note=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.note = note

    if cls == "SemaphoreSet":
        obj = made(Sub(None, 2, sysv_ipc.IPC_CREX, note="n"))
    else:
        obj = made(Sub(None, sysv_ipc.IPC_CREX, note="n"))
    assert isinstance(obj, base) and type(obj) is Sub
    assert obj.note == "n" and obj.extra == "class attribute"
    assert obj.__dict__ == {"note": "n"}  # subclasses may have one
    assert obj.id >= 0 and 1 <= obj.key <= 32767
    # Errors raised for a subclass still find the module's exceptions.
    obj.remove()
    if cls == "SharedMemory":
        obj.detach()  # a removed segment lives while attached
    with pytest.raises(sysv_ipc.ExistentialError):
        obj.remove()


@pytest.mark.parametrize("cls", CLASSES)
def test_subclass_without_super_init_does_not_crash(cls):
    base = getattr(sysv_ipc, cls)

    class Lazy(base):
        def __init__(self):
            pass

    obj = Lazy()
    with pytest.raises((sysv_ipc.Error, ValueError, OSError)):
        obj.remove()
    str(obj)
    repr(obj)


@pytest.mark.parametrize("cls", CLASSES)
def test_types_are_immutable(cls):
    t = getattr(sysv_ipc, cls)
    with pytest.raises(TypeError):
        t.remove = None


@pytest.mark.parametrize("cls", CLASSES)
def test_objects_are_freed(made, cls):
    obj = make(made, cls)
    made.objects.remove(obj)
    obj.remove()
    t = getattr(sysv_ipc, cls)

    class Sub(t):
        pass

    if cls == "SemaphoreSet":
        sub = Sub(None, 1, sysv_ipc.IPC_CREX)
    else:
        sub = Sub(None, sysv_ipc.IPC_CREX)
    ref = weakref.ref(sub)
    sub.remove()
    del sub
    gc.collect()
    assert ref() is None


def test_str_and_repr(made):
    sem = made(sysv_ipc.Semaphore(4242, sysv_ipc.IPC_CREX))
    assert str(sem) == "Key=4242, id=%d" % sem.id
    assert repr(sem) == "sysv_ipc.Semaphore(4242)"
    shm = made(sysv_ipc.SharedMemory(4243, sysv_ipc.IPC_CREX))
    assert str(shm) == "Key=4243, id=%d" % shm.id
    assert repr(shm) == "sysv_ipc.SharedMemory(4243)"
    mq = made(sysv_ipc.MessageQueue(-4244, sysv_ipc.IPC_CREX))
    assert str(mq) == "Key=-4244, id=%d" % mq.id
    assert repr(mq) == "sysv_ipc.MessageQueue(-4244)"
    sset = made(sysv_ipc.SemaphoreSet(4245, 3, sysv_ipc.IPC_CREX))
    assert str(sset) == "Key=4245, id=%d, nsems=3" % sset.id
    assert repr(sset) == "sysv_ipc.SemaphoreSet(4245, 3)"


def test_not_picklable(made):
    import pickle
    sem = made.sem()
    with pytest.raises(TypeError):
        pickle.dumps(sem)
