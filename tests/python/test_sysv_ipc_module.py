"""sysv_ipc: module names, constants, exceptions, signatures, the stub,
ftok/attach/remove_*, key ranges (fix #3) and random keys (fix #7)."""

import ast
import inspect
import os
import resource
import sys
import types
import warnings

import pytest

import sysv_ipc
from sysv_ipc_support import run_child

# ------------------------------------------------------------------- names

UPSTREAM_NAMES = {
    "attach", "ftok", "remove_semaphore", "remove_shared_memory",
    "remove_message_queue",
    "IPC_CREAT", "IPC_EXCL", "IPC_CREX", "IPC_PRIVATE", "KEY_MIN", "KEY_MAX",
    "SEMAPHORE_VALUE_MAX", "SEMAPHORE_TIMEOUT_SUPPORTED", "PAGE_SIZE",
    "SHM_RDONLY", "SHM_RND", "SHM_HUGETLB", "SHM_NORESERVE", "SHM_REMAP",
    "VERSION", "__version__", "__author__", "__license__", "__copyright__",
    "Error", "InternalError", "PermissionsError", "ExistentialError",
    "BusyError", "NotAttachedError",
    "Semaphore", "SharedMemory", "MessageQueue",
}
ADDED_NAMES = {"SemaphoreSet", "IPC_NOWAIT", "SEM_UNDO"}


def test_every_upstream_name_is_there():
    missing = UPSTREAM_NAMES - set(dir(sysv_ipc))
    assert not missing


def public_names():
    """The module's public names.  Submodules are left out: once imported
    (pytest imports sysv_ipc.pytest_plugin, the installed package's plugin)
    the import system sets them as attributes of the package; they are not
    the module's API, nor in its stub."""
    return {n for n in dir(sysv_ipc) if not n.startswith("_") and
            not isinstance(getattr(sysv_ipc, n), types.ModuleType)}


def test_only_documented_additions():
    public = public_names()
    extra = public - UPSTREAM_NAMES - ADDED_NAMES
    assert not extra


def test_constant_values():
    m = sysv_ipc
    assert (m.IPC_CREAT, m.IPC_EXCL, m.IPC_CREX, m.IPC_PRIVATE) == \
        (512, 1024, 1536, 0)
    assert m.IPC_CREX == m.IPC_CREAT | m.IPC_EXCL
    assert m.SEMAPHORE_VALUE_MAX == 32767
    assert m.SEMAPHORE_TIMEOUT_SUPPORTED is True
    assert m.PAGE_SIZE == resource.getpagesize()
    # The kernel's values (linux/shm.h).
    assert (m.SHM_RDONLY, m.SHM_RND, m.SHM_REMAP) == (0o10000, 0o20000,
                                                      0o40000)
    assert (m.SHM_HUGETLB, m.SHM_NORESERVE) == (0o4000, 0o10000)
    assert (m.IPC_NOWAIT, m.SEM_UNDO) == (0o4000, 0x1000)


def test_key_range_is_key_t():
    # Fix #3: key_t is a 32-bit int on Linux.
    assert sysv_ipc.KEY_MIN == -2**31
    assert sysv_ipc.KEY_MAX == 2**31 - 1


def test_version_strings():
    assert isinstance(sysv_ipc.VERSION, str)
    assert sysv_ipc.VERSION == sysv_ipc.__version__ == "1.1.0"
    for name in ("__author__", "__license__", "__copyright__"):
        value = getattr(sysv_ipc, name)
        assert isinstance(value, str) and value
        assert "Semanchuk" not in value


def test_exception_hierarchy():
    m = sysv_ipc
    assert issubclass(m.Error, Exception)
    assert m.Error.__bases__ == (Exception,)
    for name in ("InternalError", "PermissionsError", "ExistentialError",
                 "BusyError", "NotAttachedError"):
        exc = getattr(m, name)
        assert exc.__bases__ == (m.Error,), name
        assert exc.__module__ == "sysv_ipc"
        assert exc.__name__ == name
        assert exc.__doc__
    assert m.Error.__module__ == "sysv_ipc"


def test_types_have_dotted_names():
    for name in ("Semaphore", "SemaphoreSet", "SharedMemory", "MessageQueue"):
        cls = getattr(sysv_ipc, name)
        assert cls.__module__ == "sysv_ipc"
        assert cls.__name__ == cls.__qualname__ == name
        assert repr(cls) == "<class 'sysv_ipc.%s'>" % name


