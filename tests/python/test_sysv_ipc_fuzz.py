"""sysv_ipc: hostile arguments for every callable, with Hypothesis.

Every method, setter, constructor and module function gets random
arguments: ints of any size and sign, floats, None, strings, bytes, wrong
types, objects whose __index__ or __bool__ raises or runs code that
changes a list, generators.  Each call either works or raises a normal
exception: never a crash, never SystemError.

A call that would wait (acquire, receive, send on a full queue) is cut
short by a SIGUSR1 that a watchdog thread sends after 20 ms, whose
handler raises (PEP 475 lets it through).  Not SIGALRM, whose timer
pytest-timeout uses.

The number of examples is a settings profile: "default" keeps the normal
suite fast; IPCFS_HYPOTHESIS_PROFILE=long runs many more, e.g.

    IPCFS_HYPOTHESIS_PROFILE=long scripts/test -k fuzz
"""

import inspect
import os
import signal
import threading
import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import sysv_ipc  # noqa: E402

settings.register_profile(
    "default", max_examples=30, deadline=None, database=None,
    suppress_health_check=list(HealthCheck))
settings.register_profile(
    "long", max_examples=3000, deadline=None, database=None,
    suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("IPCFS_HYPOTHESIS_PROFILE", "default"))

CREX = sysv_ipc.IPC_CREX


# ------------------------------------------------------------ the values

class Timeout(Exception):
    """Raised by the SIGALRM handler: a call waited."""


class RaisingIndex:
    def __index__(self):
        raise RuntimeError("__index__ raised")

    def __repr__(self):
        return "RaisingIndex()"


class RaisingBool:
    def __bool__(self):
        raise RuntimeError("__bool__ raised")

    def __repr__(self):
        return "RaisingBool()"


class Index:
    """Converts to value, after running action (which may be None)."""

    def __init__(self, value, action=None):
        self.value, self.action = value, action

    def __index__(self):
        if self.action:
            self.action()
        return self.value

    def __repr__(self):
        return "Index(%r)" % self.value


EDGES = [0, 1, -1, 2, 255, 256, 32767, 32768, -32768, -32769, 65535, 65536,
         2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**32, 2**63 - 1, 2**63,
         -2**63, -2**63 - 1, 2**64, 2**100, -2**100, sysv_ipc.PAGE_SIZE,
         CREX, sysv_ipc.IPC_CREAT, sysv_ipc.IPC_NOWAIT, sysv_ipc.SEM_UNDO,
         sysv_ipc.SHM_RDONLY, sysv_ipc.SHM_RND]

scalars = st.one_of(
    st.sampled_from(EDGES),
    st.integers(),
    st.integers(min_value=-8, max_value=4100),
    st.floats(),
    st.none(),
    st.booleans(),
    st.text(max_size=12),
    st.binary(max_size=64),
    st.binary(max_size=64).map(bytearray),
    st.binary(max_size=64).map(memoryview),
    st.builds(Index, st.integers(min_value=-3, max_value=70000)),
    st.builds(RaisingIndex),
    st.builds(RaisingBool),
    st.builds(object),
    st.just(2.5), st.just(float("nan")), st.just(float("inf")),
    st.just(-0.5),
)


def generator_of(xs):
    return (x for x in xs)


values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.lists(inner, max_size=5).map(generator_of)),
    max_leaves=10)


# ----------------------------------------------------------- the objects

def fresh_objects():
    sem = sysv_ipc.Semaphore(None, CREX, initial_value=1)
    sset = sysv_ipc.SemaphoreSet(None, 3, CREX, initial_values=1)
    shm = sysv_ipc.SharedMemory(None, CREX, size=8192)
    mq = sysv_ipc.MessageQueue(None, CREX, max_message_size=4096)
    mq.send(b"hello")
    return [sem, sset, shm, mq]


def remove_all(objs):
    for o in objs:
        try:
            o.remove()
        except sysv_ipc.Error:
            pass


def method_names(cls):
    names = []
    for name, attr in vars(cls).items():
        if callable(attr) and (not name.startswith("_") or name in (
                "__enter__", "__exit__", "__init__", "__getitem__",
                "__setitem__", "__delitem__")):
            names.append(name)
    return sorted(names)


def setter_names(cls):
    return sorted(name for name, attr in vars(cls).items()
                  if inspect.isgetsetdescriptor(attr)
                  or inspect.ismemberdescriptor(attr))


CLASSES = [sysv_ipc.Semaphore, sysv_ipc.SemaphoreSet, sysv_ipc.SharedMemory,
           sysv_ipc.MessageQueue]
METHODS = [(i, name) for i, cls in enumerate(CLASSES)
           for name in method_names(cls) if name != "remove"]
SETTERS = [(i, name) for i, cls in enumerate(CLASSES)
           for name in setter_names(cls)]

# Arguments that would do harm on purpose, not by mistake: SHM_REMAP
# replaces whatever is mapped at an address (the interpreter's heap),
# and a segment made with IPC_CREX is filled whole (a huge one fills
# memory).
SHM_REMAP = sysv_ipc.SHM_REMAP


def harmless(name, args, kwargs):
    everything = list(args) + list(kwargs.values())
    if name in ("attach", "__init__", "SharedMemory") and any(
            isinstance(a, int) and not isinstance(a, bool)
            and a >= 0 and a & SHM_REMAP for a in everything):
        return False
    if name in ("__init__", "SharedMemory") and any(
            isinstance(a, int) and abs(a) > 1 << 24 for a in everything):
        return False
    return True


# ------------------------------------------------------------- the calls

