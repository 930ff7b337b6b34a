"""One write(2) of a file, as a caller that may wait, then optionally its
close(2) (a message of a send file goes at close, and that may wait): the
raw calls, with no retry on EINTR, and a SIGUSR1 handler that does
nothing, so that SIGUSR1 interrupts the call instead of killing.

    writer.py PATH TEXT          one write: "WROTE <n>" or "ERR <errno>"
    writer.py PATH TEXT close    the write: "WROTE <n>" (-1 if it failed),
                                 then the close: "CLOSED" or "ERR <errno>"

Prints "READY" first, once PATH is open."""

import ctypes
import errno
import os
import signal
import sys

signal.signal(signal.SIGUSR1, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
libc.write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
libc.close.argtypes = [ctypes.c_int]
path, data = sys.argv[1], sys.argv[2].encode()
then_close = sys.argv[3:] == ["close"]
fd = os.open(path, os.O_WRONLY)
print("READY", flush=True)
n = libc.write(fd, data, len(data))
if then_close:
    print("WROTE", n, flush=True)
    if libc.close(fd) < 0:
        print("ERR", errno.errorcode[ctypes.get_errno()], flush=True)
    else:
        print("CLOSED", flush=True)
elif n < 0:
    print("ERR", errno.errorcode[ctypes.get_errno()], flush=True)
else:
    print("WROTE", n, flush=True)
