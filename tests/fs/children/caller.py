"""A caller that runs a list of operations on files and reports, for each,
the result or the errno's name, as JSON.  As nobody, it is an unprivileged
user of an allow_other mount.

    caller.py JSON

JSON is a list of operations, each a list: ["open", name, path, flag],
["open_after_release", name, path, flag] (retries while EMFILE, up to
10 s), ["close", name], ["pwrite", name, text, offset], ["pread", name,
length, offset] (hex), ["truncate", path, size], ["echo", path, text]
(O_TRUNC and one write, as the shell), ["stat", path] (the size).  Prints
the list of results."""

import errno
import json
import os
import resource
import sys
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
out, fds = [], {}
for op in json.loads(sys.argv[1]):
    try:
        kind = op[0]
        if kind == "open":
            fds[op[1]] = os.open(op[2], getattr(os, op[3]))
            out.append("ok")
        elif kind == "open_after_release":
            # close() returns before the daemon sees the release: wait
            # for it (up to 10 s) while the open says EMFILE
            for _ in range(1000):
                try:
                    fds[op[1]] = os.open(op[2], getattr(os, op[3]))
                    break
                except OSError as e:
                    if e.errno != errno.EMFILE:
                        raise
                    time.sleep(0.01)
            else:
                raise OSError(errno.EMFILE, "still")
            out.append("ok")
        elif kind == "close":
            os.close(fds.pop(op[1]))
            out.append("ok")
        elif kind == "pwrite":
            out.append(os.pwrite(fds[op[1]], op[2].encode(), op[3]))
        elif kind == "pread":
            out.append(os.pread(fds[op[1]], op[2], op[3]).hex())
        elif kind == "truncate":
            os.truncate(op[1], op[2])
            out.append("ok")
        elif kind == "echo":  # open with O_TRUNC and write, as the shell
            fd = os.open(op[1], os.O_WRONLY | os.O_TRUNC)
            try:
                out.append(os.write(fd, op[2].encode()))
            finally:
                os.close(fd)
        elif kind == "stat":
            out.append(os.stat(op[1]).st_size)
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(json.dumps(out))