# -------------------------------------------------------------- signatures

SIGNATURES = {
    sysv_ipc.attach: "(id, address=None, flags=0)",
    sysv_ipc.ftok: "(path, id, silence_warning=False)",
    sysv_ipc.remove_semaphore: "(id, /)",
    sysv_ipc.remove_shared_memory: "(id, /)",
    sysv_ipc.remove_message_queue: "(id, /)",
    sysv_ipc.Semaphore: "(key, flags=0, mode=384, initial_value=0)",
    sysv_ipc.SharedMemory:
        "(key, flags=0, mode=384, size=0, init_character=b' ')",
    sysv_ipc.MessageQueue: "(key, flags=0, mode=384, max_message_size=2048)",
    sysv_ipc.SemaphoreSet:
        "(key, nsems, flags=0, mode=384, initial_values=None)",
}
METHOD_SIGNATURES = {
    "Semaphore": {
        "acquire": "(timeout=None, delta=1)",
        "P": "(timeout=None, delta=1)",
        "release": "(delta=1)",
        "V": "(delta=1)",
        "Z": "(timeout=None)",
        "remove": "()",
        "__enter__": "()",
        "__exit__": "(*args)",
    },
    "SharedMemory": {
        "attach": "(address=None, flags=0)",
        "detach": "()",
        "read": "(byte_count=0, offset=0)",
        "write": "(s, offset=0)",
        "remove": "()",
    },
    "MessageQueue": {
        "send": "(message, block=True, type=1)",
        "receive": "(block=True, type=0)",
        "remove": "()",
    },
    "SemaphoreSet": {
        "acquire": "(num, timeout=None, delta=1)",
        "release": "(num, delta=1)",
        "Z": "(num, timeout=None)",
        "operate": "(operations, timeout=None, block=True, undo=False)",
        "get_value": "(num, /)",
        "set_value": "(num, value)",
        "get_last_pid": "(num, /)",
        "get_waiting_for_nonzero": "(num, /)",
        "get_waiting_for_zero": "(num, /)",
        "remove": "()",
    },
}


@pytest.mark.parametrize("func", list(SIGNATURES), ids=lambda f: f.__name__)
def test_signature_of_functions_and_classes(func):
    assert str(inspect.signature(func)) == SIGNATURES[func]
    assert func.__doc__


@pytest.mark.parametrize("cls,name", [
    (c, n) for c, ms in METHOD_SIGNATURES.items() for n in ms])
def test_signature_of_methods(cls, name):
    method = getattr(getattr(sysv_ipc, cls), name)
    rest = METHOD_SIGNATURES[cls][name]
    if "/" in rest:
        expected = "(self, " + rest[1:]
    elif rest == "()":
        expected = "(self, /)"
    else:
        expected = "(self, /, " + rest[1:]
    assert str(inspect.signature(method)) == expected
    assert method.__doc__ and "--" not in method.__doc__.splitlines()[0]


def test_every_method_has_a_checked_signature():
    for cls_name, methods in METHOD_SIGNATURES.items():
        cls = getattr(sysv_ipc, cls_name)
        public = {n for n, v in vars(cls).items()
                  if callable(v) and (not n.startswith("_")
                                      or n in ("__enter__", "__exit__"))}
        assert public == set(methods), cls_name


def test_signatures_bind_like_the_calls():
    sig = inspect.signature(sysv_ipc.Semaphore.acquire)
    bound = sig.bind(object(), 0.5)
    assert bound.arguments["timeout"] == 0.5
    with pytest.raises(TypeError):
        sig.bind(object(), 1, 2, 3)


def test_keywords_work_where_signatures_say(made):
    sem = made(sysv_ipc.Semaphore(key=None, flags=sysv_ipc.IPC_CREX,
                                  mode=0o600, initial_value=2))
    sem.acquire(timeout=0, delta=2)
    sem.release(delta=1)
    sem.Z  # attribute exists
    assert sem.value == 1
    with pytest.raises(TypeError, match="unexpected keyword"):
        sem.acquire(timeot=1)
    with pytest.raises(TypeError, match="given by name"):
        sem.acquire(1, timeout=1)
    with pytest.raises(TypeError, match="at most"):
        sem.acquire(1, 1, 1)
    with pytest.raises(TypeError):
        sysv_ipc.remove_semaphore(id=sem.id)


