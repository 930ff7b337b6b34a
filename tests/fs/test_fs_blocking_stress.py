"""A randomised mix of blocked receivers, senders on a nearly full queue,
P-ers, V's and polls, with callers killed (SIGKILL) or interrupted (a
handled signal) at random moments, and exact accounting at the end: every
message whose send succeeded was received exactly once (into a shared page,
so that even a reader killed right after its read counts) or is still
queued, no interrupted send sent anything, and the semaphore's value is
within what the P-ers can explain (fs/waiter.c, sem_wait.c, mq_wait.c)."""

import ctypes
import mmap
import os
import random
import select
import signal
import time

import pytest

import ipc_raw as raw

KEY = 4545
SEMKEY = 4646
SLOT = 32
DURATION = float(os.environ.get("IPCFS_STRESS_SECONDS", "6"))
MIN_CALLERS = 300

libc = raw.libc


def _child(mm, kind, slot, path, payload):
    """A caller: a receiver reads into its slot of the shared map; a sender
    or P-er writes payload and notes in its slot whether the write (and,
    for a send, the close that sends it) succeeded (S) or was interrupted
    (I).  SIGUSR1 interrupts without
    killing."""
    # SIGUSR1 stays blocked until the child's handler is there, so that it
    # never kills the child.
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return pid
    code = 9
    try:
        signal.signal(signal.SIGUSR1, lambda *a: None)
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        if kind == "recv":
            fd = os.open(path, os.O_RDONLY)
            buf = (ctypes.c_char * SLOT).from_buffer(mm, slot * SLOT)
            code = 0 if libc.read(fd, buf, SLOT) >= 0 else 5
        else:
            fd = os.open(path, os.O_WRONLY)
            n = libc.write(fd, payload, len(payload))
            if kind == "send":  # the message goes (or waits) at close
                n = n if libc.close(fd) == 0 else -1
            mm[slot * SLOT:slot * SLOT + 1] = \
                b"S" if n == len(payload) else b"I"
            code = 0
    finally:
        os._exit(code)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_mix_loses_nothing(ipcfs_mount, seed):
    mount = ipcfs_mount
    msq = raw.create("mq", KEY, 0o666)
    semid = raw.create("sem", SEMKEY, 0o666)
    raw.msq_set_qbytes(msq, 64)  # eight 8-byte messages: senders wait
    paths = {
        "recv": str(mount.path / "mq" / str(KEY) / "receive"),
        "send": str(mount.path / "mq" / str(KEY) / "send"),
        "p": str(mount.path / "sem" / str(SEMKEY) / "op"),
    }
    rng = random.Random(seed)
    kinds = (["recv", "recv", "send", "p"] if seed % 2
             else ["recv", "send", "send", "send", "p"])
    nslots = 20000
    mm = mmap.mmap(-1, nslots * SLOT)
    live = {}      # pid -> [kind, slot, killed]
    sends = {}     # slot -> payload
    p_results = []  # (slot, killed)
    v_total = 0
    used = 0

    def reap(block):
        while live:
            try:
                pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            kind, slot, killed = live.pop(pid)
            if kind == "p":
                p_results.append((slot, os.WIFSIGNALED(status)))

    # DURATION, and on until MIN_CALLERS callers were started: a loaded
    # machine forks slowly, and the mix is under test, not the rate (the
    # counts asserted at the end need enough callers).
    deadline = time.monotonic() + DURATION
    give_up = deadline + 200  # within pytest.ini's 300 s
    while used < nslots and time.monotonic() < give_up and \
            (time.monotonic() < deadline or used < MIN_CALLERS):
        r = rng.random()
        if r < 0.45 and len(live) < 40:
            kind = rng.choice(kinds)
            slot = used
            used += 1
            payload = b"m%07d" % slot if kind == "send" else b"-1"
            if kind == "send":
                sends[slot] = payload
            pid = _child(mm, kind, slot, paths[kind], payload)
            live[pid] = [kind, slot, False]
        elif r < 0.6 and live:
            pid = rng.choice(list(live))
            kind = live[pid][0]
            # Senders are only interrupted: a killed sender could not
            # tell whether its write went through.
            kill = kind != "send" and rng.random() < 0.6
            try:
                os.kill(pid, signal.SIGKILL if kill else signal.SIGUSR1)
            except ProcessLookupError:
                pass
        elif r < 0.7:
            raw.sem_op(semid, 1)
            v_total += 1
        elif r < 0.75:
            fd = os.open(paths["recv"], os.O_RDONLY | os.O_NONBLOCK)
            select.select([fd], [], [], 0.002)
            os.close(fd)
        reap(False)
        time.sleep(rng.random() * 0.003)

    # Interrupt whatever still waits; a signal that lands just before a
    # call starts is not an interrupt, so repeat.
    end = time.monotonic() + 60
    while live and time.monotonic() < end:
        for pid in list(live):
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
        reap(False)
    assert not live, "callers still waiting: %r" % list(live.values())[:5]

    def mark(slot):
        return mm[slot * SLOT:slot * SLOT + 1]

    sent_ok = {p for slot, p in sends.items() if mark(slot) == b"S"}
    assert all(mark(slot) in (b"S", b"I") for slot in sends)
    delivered = [bytes(mm[i * SLOT:(i + 1) * SLOT]).rstrip(b"\0")
                 for i in range(used) if i not in sends]
    delivered = [d for d in delivered if d.startswith(b"m")]
    left = []
    while True:
        try:
            left.append(raw.msg_receive(msq)[1])
        except OSError:
            break
    got = delivered + left
    assert len(got) == len(set(got)), "a message was received twice"
    assert set(got) == sent_ok, (
        "lost: %r, never sent: %r" % (sorted(sent_ok - set(got))[:5],
                                      sorted(set(got) - sent_ok)[:5]))
    p_ok = sum(1 for slot, killed in p_results
               if not killed and mark(slot) == b"S")
    p_killed = sum(1 for _, killed in p_results if killed)
    value = raw.sem_get_value(semid)
    # A P-er killed just after its P succeeded took its unit: the value is
    # at most what the others leave, and at least that minus the killed.
    assert v_total - p_ok - p_killed <= value <= v_total - p_ok
    assert raw.sem_waiting_for_nonzero(semid) == 0
    print("callers %d: sends %d ok, %d interrupted; %d delivered, %d left;"
          " V %d, P %d ok, %d killed, value %d"
          % (used, len(sent_ok), len(sends) - len(sent_ok), len(delivered),
             len(left), v_total, p_ok, p_killed, value))
    assert used > 200 and len(sent_ok) > 20 and p_ok > 20, \
        (used, len(sent_ok), p_ok)
    mm.close()
