"""An unprivileged client of a segment's data file: tries to open it
read-write, then maps it read-only and shows its first 5 bytes, before and
after the owner stores again (a line on stdin).

    mmap_client.py PATH SIZE

Prints "rw-open" or "rw-denied", then the 5 bytes, twice."""

import mmap
import os
import sys

path, size = sys.argv[1], int(sys.argv[2])
try:
    os.open(path, os.O_RDWR)
    print("rw-open", flush=True)
except PermissionError:
    print("rw-denied", flush=True)
fd = os.open(path, os.O_RDONLY)
m = mmap.mmap(fd, size, prot=mmap.PROT_READ)
print(m[0:5].decode(), flush=True)
sys.stdin.readline()            # the owner stores again
print(m[0:5].decode(), flush=True)
m.close()
os.close(fd)