# --------------------------------------------------------------------- stub

# Beside the module: build/python/sysv_ipc.pyi, or __init__.pyi in an
# installed copy (the package sysv_ipc/).
STUB = os.path.join(
    os.path.dirname(sysv_ipc.__file__),
    os.path.basename(sysv_ipc.__file__).split(".")[0] + ".pyi")


def test_stub_ships_beside_the_module():
    assert os.path.isfile(STUB)


def test_stub_names_match_the_module():
    with open(STUB) as f:
        tree = ast.parse(f.read())
    names = set()
    classes = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            classes[node.name] = {n.name for n in node.body
                                  if isinstance(n, ast.FunctionDef)}
        if isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets)
    public = public_names()
    assert public <= names
    for cls_name, methods in METHOD_SIGNATURES.items():
        assert set(methods) <= classes[cls_name], cls_name


def test_stub_signatures_match_inspect():
    with open(STUB) as f:
        tree = ast.parse(f.read())
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for func in (sysv_ipc.attach, sysv_ipc.ftok, sysv_ipc.remove_semaphore):
        stub_args = [a.arg for a in funcs[func.__name__].args.posonlyargs +
                     funcs[func.__name__].args.args]
        assert stub_args == list(inspect.signature(func).parameters)


# --------------------------------------------------------------------- ftok