class Watchdog:
    """Sends SIGUSR1 to the main thread when a call outlasts its time."""

    def __init__(self):
        self.cond = threading.Condition()
        self.deadline = None
        self.main = threading.main_thread().ident
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        with self.cond:
            while True:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                # Again every 20 ms until disarmed: a signal taken by an
                # inner call must not leave the outer one waiting.
                self.deadline = time.monotonic() + 0.02
                signal.pthread_kill(self.main, signal.SIGUSR1)

    def arm(self, seconds):
        """Returns the deadline it replaces, for disarm()."""
        with self.cond:
            previous = self.deadline
            self.deadline = time.monotonic() + seconds
            if previous is not None:  # a call within a call
                self.deadline = min(self.deadline, previous)
            self.cond.notify()
            return previous

    def disarm(self, previous):
        with self.cond:
            self.deadline = previous
            self.cond.notify()


watchdog = Watchdog()


def on_alarm(signum, frame):
    """Interrupts the call being run, never the harness: a Timeout raised
    while call_safely() arms or disarms the watchdog would leave it armed,
    firing every 20 ms at whatever the test or pytest does next."""
    if frame is not None and (frame.f_code in HARNESS_FRAMES or any(
            f.f_code in WATCHDOG_FRAMES for f in outer_frames(frame))):
        return
    raise Timeout()


def outer_frames(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


@pytest.fixture(autouse=True)
def _alarm_handler():
    old = signal.signal(signal.SIGUSR1, on_alarm)
    yield
    signal.signal(signal.SIGUSR1, old)


def let_handlers_run():
    """A Python call: a signal that came meanwhile is handled here."""


def call_safely(f):
    """Runs f(); a normal exception is fine, SystemError is not."""
    previous = watchdog.arm(0.02)
    try:
        f()
    except SystemError:
        raise
    except Exception:
        pass
    finally:
        watchdog.disarm(previous)
        # A signal sent just before disarm() is taken here (and ignored),
        # not later in the test.
        let_handlers_run()


# Where on_alarm() does not raise: in these functions' own frames, and
# anywhere below the watchdog's arm() and disarm().
HARNESS_FRAMES = {call_safely.__code__, let_handlers_run.__code__}
WATCHDOG_FRAMES = {Watchdog.arm.__code__, Watchdog.disarm.__code__}


keywords = st.sampled_from([
    "timeout", "delta", "num", "block", "type", "offset", "byte_count",
    "s", "message", "address", "flags", "operations", "undo", "value",
    "key", "mode", "size", "initial_value", "initial_values", "nsems",
    "max_message_size", "init_character", "nope", "id", "path",
    "silence_warning"])


@given(which=st.sampled_from(METHODS),
       args=st.lists(values, max_size=4),
       kwargs=st.dictionaries(keywords, values, max_size=2),
       mutate=st.booleans())
def test_methods_take_hostile_arguments(which, args, kwargs, mutate):
    objs = fresh_objects()
    try:
        obj = objs[which[0]]
        name = which[1]
        if not harmless(name, args, kwargs):
            return
        if mutate:
            # An argument whose conversion detaches, removes or re-makes
            # the object in the middle of the call.
            actions = [obj.remove, lambda: call_safely(
                lambda: obj.__init__(objs[which[0]].key))]
            if isinstance(obj, sysv_ipc.SharedMemory):
                actions.append(lambda: call_safely(obj.detach))
            args = [Index(a if isinstance(a, int) else 0,
                          actions[i % len(actions)])
                    if not isinstance(a, (list, tuple)) else a
                    for i, a in enumerate(args)]
        call_safely(lambda: getattr(obj, name)(*args, **kwargs))
    finally:
        remove_all(objs)


@given(which=st.sampled_from(SETTERS), value=values, delete=st.booleans())
def test_setters_take_hostile_values(which, value, delete):
    objs = fresh_objects()
    try:
        obj = objs[which[0]]
        if delete:
            call_safely(lambda: delattr(obj, which[1]))
        else:
            call_safely(lambda: setattr(obj, which[1], value))
        call_safely(lambda: getattr(obj, which[1]))
    finally:
        remove_all(objs)


@given(cls=st.sampled_from(CLASSES), args=st.lists(values, max_size=5),
       kwargs=st.dictionaries(keywords, values, max_size=2))
def test_constructors_take_hostile_arguments(cls, args, kwargs):
    if not harmless(cls.__name__, args, kwargs):
        return
    made = []

    def construct():
        made.append(cls(*args, **kwargs))
    try:
        call_safely(construct)
        # A handle made but not initialised works or raises too.
        bare = cls.__new__(cls)
        for name in method_names(cls):
            if name != "__init__":
                call_safely(lambda: getattr(bare, name)())
        for name in setter_names(cls):
            call_safely(lambda: getattr(bare, name))
        call_safely(lambda: (str(bare), repr(bare), bytes(memoryview(bare))))
    finally:
        remove_all(made)


FUNCTIONS = ["attach", "ftok", "remove_semaphore", "remove_shared_memory",
             "remove_message_queue"]


@given(name=st.sampled_from(FUNCTIONS), args=st.lists(values, max_size=4),
       kwargs=st.dictionaries(keywords, values, max_size=2))
def test_module_functions_take_hostile_arguments(name, args, kwargs):
    if not harmless(name, args, kwargs):
        return
    objs = fresh_objects()
    try:
        if name == "attach" and args and isinstance(args[0], int):
            args[0] = objs[2].id if args[0] % 2 else args[0]
        call_safely(lambda: getattr(sysv_ipc, name)(*args, **kwargs))
    finally:
        remove_all(objs)
