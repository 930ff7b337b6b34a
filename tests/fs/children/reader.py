"""One read(2) of a file, as a caller that may wait: the raw call, with no
retry on EINTR (Python's os.read would retry), and a SIGUSR1 handler that
does nothing, so that SIGUSR1 interrupts the read instead of killing.

    reader.py PATH SIZE

Prints "READY" once PATH is open, then "DATA <hex of what was read>" or
"ERR <errno name>"."""

import ctypes
import errno
import os
import signal
import sys

signal.signal(signal.SIGUSR1, lambda *a: None)
libc = ctypes.CDLL(None, use_errno=True)
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.read.restype = ctypes.c_ssize_t
fd = os.open(sys.argv[1], os.O_RDONLY)
buf = ctypes.create_string_buffer(int(sys.argv[2]))
print("READY", flush=True)
n = libc.read(fd, buf, len(buf))
if n < 0:
    print("ERR", errno.errorcode[ctypes.get_errno()], flush=True)
else:
    print("DATA", buf.raw[:n].hex(), flush=True)
