"""Opens files of a mount, waits for a line on stdin, then tries every
call on each open file and reports the errno of each (0: done).

    descriptor_user.py MOUNT NAME...

NAMEs are paths under MOUNT: directories are opened O_DIRECTORY (the call
tried is an openat of "value" in it), op and send files O_WRONLY |
O_NONBLOCK, receive files O_RDONLY | O_NONBLOCK, others O_RDWR.  Prints
"ready" once all are open, then, after the line, one JSON object
{"<call> <name>": errno}."""

import json
import os
import sys

m, names = sys.argv[1], sys.argv[2:]
fds = {}
for name in names:
    path = os.path.join(m, name)
    if os.path.isdir(path):
        fds[name] = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    elif name.endswith(("op", "send")):
        fds[name] = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    elif name.endswith("receive"):
        fds[name] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    else:
        fds[name] = os.open(path, os.O_RDWR)
print("ready", flush=True)
sys.stdin.readline()
res = {}


def attempt(what, fn):
    try:
        fn()
        res[what] = 0
    except OSError as e:
        res[what] = e.errno


for name, fd in fds.items():
    if name.endswith("value"):
        attempt("read " + name, lambda: os.pread(fd, 32, 0))
        attempt("write " + name, lambda: os.pwrite(fd, b"7", 0))
    elif name.endswith("op"):
        attempt("write " + name, lambda: os.write(fd, b"1"))
    elif name.endswith("send"):
        attempt("write " + name, lambda: os.write(fd, b"x"))
    elif name.endswith("receive"):
        attempt("read " + name, lambda: os.read(fd, 8192))
    else:
        attempt("openat " + name, lambda: os.close(
            os.open("value", os.O_RDONLY, dir_fd=fd)))
print(json.dumps(res), flush=True)
