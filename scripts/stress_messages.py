"""The messages of scripts/stress.py: each names its id, the queue it was
sent to and its type, with a padding derived from its id, so that the
accounting can tell where it came from and that it came out intact; and
the log lines that record one received."""

import re


def pad_for(msgid, n):
    h = sum(msgid.encode()) % 26
    return bytes(97 + (h + i) % 26 for i in range(n))


def make_msg(msgid, qid, mtype, n):
    return b"M|%s|%d|%d|%d|%s|" % (msgid.encode(), qid, mtype, n,
                                   pad_for(msgid, n))


MSG_RE = re.compile(rb"M\|([0-9a-z.]+)\|(-?\d+)\|(\d+)\|(\d+)\|([a-z]*)\|")


def parse_msg(data):
    """(msgid, qid, type, intact) of a received message, or None."""
    m = MSG_RE.fullmatch(data)
    if not m:
        return None
    msgid = m.group(1).decode()
    n = int(m.group(4))
    return (msgid, int(m.group(2)), int(m.group(3)),
            m.group(5) == pad_for(msgid, n))


def log_msg_line(tag, seq, data):
    """A G/D/L/H line: the message itself, hex-encoded if it is not ours."""
    p = parse_msg(data)
    if p:
        return "%s %s %s %d %d %d\n" % (tag, seq, p[0], p[1], p[2], p[3])
    return "%s %s BAD %s\n" % (tag, seq, data[:120].hex())
