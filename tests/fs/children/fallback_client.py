"""A client of a data file served the fallback way: writes "from-nobody"
at offset 100, reads the first 5 bytes, and tries a shared mapping.

    fallback_client.py PATH SIZE

Prints the 5 bytes, then "mapped" or the mapping's errno name."""

import errno
import mmap
import os
import sys

path, size = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR)
os.pwrite(fd, b"from-nobody", 100)
print(os.pread(fd, 5, 0).decode())
try:
    mmap.mmap(fd, size)
    print("mapped")
except OSError as e:
    print(errno.errorcode[e.errno])
os.close(fd)