def test_ftok_warns_unless_silenced(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key = sysv_ipc.ftok(str(tmp_path), 42)
    assert len(caught) == 1 and caught[0].category is Warning
    assert "ftok" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sysv_ipc.ftok(str(tmp_path), 42, silence_warning=True) == key
        assert sysv_ipc.ftok(path=str(tmp_path), id=42,
                             silence_warning=True) == key


def test_ftok_is_ftok(tmp_path):
    st = os.stat(tmp_path)
    expected = ((42 & 0xff) << 24) | ((st.st_dev & 0xff) << 16) | \
        (st.st_ino & 0xffff)
    if expected >= 2**31:
        expected -= 2**32
    assert sysv_ipc.ftok(str(tmp_path), 42, True) == expected


def test_ftok_missing_path_is_oserror(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(OSError) as info:
        sysv_ipc.ftok(missing, 1, True)
    assert info.value.errno == 2
    assert info.value.filename == missing


# ------------------------------------------------------ attach and remove_*


def test_attach_by_id_has_the_real_key(made):
    # Fix #2.
    shm = made.shm(size=64)
    other = sysv_ipc.attach(shm.id)
    assert other.key == shm.key
    assert other.id == shm.id
    assert str(other) == "Key=%d, id=%d" % (shm.key, shm.id)
    assert repr(other) == "sysv_ipc.SharedMemory(%d)" % shm.key
    assert other.attached and other.size == 64
    shm.write(b"hello")
    assert other.read(5) == b"hello"
    assert shm.number_attached == 2


def test_attach_read_only_and_keywords(made):
    shm = made.shm(size=16)
    ro = sysv_ipc.attach(id=shm.id, address=None, flags=sysv_ipc.SHM_RDONLY)
    assert ro.key == shm.key
    with pytest.raises(OSError):
        ro.write(b"x")
    assert memoryview(ro).readonly


def test_attach_missing_id(made):
    shm = made.shm()
    ident = shm.id
    shm.remove()
    shm.detach()
    with pytest.raises(sysv_ipc.ExistentialError):
        sysv_ipc.attach(ident)


@pytest.mark.parametrize("kind", ["semaphore", "shared_memory",
                                  "message_queue"])
def test_remove_by_id(made, kind):
    make = {"semaphore": made.sem, "shared_memory": made.shm,
            "message_queue": made.mq}[kind]
    obj = make()
    getattr(sysv_ipc, "remove_" + kind)(obj.id)
    if kind == "shared_memory":
        obj.detach()
    with pytest.raises(sysv_ipc.ExistentialError):
        getattr(sysv_ipc, "remove_" + kind)(obj.id)


def test_remove_by_id_checks_its_argument():
    with pytest.raises(TypeError):
        sysv_ipc.remove_semaphore("1")
    with pytest.raises(OverflowError):
        sysv_ipc.remove_semaphore(2**40)


# ------------------------------------------------------------ keys (fix #3)

CLASSES = {
    "Semaphore": lambda key, flags=sysv_ipc.IPC_CREX:
        sysv_ipc.Semaphore(key, flags),
    "SharedMemory": lambda key, flags=sysv_ipc.IPC_CREX:
        sysv_ipc.SharedMemory(key, flags),
    "MessageQueue": lambda key, flags=sysv_ipc.IPC_CREX:
        sysv_ipc.MessageQueue(key, flags),
    "SemaphoreSet": lambda key, flags=sysv_ipc.IPC_CREX:
        sysv_ipc.SemaphoreSet(key, 1, flags),
}


@pytest.mark.parametrize("cls", list(CLASSES))
@pytest.mark.parametrize("key", [2**31, -2**31 - 1, 2**32 + 5, 2**64, -2**70])
def test_keys_outside_key_t_are_refused(cls, key):
    with pytest.raises((ValueError, OverflowError)):
        CLASSES[cls](key)
    assert all(not open("/proc/sysvipc/" + k).readlines()[1:]
               for k in ("sem", "shm", "msg"))


@pytest.mark.parametrize("cls", list(CLASSES))
@pytest.mark.parametrize("key", [2**31 - 1, -2**31, 1, -1])
def test_keys_at_the_edges_of_key_t_work(made, cls, key):
    obj = made(CLASSES[cls](key))
    assert obj.key == key
    assert str(obj).startswith("Key=%d, id=" % key)


@pytest.mark.parametrize("cls", list(CLASSES))
def test_key_must_be_int_or_none(cls):
    for bad in (1.5, "1", b"1", [1]):
        with pytest.raises(TypeError):
            CLASSES[cls](bad)


@pytest.mark.parametrize("cls", list(CLASSES))
def test_key_none_needs_ipc_excl(cls):
    with pytest.raises(ValueError):
        CLASSES[cls](None, sysv_ipc.IPC_CREAT)
    with pytest.raises(ValueError):
        CLASSES[cls](None, 0)


@pytest.mark.parametrize("cls", list(CLASSES))
def test_ipc_excl_needs_ipc_creat(cls):
    with pytest.raises(ValueError):
        CLASSES[cls](1234, sysv_ipc.IPC_EXCL)


@pytest.mark.parametrize("cls", list(CLASSES))
def test_private_key(made, cls):
    a = made(CLASSES[cls](sysv_ipc.IPC_PRIVATE))
    b = made(CLASSES[cls](sysv_ipc.IPC_PRIVATE))
    assert a.key == b.key == 0 and a.id != b.id


# ------------------------------------------------------ random keys (fix #7)


@pytest.mark.parametrize("cls", list(CLASSES))
def test_random_keys_are_in_range_and_fresh(made, cls):
    objs = [made(CLASSES[cls](None)) for _ in range(20)]
    keys = [o.key for o in objs]
    assert all(1 <= k <= 32767 for k in keys)
    assert len(set(keys)) == len(keys)


def test_random_keys_differ_between_processes():
    # Upstream seeds nothing, so every process draws the same first key.
    code = """
        s = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
        print(s.key)
        s.remove()
    """
    keys = set()
    for _ in range(6):
        done = run_child(code)
        assert done.returncode == 0, done.stderr
        keys.add(int(done.stdout))
    # Six draws from 32767 keys: all equal only if they are not random.
    assert len(keys) >= 3


def test_random_key_skips_keys_in_use(made):
    # A key in use is never handed out again while its object exists.
    taken = {made.sem().key for _ in range(200)}
    assert len(taken) == 200


def test_module_reimport_in_a_fresh_interpreter_works():
    done = run_child("""
        import importlib
        print(sysv_ipc.Semaphore.__module__, sysv_ipc.KEY_MAX)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["sysv_ipc", str(2**31 - 1)]
    assert sys.modules["sysv_ipc"] is sysv_ipc


def test_ftok_accepts_bytes_and_path_like(tmp_path):
    key = sysv_ipc.ftok(str(tmp_path), 7, True)
    assert sysv_ipc.ftok(tmp_path, 7, True) == key
    assert sysv_ipc.ftok(os.fsencode(str(tmp_path)), 7, True) == key
    with pytest.raises(TypeError):
        sysv_ipc.ftok(7, 7, True)
