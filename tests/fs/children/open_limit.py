"""A user at its limit of open message files (-o max_files_per_user=8):
holds 4 receive and 4 send files of queue 880 open, tries one more of
each, then closes one and opens again.

    open_limit.py MOUNT

Prints a line per extra open ("opened <name>" or "<ERRNO> <name>"), then
"after close: ok", and keeps its files open until stdin ends."""

import errno
import os
import sys

m = sys.argv[1]
fds = [os.open(m + "/mq/880/receive", os.O_RDONLY | os.O_NONBLOCK)
       for _ in range(4)]
fds += [os.open(m + "/mq/880/send", os.O_WRONLY) for _ in range(4)]
for name in ("receive", "send"):
    try:
        os.open(m + "/mq/880/" + name, os.O_RDONLY if name == "receive"
                else os.O_WRONLY)
        print("opened", name)
    except OSError as e:
        print(errno.errorcode[e.errno], name)
os.close(fds.pop())
os.close(os.open(m + "/mq/880/send", os.O_WRONLY))
print("after close: ok", flush=True)
sys.stdin.readline()
